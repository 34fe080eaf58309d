"""An independent PyTorch run of the studio's ViT demo (public/demo-vit/): the tiny ViT pre-trained
on digits 0–4 fine-tuned on digits 5–9, head-only, VectorFit (Σ + bias + head, with AVF) and
VectorFit without AVF, over a few seeds, to set the studio's accuracy beside; `--variants full`
adds full fine-tuning (every weight, dense, at --full-lr) for context.

It shares no code with the studio: the images are read from the demo's zip with Pillow (gray →
RGB, as transformers' convert_to_rgb), normalised as the demo's preprocessor_config.json says
(its 28×28 size is the images' own, so no resize is involved), ViTForImageClassification computed
as tiny_vit.py does, each q, k, v, o, f1, f2 weight factored once with torch.linalg.svd (float64,
then float32), Σ, biases and the classifier trained with torch.optim.AdamW and autograd, linear
decay to 0, AVF as DESIGN.md states it (a frozen vector's grad is set to None, so AdamW leaves it
and its moments alone). The checkpoint has no classifier: each seed draws a new one as
transformers does (so a seed changes the head's start and the batch order; the config has no
dropout).

The settings default to the demo's (public/demo-vit/manifest.json over src/train/defaults.ts):

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch/vectorfit_vit.py --seeds 1,2,3 \
      --variants head,vectorfit,no-avf,full --write-summary public/demo-vit/finetune-summary.json
"""
import argparse
import io
import json
import math
import os
import time
import zipfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from tiny_llama import read_safetensors
from tiny_vit import LINEARS, ROOT, vit_logits

DEMO = os.path.join(ROOT, 'public/demo-vit')
VARIANTS = ('head', 'vectorfit', 'no-avf')
# Context, not a VectorFit variant: every weight of the checkpoint trained (dense), at --full-lr.
FULL = 'full'


def read_imagefolder_zip(path, config, processor):
    """{split: (pixel_values, labels)} and the class names of a zipped imagefolder (top/split/class/N.png)."""
    size = processor['size']
    mean = torch.tensor(processor['image_mean'], dtype=torch.float32)[:, None, None]
    std = torch.tensor(processor['image_std'], dtype=torch.float32)[:, None, None]
    factor = processor['rescale_factor']
    found = {}
    with zipfile.ZipFile(path) as z:
        for name in sorted(z.namelist()):
            parts = name.split('/')
            if not name.lower().endswith('.png') or len(parts) != 4:
                continue
            _, split, cls, _ = parts
            image = Image.open(io.BytesIO(z.read(name))).convert('RGB')
            if image.size != (size['width'], size['height']):
                raise SystemExit(f'{path}: {name} is {image.size[0]}×{image.size[1]}; this reference reads {size["width"]}×{size["height"]} images only (no resize)')
            found.setdefault(split, []).append((cls, np.asarray(image)))
    names = sorted({cls for cls, _ in found['train']})
    splits = {}
    for split, rows in found.items():
        x = torch.from_numpy(np.stack([a for _, a in rows])).permute(0, 3, 1, 2).float()
        # transformers fuses rescale and normalise: (x − mean/f) / (std/f), in float32.
        x = (x - mean * (1 / factor)) / (std * (1 / factor))
        splits[split] = (x.contiguous(), torch.tensor([names.index(cls) for cls, _ in rows]))
    return splits, names


class VectorFitViT:
    def __init__(self, weights, config, variant, seed, labels):
        self.w, self.config = weights, config
        trains = variant != 'head'
        self.factors, self.sigma, self.bias = {}, {}, {}
        for layer in range(config['num_hidden_layers']):
            for kind, path in LINEARS.items():
                prefix = f'vit.encoder.layer.{layer}.{path}'
                u, s, vh = torch.linalg.svd(weights[f'{prefix}.weight'].double(), full_matrices=False)
                self.factors[layer, kind] = (u.float(), vh.float())
                self.sigma[layer, kind] = s.float().requires_grad_(trains)
                self.bias[layer, kind] = weights[f'{prefix}.bias'].clone().requires_grad_(trains)
        # The checkpoint has no classifier: a new one as transformers initialises it, truncated
        # normal(0, initializer_range) cut at ±2 (never reached at std 0.02), zero bias.
        g = torch.Generator().manual_seed(seed)
        std, h = config['initializer_range'], config['hidden_size']
        self.head = [(torch.randn(labels, h, generator=g) * std).clamp(-2, 2).requires_grad_(), torch.zeros(labels).requires_grad_()]
        self.w = {**weights, 'classifier.weight': self.head[0], 'classifier.bias': self.head[1]}
        self.vectors = [p for key in self.sigma for p in (self.sigma[key], self.bias[key])] if trains else []
        self.full = variant == FULL
        if self.full:
            self.w = {k: v.clone().requires_grad_() for k, v in weights.items()} | {'classifier.weight': self.head[0], 'classifier.bias': self.head[1]}
            self.vectors = [v for k, v in self.w.items() if not k.startswith('classifier.')]
        self.vector_names = [f'vit.encoder.layer.{layer}.{LINEARS[kind]}.{k}' for (layer, kind) in self.sigma for k in ('sigma', 'bias')]

    def linear(self, layer, kind, x):
        u, vh = self.factors[layer, kind]
        return ((x @ vh.t()) * self.sigma[layer, kind]) @ u.t() + self.bias[layer, kind]

    def logits(self, pixels):
        return vit_logits(self.config, self.w, pixels, None if self.full else self.linear)


