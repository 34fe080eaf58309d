"""An independent PyTorch implementation of a `vectorfit train` QA or NER run on the demo BERT,
to put the studio's EM/F1 and entity F1 beside a second implementation of the same run.

It shares no code with the studio beyond the rows it trains on: BERT in train mode as Hugging Face
computes it (token types included), each q, k, v, o, f1, f2 weight factored once with
torch.linalg.svd (float64, then float32), Σ and biases and the head trained with torch.optim.AdamW
and autograd, linear decay, AVF as DESIGN.md states it. Heads as transformers' BertFor…: QA's
qa_outputs on every token with no dropout, the loss (start CE + end CE) / 2 with each softmax over
the row's tokens; NER's classifier after the classifier dropout, CE with ignore_index −100.
Evaluation is its own: SQuAD's post-processing (n-best 20, answers of at most 30 tokens inside
the context) and evaluate-v1.1.py's EM/F1; CoNLL chunking (as seqeval's default mode) for the
entity precision, recall and F1.

The rows, head initialisation, batch order and AVF settings come from the studio's CLI:
  node --import ./scripts/register-raw.mjs bench/torch/dump-token-tasks.ts /tmp/qa.json \\
      data=data/squad-xquad-en/train.json val=data/squad-xquad-en/dev.json limit=320 max-length=256 stride=96 batch=16 epochs=1 seed=0
  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch/token_tasks_reference.py /tmp/qa.json --lr 5e-3
"""
import argparse
import collections
import json
import math
import os
import re
import string
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from vectorfit_reference import MODULES, load_checkpoint  # noqa: E402  (the checkpoint reader only)


class FactoredBert:
    def __init__(self, weights, config, head, dropout):
        self.w, self.config, self.p = weights, config, dropout
        self.hidden_size, self.heads = config['hidden_size'], config['num_attention_heads']
        self.factors, self.sigma, self.bias = {}, {}, {}
        for layer in range(config['num_hidden_layers']):
            for kind, path in MODULES.items():
                prefix = f'bert.encoder.layer.{layer}.{path}'
                u, s, vh = torch.linalg.svd(weights[f'{prefix}.weight'].double(), full_matrices=False)
                self.factors[layer, kind] = (u.float(), vh.float())
                self.sigma[layer, kind] = s.float().requires_grad_()
                self.bias[layer, kind] = weights[f'{prefix}.bias'].clone().requires_grad_()
        out, inp = head['shape']
        self.head_w = torch.tensor(head['weight'], dtype=torch.float32).view(out, inp).requires_grad_()
        self.head_b = torch.tensor(head['bias'], dtype=torch.float32).requires_grad_()
        self.vectors = [p for key in self.sigma for p in (self.sigma[key], self.bias[key])]

    def linear(self, x, layer, kind):
        u, vh = self.factors[layer, kind]
        return ((x @ vh.t()) * self.sigma[layer, kind]) @ u.t() + self.bias[layer, kind]

    def norm(self, x, prefix):
        return F.layer_norm(x, (self.hidden_size,), self.w[f'{prefix}.weight'], self.w[f'{prefix}.bias'], self.config['layer_norm_eps'])

    def outputs(self, ids, types, mask, train, head_dropout):
        w, (B, T), hd = self.w, ids.shape, self.hidden_size // self.heads
        drop = (lambda x, p: F.dropout(x, p, True)) if train else (lambda x, p: x)
        x = w['bert.embeddings.word_embeddings.weight'][ids] + w['bert.embeddings.position_embeddings.weight'][:T] \
            + w['bert.embeddings.token_type_embeddings.weight'][types]
        x = drop(self.norm(x, 'bert.embeddings.LayerNorm'), self.p['hidden'])
        masked = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in range(self.config['num_hidden_layers']):
            prefix = f'bert.encoder.layer.{layer}'
            q, k, v = (self.linear(x, layer, m).view(B, T, self.heads, hd).transpose(1, 2) for m in 'qkv')
            probs = drop((q @ k.transpose(-1, -2) / math.sqrt(hd) + masked).softmax(-1), self.p['attention'])
            context = (probs @ v).transpose(1, 2).reshape(B, T, self.hidden_size)
            x = self.norm(drop(self.linear(context, layer, 'o'), self.p['hidden']) + x, f'{prefix}.attention.output.LayerNorm')
            ffn = self.linear(F.gelu(self.linear(x, layer, 'f1')), layer, 'f2')
            x = self.norm(drop(ffn, self.p['hidden']) + x, f'{prefix}.output.LayerNorm')
        if head_dropout:
            x = drop(x, self.p['classifier'])
        return x @ self.head_w.t() + self.head_b


