"""An independent PyTorch implementation of the SST-2 eval (npm run eval, run a), to tell our
implementation's accuracy apart from seed-to-seed spread and from the published reference.

It shares no code with the studio: BERT in train mode as Hugging Face computes it (dropout after
the embeddings, on attention probabilities, after attention output and FFN output, before the
classifier), each q, k, v, o, f1, f2 weight factored once with torch.linalg.svd (float64, then
float32), Σ and biases trained with torch.optim.AdamW and autograd, linear decay, AVF as DESIGN.md
states it (a frozen vector's grad is set to None, so AdamW leaves it and its moments alone).
Only the token ids come from our tokenizer (which equals transformers' on SST-2 dev, tested).

Needs Debian's python3-torch (CPU; libopenblas0-pthread makes it ~15x faster):
  node --import ./scripts/register-raw.mjs bench/torch/dump-inputs.ts /tmp/sst2.json seeds=42
  /usr/bin/python3 bench/torch/vectorfit_reference.py /tmp/sst2.json --seeds 1,2,3,4,5,6
  ... --variant head --lr 1e-3        the head-only row
  ... --seeds 42 --studio-start --dropout 0 --trace
      the studio's head initialisation and batch order for seed 42 and no dropout: the run is
      then deterministic on both sides; --compare LOG.jsonl prints the largest per-step loss
      difference from the studio's training log of the same run (`vectorfit train ... --log`,
      with a config.json whose dropout rates are 0).
The fixture of src/train/torch-parity.test.ts (a short run of that kind, checked in CI):
  node --import ./scripts/register-raw.mjs bench/torch/dump-inputs.ts /tmp/sst2-192.json seeds=42 rows=192
  /usr/bin/python3 bench/torch/vectorfit_reference.py /tmp/sst2-192.json --seeds 42 --rows 192 \
      --studio-start --dropout 0 --avf 2,2,2,5 --write-trajectory src/train/fixtures/torch-sst2-trajectory.json
"""
import argparse
import json
import math
import os
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

MODEL = os.path.join(os.path.dirname(__file__), '../../../shared/models/vectorfit-demo-bert-tiny')
MODULES = {'q': 'attention.self.query', 'k': 'attention.self.key', 'v': 'attention.self.value',
           'o': 'attention.output.dense', 'f1': 'intermediate.dense', 'f2': 'output.dense'}


def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    tensors = {}
    for key, entry in json.loads(raw[8:8 + n]).items():
        if key == '__metadata__':
            continue
        assert entry['dtype'] == 'F32', f'{path}: {key} is {entry["dtype"]}'
        start, end = entry['data_offsets']
        data = np.frombuffer(raw[8 + n + start:8 + n + end], dtype=np.float32).reshape(entry['shape'])
        tensors[key] = torch.from_numpy(data.copy())
    return tensors


def load_checkpoint():
    index = json.load(open(f'{MODEL}/model.safetensors.index.json'))
    weights = {}
    for shard in sorted(set(index['weight_map'].values())):
        weights.update(read_safetensors(f'{MODEL}/{shard}'))
    return weights, json.load(open(f'{MODEL}/config.json'))