def accuracy(model, split):
    x, y = split
    with torch.no_grad():
        return sum((model.logits(x[i:i + 128]).argmax(-1) == y[i:i + 128]).sum().item() for i in range(0, len(y), 128)) / len(y)


def run(weights, config, data, labels, variant, seed, args):
    model = VectorFitViT(weights, config, variant, seed, labels)
    x, y = data['train']
    rows, batch = len(y), args.batch
    epoch_steps = math.ceil(rows / batch)
    steps = args.epochs * epoch_steps
    optimizer = torch.optim.AdamW(model.vectors + model.head, lr=args.full_lr if variant == FULL else args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    initial = [p.detach().clone() for p in model.vectors]
    ema, frozen, events, losses = torch.zeros(len(model.vectors)), [], [], []
    ti, tf, nf, k = args.avf
    generator = torch.Generator().manual_seed(seed)
    t = 0
    for _ in range(args.epochs):
        order = torch.randperm(rows, generator=generator)
        for at in range(0, rows, batch):
            t += 1
            index = order[at:at + batch]
            loss = F.cross_entropy(model.logits(x[index]), y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            for i in frozen:
                model.vectors[i].grad = None
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if variant == 'vectorfit' and t >= ti and (t - ti) % tf == 0 and (t - ti) // tf < nf:
                with torch.no_grad():
                    strength = torch.tensor([(p - p0).abs().mean().item() for p, p0 in zip(model.vectors, initial)])
                ema = 0.99 * ema + 0.01 * strength
                frozen = sorted(ema.topk(k).indices.tolist())
                events.append({'step': t, 'frozen': [model.vector_names[i] for i in frozen]})
    return accuracy(model, data['validation']), losses, events


def main():
    manifest = json.load(open(f'{DEMO}/manifest.json'))
    demo = manifest['config']
    avf = demo['avf']
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--model', default=f'{DEMO}/model')
    parser.add_argument('--data', default=f'{DEMO}/{manifest["dataset"]["train"]}')
    parser.add_argument('--variants', default=','.join(VARIANTS))
    parser.add_argument('--seeds', default='1,2,3')
    parser.add_argument('--epochs', type=int, default=demo['epochs'])
    parser.add_argument('--batch', type=int, default=demo['batchSize'])
    parser.add_argument('--lr', type=float, default=demo['lr'])
    parser.add_argument('--avf', type=lambda v: tuple(int(x) for x in v.split(',')),
                        default=(avf['start'], avf['interval'], avf['count'], avf['k']), help='ti,tf,nf,k')
    parser.add_argument('--full-lr', type=float, default=1e-3, help='the learning rate of the "full" variant (every weight trained)')
    parser.add_argument('--write-summary', help='write every run to this JSON')
    args = parser.parse_args()
    torch.set_num_threads(1)
    weights = read_safetensors(f'{args.model}/model.safetensors')
    config = json.load(open(f'{args.model}/config.json'))
    processor = json.load(open(f'{args.model}/preprocessor_config.json'))
    data, names = read_imagefolder_zip(args.data, config, processor)
    print(f'{len(data["train"][1])} training and {len(data["validation"][1])} validation images, classes {names}', flush=True)
    runs = []
    for variant in args.variants.split(','):
        for seed in (int(s) for s in args.seeds.split(',')):
            started = time.time()
            acc, losses, events = run(weights, config, data, len(names), variant, seed, args)
            seconds = time.time() - started
            runs.append({'variant': variant, 'seed': seed, 'accuracy': acc, 'first_loss': losses[0], 'last_loss': float(np.mean(losses[-5:])),
                         'lr': args.full_lr if variant == FULL else args.lr, 'steps': len(losses), 'seconds': round(seconds), 'avf_events': events})
            print(f'{variant} seed {seed}: validation accuracy {100 * acc:.1f}% (loss {losses[0]:.3f} → {np.mean(losses[-5:]):.3f}, '
                  f'{len(losses)} steps, {seconds:.0f} s)', flush=True)
    seeds = args.seeds.split(',')
    print(f'\n| variant | {" | ".join(f"seed {s}" for s in seeds)} | mean |\n|---|{"---|" * len(seeds)}---|')
    for variant in args.variants.split(','):
        accs = [100 * r['accuracy'] for r in runs if r['variant'] == variant]
        print(f'| {variant} | {" | ".join(f"{a:.1f}%" for a in accs)} | {np.mean(accs):.1f}% |')
    if args.write_summary:
        with open(args.write_summary, 'w') as f:
            json.dump({'epochs': args.epochs, 'batch': args.batch, 'lr': args.lr, 'avf': list(args.avf), 'classes': names, 'runs': runs}, f, indent=1)


if __name__ == '__main__':
    main()