def collate(rows, per_token):
    T = max(len(r['ids']) for r in rows)
    T = (T + 7) // 8 * 8
    ids = torch.zeros(len(rows), T, dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    labels = torch.full((len(rows), T), -100, dtype=torch.long) if per_token else torch.tensor([r['labels'] for r in rows])
    for i, r in enumerate(rows):
        n = len(r['ids'])
        ids[i, :n] = torch.tensor(r['ids'])
        types[i, :n] = torch.tensor(r['types'] or [0] * n)
        mask[i, :n] = 1
        if per_token:
            labels[i, :n] = torch.tensor(r['labels'])
    return ids, types, mask, labels


def span_loss(logits, spans, mask):
    logits = logits.masked_fill(mask[:, :, None] == 0, float('-inf'))
    return (F.cross_entropy(logits[:, :, 0], spans[:, 0]) + F.cross_entropy(logits[:, :, 1], spans[:, 1])) / 2


# ---- SQuAD evaluation (evaluate-v1.1.py) and post-processing (run_qa.py's) ----

def normalize_answer(s):
    s = s.lower()
    s = ''.join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r'\b(a|an|the)\b', ' ', s)
    return ' '.join(s.split())


def f1_score(prediction, truth):
    p, t = normalize_answer(prediction).split(), normalize_answer(truth).split()
    common = collections.Counter(p) & collections.Counter(t)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(t)
    return 2 * precision * recall / (precision + recall)


def best_answer(context, windows, n_best=20, max_len=30):
    best = None
    for start_logits, end_logits, offsets in windows:
        starts = sorted(range(len(start_logits)), key=lambda i: start_logits[i], reverse=True)[:n_best]
        ends = sorted(range(len(end_logits)), key=lambda i: end_logits[i], reverse=True)[:n_best]
        for s in starts:
            for e in ends:
                if offsets[s] is None or offsets[e] is None or e < s or e - s + 1 > max_len:
                    continue
                score = start_logits[s] + end_logits[e]
                if best is None or score > best[0]:
                    best = (score, context[offsets[s][0]:offsets[e][1]])
    return best[1] if best else ''


# ---- CoNLL chunks (seqeval's default, IOB2/IOB1) ----

def chunks(tags):
    out, start, kind = set(), None, None
    for i, tag in enumerate(tags + ['O']):
        prefix, _, t = tag.partition('-')
        ends = start is not None and (prefix in ('O', 'B') or t != kind)
        if ends:
            out.add((kind, start, i - 1))
            start = None
        if prefix == 'B' or (prefix == 'I' and start is None):
            start, kind = i, t
    return out