class VectorFitBert:
    def __init__(self, weights, config, seed, variant, labels=2):
        self.w, self.config = weights, config
        self.hidden, self.heads = config['hidden_size'], config['num_attention_heads']
        self.eps = config['layer_norm_eps']
        trains = variant != 'head'
        self.factors, self.sigma, self.bias = {}, {}, {}
        for layer in range(config['num_hidden_layers']):
            for kind, path in MODULES.items():
                prefix = f'bert.encoder.layer.{layer}.{path}'
                u, s, vh = torch.linalg.svd(weights[f'{prefix}.weight'].double(), full_matrices=False)
                self.factors[layer, kind] = (u.float(), vh.float())
                self.sigma[layer, kind] = s.float().requires_grad_(trains)
                self.bias[layer, kind] = weights[f'{prefix}.bias'].clone().requires_grad_(trains)
        # The checkpoint has no pooler or classifier: normal(0, initializer_range), zero biases.
        g = torch.Generator().manual_seed(seed)
        std, h = config['initializer_range'], self.hidden
        self.head = [(torch.randn(h, h, generator=g) * std).requires_grad_(), torch.zeros(h).requires_grad_(),
                     (torch.randn(labels, h, generator=g) * std).requires_grad_(), torch.zeros(labels).requires_grad_()]
        self.vectors = [p for key in self.sigma for p in (self.sigma[key], self.bias[key])] if trains else []
        self.vector_names = [f'bert.encoder.layer.{layer}.{MODULES[kind]}.{k}' for (layer, kind) in self.sigma for k in ('sigma', 'bias')]

    def linear(self, x, layer, kind):
        u, vh = self.factors[layer, kind]
        return ((x @ vh.t()) * self.sigma[layer, kind]) @ u.t() + self.bias[layer, kind]

    def norm(self, x, prefix):
        return F.layer_norm(x, (self.hidden,), self.w[f'{prefix}.weight'], self.w[f'{prefix}.bias'], self.eps)

    def logits(self, ids, mask, dropout):
        w, (B, T), hd = self.w, ids.shape, self.hidden // self.heads
        drop = (lambda x, p: F.dropout(x, p, True)) if dropout else (lambda x, p: x)
        p_hidden = self.config['hidden_dropout_prob']
        p_attn = self.config['attention_probs_dropout_prob']
        p_cls = self.config.get('classifier_dropout') or p_hidden
        x = w['bert.embeddings.word_embeddings.weight'][ids] + w['bert.embeddings.position_embeddings.weight'][:T] \
            + w['bert.embeddings.token_type_embeddings.weight'][0]
        x = drop(self.norm(x, 'bert.embeddings.LayerNorm'), p_hidden)
        masked = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in range(self.config['num_hidden_layers']):
            prefix = f'bert.encoder.layer.{layer}'
            q, k, v = (self.linear(x, layer, m).view(B, T, self.heads, hd).transpose(1, 2) for m in 'qkv')
            probs = drop((q @ k.transpose(-1, -2) / math.sqrt(hd) + masked).softmax(-1), p_attn)
            context = (probs @ v).transpose(1, 2).reshape(B, T, self.hidden)
            x = self.norm(drop(self.linear(context, layer, 'o'), p_hidden) + x, f'{prefix}.attention.output.LayerNorm')
            ffn = self.linear(F.gelu(self.linear(x, layer, 'f1')), layer, 'f2')
            x = self.norm(drop(ffn, p_hidden) + x, f'{prefix}.output.LayerNorm')
        pw, pb, cw, cb = self.head
        return drop(torch.tanh(x[:, 0] @ pw.t() + pb), p_cls) @ cw.t() + cb


