"""PyTorch eager figures for `npm run bench -- --torch FILE` (bench/figures.ts names): the peer
the studio's WebGPU engine is measured against on the same card.

  python3 bench/torch/step_bench.py --out torch.json              BERT-base, CUDA, fp32, TF32 off
  python3 bench/torch/step_bench.py --out torch.json --small      the shapes `npm run bench` uses
                                                                  on a software adapter (CPU rehearsal)
Figures (names shared with the studio's bench):
  train.full.steps_per_s          full fine-tuning of BERT-base (every weight, AdamW), batch 32×128
  train.vectorfit.steps_per_s     VectorFit, factored form everywhere: q, k, v, o, f1, f2 as
                                  y = U(Σ ⊙ Vᵀx) + b with Σ, b and the head trained, the rest frozen
  matmul.<N>x<dIn>x<dOut>.gflops  y = x·Wᵀ
  factored.<N>x<dIn>x<dOut>.gflops  the factored linear's forward + backward (y, dΣ, db, dx)
  svd.72.seconds                  torch.linalg.svd of BERT-base's 72 weight matrices, one by one
  svd.72.batched.seconds          the same, stacked by shape (torch's batched SVD)
  memory.<what>.peak_bytes        torch.cuda.max_memory_allocated over each training run
The BERT is written here in plain torch (eager attention, dropout 0.1 as Hugging Face's train
mode, GELU, post-LayerNorm, pooler + classifier), with no dependency on transformers, so the same
script rehearses on a CPU-only torch. Timing: warm-up, then the median of CUDA-event-timed repeats.
"""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BERT_BASE = dict(hidden=768, layers=12, heads=12, intermediate=3072, vocab=30522, positions=512, batch=32, seq=128)
# bench/train.ts's software-adapter scale.
SMALL = dict(hidden=128, layers=2, heads=2, intermediate=512, vocab=30522, positions=512, batch=8, seq=64)


class Timer:
    def __init__(self, device):
        self.cuda = device.type == 'cuda'

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()

    def median(self, fn, repeats, warmup=3):
        for _ in range(warmup):
            fn()
        self.sync()
        times = []
        for _ in range(repeats):
            if self.cuda:
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end) / 1000)
            else:
                start = time.perf_counter()
                fn()
                times.append(time.perf_counter() - start)
        return statistics.median(times)


class FactoredLinear(nn.Module):
    """y = U(Σ ⊙ Vᵀx) + b from a dense weight, factored once (float64 SVD, then float32)."""

    def __init__(self, dense: nn.Linear):
        super().__init__()
        u, s, vh = torch.linalg.svd(dense.weight.detach().double(), full_matrices=False)
        self.register_buffer('u', u.float().contiguous())              # [dOut, r]
        self.register_buffer('v', vh.t().float().contiguous())         # [dIn, r]
        self.sigma = nn.Parameter(s.float())
        self.bias = nn.Parameter(dense.bias.detach().clone())

    def forward(self, x):
        return torch.addmm(self.bias, (x.reshape(-1, x.shape[-1]) @ self.v) * self.sigma, self.u.t()).reshape(*x.shape[:-1], -1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, i = c['hidden'], c['intermediate']
        self.heads = c['heads']
        self.q, self.k, self.v, self.o = (nn.Linear(h, h) for _ in range(4))
        self.f1, self.f2 = nn.Linear(h, i), nn.Linear(i, h)
        self.norm1, self.norm2 = nn.LayerNorm(h, eps=1e-12), nn.LayerNorm(h, eps=1e-12)
        self.drop = nn.Dropout(0.1)

    def forward(self, x, mask_bias):
        b, t, h = x.shape
        split = lambda y: y.view(b, t, self.heads, h // self.heads).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + mask_bias
        context = (self.drop(scores.softmax(-1)) @ v).transpose(1, 2).reshape(b, t, h)
        x = self.norm1(x + self.drop(self.o(context)))
        return self.norm2(x + self.drop(self.f2(F.gelu(self.f1(x)))))


class Bert(nn.Module):
    def __init__(self, c, labels=2):
        super().__init__()
        h = c['hidden']
        self.word, self.position, self.token_type = nn.Embedding(c['vocab'], h), nn.Embedding(c['positions'], h), nn.Embedding(2, h)
        self.norm = nn.LayerNorm(h, eps=1e-12)
        self.drop = nn.Dropout(0.1)
        self.layers = nn.ModuleList(Layer(c) for _ in range(c['layers']))
        self.pooler, self.classifier = nn.Linear(h, h), nn.Linear(h, labels)
        for p in self.parameters():  # BERT's initialisation: N(0, 0.02), LayerNorm 1 and 0
            if p.dim() > 1:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, mask):
        t = ids.shape[1]
        x = self.word(ids) + self.position(torch.arange(t, device=ids.device)) + self.token_type(torch.zeros_like(ids))
        x = self.drop(self.norm(x))
        mask_bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, mask_bias)
        return self.classifier(self.drop(torch.tanh(self.pooler(x[:, 0]))))

    def factor(self):
        """VectorFit: every q, k, v, o, f1, f2 factored; only Σ, biases and the head train."""
        for layer in self.layers:
            for name in ('q', 'k', 'v', 'o', 'f1', 'f2'):
                setattr(layer, name, FactoredLinear(getattr(layer, name)))
        for name, p in self.named_parameters():
            module_bias = name.endswith('.bias') and '.norm' not in name and not name.startswith('norm')
            p.requires_grad = name.endswith('.sigma') or module_bias or name.startswith(('pooler', 'classifier'))