def evaluate(model, data, per_token):
    names = data['labelNames']
    rows = data['validation']
    preds, golds, windows = [], [], []
    with torch.no_grad():
        for i in range(0, len(rows), 64):
            part = rows[i:i + 64]
            ids, types, mask, labels = collate(part, per_token)
            logits = model.outputs(ids, types, mask, train=False, head_dropout=per_token)
            for b, r in enumerate(part):
                n = len(r['ids'])
                if per_token:
                    keep = [t for t in range(n) if r['labels'][t] != -100]
                    golds.append([names[r['labels'][t]] for t in keep])
                    preds.append([names[int(logits[b, t].argmax())] for t in keep])
                else:
                    windows.append((logits[b, :n, 0].tolist(), logits[b, :n, 1].tolist()))
    if per_token:
        correct = predicted = gold = 0
        for g, p in zip(golds, preds):
            gc, pc = chunks(g), chunks(p)
            correct, predicted, gold = correct + len(gc & pc), predicted + len(pc), gold + len(gc)
        precision = correct / predicted if predicted else 0.0
        recall = correct / gold if gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {'precision': precision, 'recall': recall, 'f1': f1}
    qa = data['qa']
    by_question = collections.defaultdict(list)
    for (s, e), w in zip(windows, qa['windows']):
        by_question[w['exampleIndex']].append((s, e, w['offsets']))
    em = f1 = 0.0
    for k, q in enumerate(qa['questions']):
        answer = best_answer(q['context'], by_question[k])
        em += max(float(normalize_answer(answer) == normalize_answer(g)) for g in q['answers'])
        f1 += max(f1_score(answer, g) for g in q['answers'])
    n = len(qa['questions'])
    return {'exact': 100 * em / n, 'f1': 100 * f1 / n}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('inputs', help='the JSON bench/torch/dump-token-tasks.ts wrote')
    parser.add_argument('--lr', type=float, default=1e-3)
    parser.add_argument('--seed', type=int, default=0, help='torch seed (dropout masks)')
    parser.add_argument('--write-trajectory', help='write the per-step losses, AVF sets and final metrics to this JSON')
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    data = json.load(open(args.inputs))
    per_token = data['task'] == 'token-classification'
    weights, config = load_checkpoint()
    model = FactoredBert(weights, config, data['head'], data['dropout'])
    params = model.vectors + [model.head_w, model.head_b]
    steps_per_epoch = math.ceil(len(data['train']) / data['batch'])
    steps = steps_per_epoch * data['epochs']
    optimizer = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, (steps - s) / steps))
    initial = [p.detach().clone() for p in model.vectors]
    ema, frozen = torch.zeros(len(model.vectors)), []
    avf = data['avf']
    names = [f'bert.encoder.layer.{layer}.{MODULES[kind]}.{k}' for (layer, kind) in model.sigma for k in ('sigma', 'bias')]
    losses, avf_events = [], []
    started = time.time()
    for t in range(1, steps + 1):
        epoch, b = divmod(t - 1, steps_per_epoch)
        index = data['orders'][epoch][b * data['batch']:(b + 1) * data['batch']]
        ids, types, mask, labels = collate([data['train'][i] for i in index], per_token)
        logits = model.outputs(ids, types, mask, train=True, head_dropout=per_token)
        if per_token:
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=-100)
        else:
            loss = span_loss(logits, labels, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for i in frozen:
            model.vectors[i].grad = None
        optimizer.step()
        schedule.step()
        if t >= avf['start'] and (t - avf['start']) % avf['interval'] == 0 and (t - avf['start']) // avf['interval'] < avf['count']:
            with torch.no_grad():
                strength = torch.tensor([(p - p0).abs().mean().item() for p, p0 in zip(model.vectors, initial)])
            ema = avf['beta'] * ema + (1 - avf['beta']) * strength
            frozen = sorted(ema.topk(avf['k']).indices.tolist())
            top = ema.topk(avf['k'] + 1).values
            # How far the k-th EMA stands above the next (a selection fp32 rounding could flip has a margin near 1e-6).
            avf_events.append({'step': t, 'frozen': [names[i] for i in frozen], 'margin': (1 - top[avf['k']] / top[avf['k'] - 1]).item()})
        losses.append(loss.item())
        print(f'step {t}/{steps} loss {loss.item():.4f}', file=sys.stderr, flush=True)
    metrics = evaluate(model, data, per_token)
    if args.write_trajectory:
        with open(args.write_trajectory, 'w') as f:
            json.dump({'task': data['task'], 'lr': args.lr, 'avf': avf, 'losses': losses, 'avf_events': avf_events, 'metrics': metrics}, f, indent=1)
    print(json.dumps({'task': data['task'], 'steps': steps, 'lr': args.lr, 'metrics': metrics, 'seconds': round(time.time() - started, 1)}))


if __name__ == '__main__':
    main()