def padded(rows):
    ids = torch.zeros(len(rows), max(len(r) for r in rows), dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask


def run(inputs, weights, config, seed, args):
    torch.manual_seed(seed)
    config = dict(config)
    if args.dropout is not None:
        config.update(hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout, classifier_dropout=args.dropout)
    model = VectorFitBert(weights, config, seed, args.variant)
    rows, batch = args.rows, 32
    steps = math.ceil(rows / batch)
    order = torch.randperm(rows, generator=torch.Generator().manual_seed(seed))
    if args.studio_start:
        start = inputs['studio'][str(seed)]
        with torch.no_grad():
            for p, key in zip(model.head, ('pooler', 'poolerBias', 'classifier', 'classifierBias')):
                p.copy_(torch.tensor(start[key]).view(p.shape))
        order = torch.tensor(start['order'])
        assert len(order) == rows, f"{args.inputs} holds the order of {len(order)} rows: dump it with rows={rows}"
    params = model.vectors + model.head
    optimizer = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    texts, labels = inputs['train'][:rows], torch.tensor(inputs['trainLabels'][:rows])
    initial = [p.detach().clone() for p in model.vectors]
    ema, frozen = torch.zeros(len(model.vectors)), []
    ti, tf, nf, k = args.avf or (round(steps / 3), round(steps / 2), 4, 5)
    losses, avf_events = [], []
    for t in range(1, steps + 1):
        index = order[(t - 1) * batch:t * batch]
        ids, mask = padded([texts[i] for i in index])
        loss = F.cross_entropy(model.logits(ids, mask, dropout=True), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for i in frozen:
            model.vectors[i].grad = None
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
        if args.trace:
            print(f'step {t} loss {loss.item():.6f}')
        if args.variant == 'vectorfit' and t >= ti and (t - ti) % tf == 0 and (t - ti) // tf < nf:
            with torch.no_grad():
                strength = torch.tensor([(p - p0).abs().mean().item() for p, p0 in zip(model.vectors, initial)])
            ema = 0.99 * ema + 0.01 * strength
            frozen = sorted(ema.topk(k).indices.tolist())
            top = ema.topk(k + 1).values
            # How far the k-th EMA stands above the next: a selection an fp32 rounding could flip
            # has a margin near 1e-6.
            avf_events.append({'step': t, 'frozen': [model.vector_names[i] for i in frozen], 'margin': (1 - top[k] / top[k - 1]).item()})
            if args.trace:
                print(f'AVF @ step {t}: frozen {[model.vector_names[i] for i in frozen]}')
    correct = 0
    with torch.no_grad():
        for i in range(0, len(inputs['dev']), 64):
            ids, mask = padded(inputs['dev'][i:i + 64])
            correct += (model.logits(ids, mask, dropout=False).argmax(-1) == torch.tensor(inputs['devLabels'][i:i + 64])).sum().item()
    return correct / len(inputs['dev']), losses, avf_events


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', help='the JSON bench/torch/dump-inputs.ts wrote')
    parser.add_argument('--variant', default='vectorfit', choices=['vectorfit', 'no-avf', 'head'])
    parser.add_argument('--lr', type=float, default=1e-2)
    parser.add_argument('--seeds', default='42')
    parser.add_argument('--rows', type=int, default=2000)
    parser.add_argument('--dropout', type=float, help="every dropout rate (default: the config's)")
    parser.add_argument('--studio-start', action='store_true', help="the studio's head init and batch order for each seed")
    parser.add_argument('--trace', action='store_true', help='print every step loss and AVF event')
    parser.add_argument('--compare', help="the studio's training log (JSONL) of the same run")
    parser.add_argument('--avf', type=lambda v: tuple(int(x) for x in v.split(',')), help='ti,tf,nf,k (default: the eval\'s)')
    parser.add_argument('--write-trajectory', help='write the per-step losses and AVF sets of the (last) seed to this JSON')
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    inputs = json.load(open(args.inputs))
    weights, config = load_checkpoint()
    accuracies = []
    for seed in (int(s) for s in args.seeds.split(',')):
        started = time.time()
        accuracy, losses, avf_events = run(inputs, weights, config, seed, args)
        accuracies.append(100 * accuracy)
        print(f'{args.variant} lr {args.lr:g} seed {seed}: dev accuracy {100 * accuracy:.1f}% '
              f'(loss {np.mean(losses[:5]):.3f} → {np.mean(losses[-10:]):.3f}, {time.time() - started:.0f} s)', flush=True)
        if args.compare:
            studio = [json.loads(line) for line in open(args.compare) if line.strip()]
            studio_losses = [r['loss'] for r in studio if r['type'] == 'step']
            assert len(studio_losses) == len(losses), f'{args.compare} has {len(studio_losses)} steps, this run {len(losses)}'
            worst = max(abs(a - b) for a, b in zip(studio_losses, losses))
            print(f'largest per-step loss difference from {args.compare}: {worst:.2e}')
        if args.write_trajectory:
            with open(args.write_trajectory, 'w') as f:
                json.dump({'seed': seed, 'rows': args.rows, 'lr': args.lr, 'dropout': args.dropout, 'avf': list(args.avf or ()),
                           'losses': losses, 'avf_events': avf_events}, f, indent=1)
    if len(accuracies) > 1:
        print(f'mean {np.mean(accuracies):.2f}% sd {np.std(accuracies, ddof=1):.2f} over {len(accuracies)} seeds')


if __name__ == '__main__':
    main()
