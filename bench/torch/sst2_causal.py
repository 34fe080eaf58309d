"""SST-2 as a causal-LM task for the tiny demo LLM (public/demo-llm), and a plain-torch VectorFit
fine-tune of it: the "real check" of issue 12, independent of the studio's code.

1. Data: 512 rows drawn at random (seed 7) from GLUE SST-2's train split and the first 128 rows
   of its dev split, as prompt/completion JSONL ('Review: <sentence> Sentiment:' → ' positive' /
   ' negative'), written beside the model. The model was pre-trained on SST-2's train sentences
   but never on their labels, nor on this prompt.
2. Ids and labels as src/io/causal-lm-data.ts builds them (TRL's rule): ids = BOS + tokens of
   prompt + completion, then EOS; labels −100 on the prompt tokens.
3. Figures on the dev rows: loss and perplexity of the completion tokens (completion + EOS),
   and completion accuracy: of the two completions, the one whose first token (' pos' or ' ne',
   where they differ) is more likely after the prompt is the prediction, as greedy decoding would
   choose between them. Also `accuracy_whole`: the higher summed log-likelihood of the whole
   completion with EOS (lm-evaluation-harness's multiple choice), which favours ' positive'
   (2 tokens) over ' negative' (3 tokens).
4. VectorFit: each of the 7 linears of every layer factored once, W = U·diag(Σ)·Vᵀ (float64 SVD,
   then float32); only Σ trained, AdamW (β 0.9/0.999, ε 1e-8, no weight decay), constant lr,
   no AVF; embedding (tied head) and norms frozen. Prints the dev figures after every epoch.
5. --write-trajectory: a short deterministic run (rows in file order, no shuffling) whose
   per-step losses the studio's engine must reproduce (like torch-sst2-trajectory.json).

  /usr/bin/python3 bench/torch/sst2_causal.py --write-data --epochs 8 \\
      --write-trajectory src/train/fixtures/torch-llm-sst2-trajectory.json \\
      --write-summary public/demo-llm/sst2-finetune-summary.json
  ... --train-rows 4096 --batch 32     more rows drawn from SST-2 train instead of the file
  ... --completions " bad, good"       other completions (negative, positive) for the same rows
  ... --full --lr 1e-3 --epochs 6      full fine-tuning of every weight, for comparison
"""
import argparse
import json
import math
import os
import random
import re
import time

import torch

from tiny_llama import LINEARS, BpeTokenizer, causal_lm_loss, llama_logits, pad_batch, read_safetensors

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../..')
GLUE = os.path.join(ROOT, '../shared/data/glue/SST-2')
MODEL = os.path.join(ROOT, 'public/demo-llm')
TRAIN_FILE = 'sst2-causal-train-512.jsonl'
DEV_FILE = 'sst2-causal-dev-128.jsonl'
COMPLETIONS = (' negative', ' positive')


def sst2_rows(path):
    with open(path, encoding='utf-8') as f:
        lines = [line.split('\t') for line in f.read().split('\n')[1:] if line]
    return [(sentence.strip(), int(label)) for sentence, label in lines]


def as_prompt(sentence, label):
    return {'prompt': f'Review: {sentence} Sentiment:', 'completion': COMPLETIONS[label]}


def write_data(out):
    train = sst2_rows(f'{GLUE}/train.tsv')
    picked = random.Random(7).sample(range(len(train)), 512)
    dev = sst2_rows(f'{GLUE}/dev.tsv')[:128]
    for name, rows in ((TRAIN_FILE, [train[i] for i in picked]), (DEV_FILE, dev)):
        with open(f'{out}/{name}', 'w', encoding='utf-8') as f:
            for sentence, label in rows:
                f.write(json.dumps(as_prompt(sentence, label), ensure_ascii=False) + '\n')