def train_step_rate(c, device, timer, factored, repeats):
    torch.manual_seed(0)
    model = Bert(c).to(device)
    if factored:
        model.factor()
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    ids = torch.randint(0, c['vocab'], (c['batch'], c['seq']), device=device)
    mask = torch.ones_like(ids)
    mask[1::2, c['seq'] * 3 // 4:] = 0  # some padding, as real batches have
    labels = torch.randint(0, 2, (c['batch'],), device=device)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(ids, mask), labels).backward()
        opt.step()

    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    seconds = timer.median(step, repeats)
    peak = torch.cuda.max_memory_allocated() if device.type == 'cuda' else None
    trained = sum(p.numel() for p in params)
    del model, opt
    return 1 / seconds, peak, trained


def kernel_rates(shapes, device, timer, repeats):
    out = {}
    for n, d_in, d_out in shapes:
        g = torch.Generator(device='cpu').manual_seed(1)
        rnd = lambda *s: torch.randn(*s, generator=g).to(device)
        x, w = rnd(n, d_in), rnd(d_out, d_in) * 0.05
        flops = 2 * n * d_in * d_out
        out[f'matmul.{n}x{d_in}x{d_out}.gflops'] = flops / timer.median(lambda: x @ w.t(), repeats) / 1e9
        r = min(d_in, d_out)
        u, v, b, gy = rnd(d_out, r) * 0.05, rnd(d_in, r) * 0.05, rnd(d_out), rnd(n, d_out)
        sigma = rnd(r).requires_grad_()
        bias = b.clone().requires_grad_()
        xg = x.clone().requires_grad_()

        def factored():
            y = torch.addmm(bias, (xg @ v) * sigma, u.t())
            y.backward(gy)

        out[f'factored.{n}x{d_in}x{d_out}.gflops'] = 4 * n * r * (d_in + d_out) / timer.median(factored, repeats) / 1e9
    return out


def svd_seconds(scale, device, timer):
    shapes = [(768 // scale, 768 // scale, 48), (3072 // scale, 768 // scale, 12), (768 // scale, 3072 // scale, 12)]
    g = torch.Generator(device='cpu').manual_seed(2)
    mats = [[(torch.randn(r, c, generator=g) * 0.07).to(device) for _ in range(k)] for r, c, k in shapes]
    torch.linalg.svd(mats[0][0], full_matrices=False)  # load the solver
    timer.sync()
    start = time.perf_counter()
    for group in mats:
        for m in group:
            torch.linalg.svd(m, full_matrices=False)
    timer.sync()
    one_by_one = time.perf_counter() - start
    start = time.perf_counter()
    for group in mats:
        torch.linalg.svd(torch.stack(group), full_matrices=False)
    timer.sync()
    return one_by_one, time.perf_counter() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', required=True, help='JSON file for the figures')
    ap.add_argument('--small', action='store_true', help="the software-adapter shapes of `npm run bench` (rehearsal)")
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--repeats', type=int, default=None)
    ap.add_argument('--skip', default='', help='comma-separated: train, kernels, svd')
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(',')))
    device = torch.device(args.device)
    # fp32 on CUDA cores, as the studio computes: no TF32 in matmuls or convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, 'set_float32_matmul_precision'):
        torch.set_float32_matmul_precision('highest')
    c = SMALL if args.small else BERT_BASE
    repeats = args.repeats or (3 if args.small else 20)
    timer = Timer(device)
    figures = {'device': torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu', 'torch': torch.__version__,
               'scale': 'small' if args.small else 'bert-base', 'tf32': False}
    say = lambda line: print(line, flush=True)
    say(f"# PyTorch eager figures: {figures['device']}, torch {torch.__version__}, {figures['scale']}, fp32 (TF32 off)")
    if 'train' not in skip:
        for name, factored in (('full', False), ('vectorfit', True)):
            rate, peak, trained = train_step_rate(c, device, timer, factored, repeats)
            figures[f'train.{name}.steps_per_s'] = rate
            tokens = c['batch'] * c['seq']
            say(f"train {name:9s} {rate:8.2f} steps/s  {rate * tokens:10.0f} tokens/s  ({trained} trained parameters, batch {c['batch']}×{c['seq']})")
            if peak is not None:
                figures[f'memory.train_{name}.peak_bytes'] = peak
                say(f"memory train {name}: {peak / 2**30:.2f} GiB peak allocated")
    if 'kernels' not in skip:
        # bench/kernels.ts's shapes: 4096 tokens at BERT-base, 256 tokens and halved widths small.
        full = [(4096, 768, 768), (4096, 768, 3072), (4096, 3072, 768)]
        shapes = [(256, d_in // 2, d_out // 2) for _, d_in, d_out in full] if args.small else full
        for key, value in kernel_rates(shapes, device, timer, repeats).items():
            figures[key] = value
            say(f'{key} {value:10.1f}')
    if 'svd' not in skip:
        one, batched = svd_seconds(4 if args.small else 1, device, timer)
        figures['svd.72.seconds'] = one
        figures['svd.72.batched.seconds'] = batched
        say(f'svd of 72 matrices: {one:.2f} s one by one, {batched:.2f} s stacked by shape')
    with open(args.out, 'w') as f:
        json.dump(figures, f, indent=1)
    say(f'figures written to {args.out}')


if __name__ == '__main__':
    main()