def read_jsonl(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def encode_row(tokenizer, row):
    """(ids, labels) as causal-lm-data.ts gives them for a prompt/completion row."""
    prompt_ids = tokenizer.encode(row['prompt'])
    ids = tokenizer.encode(row['prompt'] + row['completion']) + [tokenizer.eos_id]
    shared = 0
    while shared < len(prompt_ids) and prompt_ids[shared] == ids[shared]:
        shared += 1
    return ids, [-100] * shared + ids[shared:]


class Factored:
    """The 7 linears of every layer as U·diag(Σ)·Vᵀ, Σ the trainable vectors."""

    def __init__(self, config, weights):
        self.u, self.v, self.sigma = {}, {}, {}
        for layer in range(config['num_hidden_layers']):
            for name in LINEARS:
                group = 'self_attn' if name.endswith(('q_proj', 'k_proj', 'v_proj', 'o_proj')) else 'mlp'
                key = f'model.layers.{layer}.{group}.{name}'
                u, s, vh = torch.linalg.svd(weights[key + '.weight'].double(), full_matrices=False)
                self.u[key], self.v[key] = u.float(), vh.T.contiguous().float()
                self.sigma[key] = s.float().requires_grad_(True)
        self.sigma0 = {k: s.detach().clone() for k, s in self.sigma.items()}

    def __call__(self, name, x):
        return ((x @ self.v[name]) * self.sigma[name]) @ self.u[name].T


def completion_scores(config, weights, linear, tokenizer, rows):
    """Per row and candidate completion: the log-likelihood of its first token (where the two
    differ: ' pos' against ' ne') and of the whole completion with EOS, after the prompt."""
    candidates = [dict(row, completion=c) for row in rows for c in COMPLETIONS]
    encoded = [encode_row(tokenizer, r) for r in candidates]
    input_ids, mask, labels = pad_batch(encoded, tokenizer.pad_id)
    with torch.no_grad():
        logp = torch.log_softmax(llama_logits(config, weights, input_ids, mask, linear)[:, :-1], dim=-1)
    target = labels[:, 1:]
    picked = logp.gather(-1, target.clamp(min=0)[..., None])[..., 0] * (target != -100)
    first = (target != -100).int().argmax(-1)
    first_token = picked.gather(-1, first[:, None])[:, 0]
    return first_token.view(len(rows), len(COMPLETIONS)), picked.sum(-1).view(len(rows), len(COMPLETIONS))


def evaluate(config, weights, linear, tokenizer, rows, batch=64):
    losses, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            encoded = [encode_row(tokenizer, r) for r in rows[start:start + batch]]
            input_ids, mask, labels = pad_batch(encoded, tokenizer.pad_id)
            n = int((labels[:, 1:] != -100).sum())
            losses += causal_lm_loss(llama_logits(config, weights, input_ids, mask, linear), labels).item() * n
            tokens += n
    first, whole = completion_scores(config, weights, linear, tokenizer, rows)
    gold = torch.tensor([COMPLETIONS.index(r['completion']) for r in rows])
    predicted = first.argmax(-1)
    loss = losses / tokens
    return {'loss': loss, 'perplexity': math.exp(loss), 'accuracy': (predicted == gold).float().mean().item(),
            'predicted_positive': predicted.float().mean().item(),
            'accuracy_whole': (whole.argmax(-1) == gold).float().mean().item()}


def train(config, weights, tokenizer, rows, args, shuffle, steps=None, dev=None, log=print):
    if getattr(args, 'full', False):  # the comparison: every weight trained, dense
        weights = {k: t.detach().clone().requires_grad_(True) for k, t in weights.items()}
        factored, trainable = None, weights.values()
    else:
        factored = Factored(config, weights)
        trainable = factored.sigma.values()
    optimizer = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    rng = random.Random(args.seed)
    losses = []
    epochs = args.epochs if steps is None else math.ceil(steps * args.batch / len(rows))
    history = []
    for epoch in range(epochs):
        order = list(range(len(rows)))
        if shuffle:
            rng.shuffle(order)
        for start in range(0, len(order), args.batch):
            if steps is not None and len(losses) == steps:
                break
            batch = [encode_row(tokenizer, rows[i]) for i in order[start:start + args.batch]]
            input_ids, mask, labels = pad_batch(batch, tokenizer.pad_id)
            loss = causal_lm_loss(llama_logits(config, weights, input_ids, mask, factored), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        if dev is not None:
            figures = evaluate(config, weights, factored, tokenizer, dev)
            figures.update(epoch=epoch + 1, steps=len(losses), train_loss=sum(losses[-len(rows) // args.batch:]) / (len(rows) // args.batch))
            history.append(figures)
            log(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))
    return factored, losses, history


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', default=MODEL)
    ap.add_argument('--write-data', action='store_true', help='(re)write the two JSONL files from GLUE SST-2')
    ap.add_argument('--train-rows', type=int, help='train on this many rows drawn from SST-2 train (seed 7) instead of the 512-row file')
    ap.add_argument('--full', action='store_true', help='full fine-tuning of every weight instead (for comparison)')
    ap.add_argument('--completions', help='override the two completions (negative,positive) of the files, e.g. " bad, good"')
    ap.add_argument('--epochs', type=int, default=4)
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--lr', type=float, default=1e-2)
    ap.add_argument('--seed', type=int, default=42)
    ap.add_argument('--write-trajectory', help='also write a short deterministic run (8 steps, batch 8, file order) here')
    ap.add_argument('--write-summary', help='write the figures as JSON here')
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    if args.write_data:
        write_data(args.model)
    config = json.load(open(f'{args.model}/config.json'))
    config['rope_theta'] = config.get('rope_parameters', {}).get('rope_theta', config.get('rope_theta'))
    tokenizer = BpeTokenizer(json.load(open(f'{args.model}/tokenizer.json', encoding='utf-8')))
    weights = read_safetensors(f'{args.model}/model.safetensors')
    train_rows = read_jsonl(f'{args.model}/{TRAIN_FILE}')
    dev_rows = read_jsonl(f'{args.model}/{DEV_FILE}')
    if args.train_rows:
        pool = sst2_rows(f"{GLUE}/train.tsv")
        train_rows = [as_prompt(*pool[i]) for i in random.Random(7).sample(range(len(pool)), args.train_rows)]
    if args.completions:
        global COMPLETIONS
        replaced = tuple(args.completions.split(','))
        relabel = lambda rows: [dict(r, completion=replaced[COMPLETIONS.index(r['completion'])]) for r in rows]
        train_rows, dev_rows, COMPLETIONS = relabel(train_rows), relabel(dev_rows), replaced
    print('completion tokens:', {c: tokenizer.encode(c, add_bos=False) for c in COMPLETIONS})

    started = time.time()
    base = evaluate(config, weights, None, tokenizer, dev_rows)
    factored0 = Factored(config, weights)
    same = evaluate(config, weights, factored0, tokenizer, dev_rows[:32])
    dense = evaluate(config, weights, None, tokenizer, dev_rows[:32])
    print(f'factored vs dense dev loss (32 rows): {same["loss"]:.7f} vs {dense["loss"]:.7f}')
    print('base model on dev:', json.dumps({k: round(v, 4) for k, v in base.items()}))
    _, losses, history = train(config, weights, tokenizer, train_rows, args, shuffle=True, dev=dev_rows)
    seconds = time.time() - started
    print(f'{"full fine-tuning" if args.full else "VectorFit (Σ only)"}, lr {args.lr}, batch {args.batch}, {args.epochs} epochs, {len(losses)} steps: {seconds:.0f} s')
    summary = {'base': base, 'epochs': history, 'lr': args.lr, 'batch': args.batch, 'seed': args.seed,
               'train_rows': len(train_rows), 'dev_rows': len(dev_rows), 'seconds': round(seconds)}
    if args.write_summary:
        with open(args.write_summary, 'w') as f:
            json.dump(summary, f, indent=1)

    if args.write_trajectory:
        short = argparse.Namespace(**{**vars(args), 'batch': 8})
        factored, short_losses, _ = train(config, weights, tokenizer, train_rows, short, shuffle=False, steps=8)
        dev_after = evaluate(config, weights, factored, tokenizer, dev_rows[:32])
        change = {k: (factored.sigma[k].detach() - factored.sigma0[k]).abs().mean().item() for k in factored.sigma}
        fixture = {
            'model': 'public/demo-llm', 'data': f'public/demo-llm/{TRAIN_FILE}', 'order': 'file order, no shuffling',
            'rows': 8 * 8, 'batch': 8, 'steps': 8, 'lr': args.lr, 'variant': 'sigma (all 7 linears, Σ only), no AVF',
            'optimizer': 'AdamW betas (0.9, 0.999) eps 1e-8 weight decay 0, constant lr',
            'losses': short_losses,
            'rows_ids': [encode_row(tokenizer, r)[0] for r in train_rows[:64]],
            'rows_labels': [encode_row(tokenizer, r)[1] for r in train_rows[:64]],
            'dev32_loss_before': dense['loss'], 'dev32_loss_after': dev_after['loss'],
            'sigma_strength_after': change,
        }
        text = json.dumps(fixture, indent=1)
        text = re.sub(r'\[[^\[\]{}]*\]', lambda m: json.dumps(json.loads(m.group(0))), text)  # a list of numbers on one line
        with open(args.write_trajectory, 'w') as f:
            f.write(text + '\n')
        print('trajectory:', [round(l, 5) for l in short_losses])


if __name__ == '__main__':
    main()
