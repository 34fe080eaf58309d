"""Pre-trains the studio's tiny demo LLM (public/demo-llm/) from scratch on CPU: a real
Llama-architecture model with a real byte-level BPE, for checks no random fixture can make
(perplexity falling, a completion learnt). No pre-trained LLM can be fetched on this machine.

1. Reads the unlabelled sentences of GLUE's train splits (SST-2 sentences without their labels,
   CoLA sentences, STS-B sentence pairs as two sentences); no dev sentences.
2. Trains a byte-level BPE on them (GPT-2 alphabet and pre-tokenizer pattern, `--merges` merges,
   most frequent pair first) and writes a Hugging Face tokenizer.json shaped like
   ../shared/fixtures/hf-tiny/llama's (ByteLevel pre-tokenizer and decoder, BPE model, specials
   <|begin_of_text|> 0, <|end_of_text|> 1, <|pad|> 2, a TemplateProcessing post-processor that
   prepends BOS) and tokenizer_config.json with a small chat template.
3. Pre-trains LlamaForCausalLM (tied embeddings like SmolLM2, GQA) by next-token prediction on
   rows BOS + sentence + EOS, AdamW with warm-up and cosine decay, one thread, fixed seed, and
   writes config.json, generation_config.json and model.safetensors with Hugging Face key names.

  /usr/bin/python3 bench/torch/pretrain_tiny_llama.py --out public/demo-llm --steps 3000
"""
import argparse
import collections
import heapq
import json
import math
import os
import random
import time

import torch

from tiny_llama import BYTE_CHARS, BpeTokenizer, causal_lm_loss, llama_logits, pad_batch, pretokenize, write_safetensors

GLUE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../../shared/data/glue')
SPECIALS = ['<|begin_of_text|>', '<|end_of_text|>', '<|pad|>']
# User/Assistant turns; the assistant's content starts right after 'Assistant:' (its first token
# carries the space, as ' positive' does in the SST-2 completions), so the generation prompt
# 'Assistant:' is a prefix of the rendered turn and loss masks can be found by rendering prefixes.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'user' %}User: {{ message['content'] }}\n"
    "{% elif message['role'] == 'assistant' %}Assistant: {{ message['content'] }}{{ eos_token }}\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def read_tsv(path, header):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    rows = [line.split('\t') for line in lines[1 if header else 0:] if line]
    return rows


def glue_sentences():
    """GLUE train sentences, unlabelled (SST-2 col 0, CoLA col 3, STS-B cols 7 and 8)."""
    sentences = [r[0].strip() for r in read_tsv(f'{GLUE}/SST-2/train.tsv', True)]
    sentences += [r[3].strip() for r in read_tsv(f'{GLUE}/CoLA/train.tsv', False)]
    for r in read_tsv(f'{GLUE}/STS-B/train.tsv', True):
        sentences += [r[7].strip(), r[8].strip()]
    return [s for s in sentences if s]


def train_bpe(sentences, merges_wanted):
    """Byte-level BPE training: repeatedly merge the most frequent adjacent pair (ties: the
    lexicographically largest pair, any fixed rule works since encoding follows merge ranks)."""
    counts = collections.Counter(word for s in sentences for word in pretokenize(s))
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pairs = collections.Counter()
    where = collections.defaultdict(set)
    for i, w in enumerate(words):
        for p in zip(w, w[1:]):
            pairs[p] += freq[i]
            where[p].add(i)
    heap = [(-c, p) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < merges_wanted and heap:
        negative, best = heapq.heappop(heap)
        if pairs.get(best, 0) != -negative:
            continue  # stale entry
        if -negative < 2:
            break
        merges.append(best)
        merged = best[0] + best[1]
        touched = set()
        for i in list(where[best]):
            w = words[i]
            for p in zip(w, w[1:]):
                pairs[p] -= freq[i]
                touched.add(p)
            out = []
            j = 0
            while j < len(w):
                if j + 1 < len(w) and w[j] == best[0] and w[j + 1] == best[1]:
                    out.append(merged)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for p in zip(out, out[1:]):
                pairs[p] += freq[i]
                where[p].add(i)
                touched.add(p)
        del pairs[best]
        del where[best]
        for p in touched:
            if pairs.get(p, 0) > 0:
                heapq.heappush(heap, (-pairs[p], p))
            else:
                pairs.pop(p, None)
    return merges


def tokenizer_json(merges):
    vocab = {t: i for i, t in enumerate(SPECIALS)}
    for c in BYTE_CHARS.values():
        vocab[c] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    added = [{'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False, 'normalized': False, 'special': True}
             for i, t in enumerate(SPECIALS)]
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': added,
        'normalizer': None,
        'pre_tokenizer': {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': True},
        'post_processor': {
            'type': 'TemplateProcessing',
            'single': [{'SpecialToken': {'id': SPECIALS[0], 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}}],
            'pair': [{'SpecialToken': {'id': SPECIALS[0], 'type_id': 0}}, {'Sequence': {'id': 'A', 'type_id': 0}},
                     {'SpecialToken': {'id': SPECIALS[0], 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
            'special_tokens': {SPECIALS[0]: {'id': SPECIALS[0], 'ids': [0], 'tokens': [SPECIALS[0]]}},
        },
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [[a, b] for a, b in merges]},
    }


def init_weights(config, generator):
    """Hugging Face's Llama initialisation: N(0, initializer_range) linears and embedding, norms 1."""
    std = config['initializer_range']
    hidden, inter = config['hidden_size'], config['intermediate_size']
    head_dim = config['head_dim']
    q_out = config['num_attention_heads'] * head_dim
    kv_out = config['num_key_value_heads'] * head_dim
    shapes = {'self_attn.q_proj': (q_out, hidden), 'self_attn.k_proj': (kv_out, hidden), 'self_attn.v_proj': (kv_out, hidden),
              'self_attn.o_proj': (hidden, q_out), 'mlp.gate_proj': (inter, hidden), 'mlp.up_proj': (inter, hidden),
              'mlp.down_proj': (hidden, inter)}
    w = {'model.embed_tokens.weight': torch.randn(config['vocab_size'], hidden, generator=generator) * std,
         'model.norm.weight': torch.ones(hidden)}
    for layer in range(config['num_hidden_layers']):
        p = f'model.layers.{layer}.'
        for name, shape in shapes.items():
            w[p + name + '.weight'] = torch.randn(*shape, generator=generator) * std
        w[p + 'input_layernorm.weight'] = torch.ones(hidden)
        w[p + 'post_attention_layernorm.weight'] = torch.ones(hidden)
    for t in w.values():
        t.requires_grad_(True)
    return w


def length_batches(rows, tokens_per_batch, rng):
    """Batches of rows of similar length (so little is padding), in a seeded random order."""
    order = sorted(range(len(rows)), key=lambda i: (len(rows[i]), rng.random()))
    batches, current, longest = [], [], 0
    for i in order:
        longest_next = max(longest, len(rows[i]))
        if current and longest_next * (len(current) + 1) > tokens_per_batch:
            batches.append(current)
            current, longest_next = [], len(rows[i])
        current.append(i)
        longest = longest_next
    if current:
        batches.append(current)
    rng.shuffle(batches)
    return batches


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default='public/demo-llm')
    ap.add_argument('--merges', type=int, default=2500)
    ap.add_argument('--hidden', type=int, default=96)
    ap.add_argument('--layers', type=int, default=3)
    ap.add_argument('--intermediate', type=int, default=256)
    ap.add_argument('--max-len', type=int, default=64)
    ap.add_argument('--steps', type=int, default=3000)
    ap.add_argument('--tokens-per-batch', type=int, default=2048)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--seed', type=int, default=1234)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()

    sentences = glue_sentences()
    merges = train_bpe(sentences, args.merges)
    tok_json = tokenizer_json(merges)
    with open(f'{args.out}/tokenizer.json', 'w', encoding='utf-8') as f:
        json.dump(tok_json, f, ensure_ascii=False, indent=1)
    tok_config = {'tokenizer_class': 'PreTrainedTokenizerFast', 'bos_token': SPECIALS[0], 'eos_token': SPECIALS[1],
                  'pad_token': SPECIALS[2], 'model_max_length': args.max_len * 2,
                  'clean_up_tokenization_spaces': False, 'chat_template': CHAT_TEMPLATE}
    with open(f'{args.out}/tokenizer_config.json', 'w', encoding='utf-8') as f:
        json.dump(tok_config, f, indent=2)
    tokenizer = BpeTokenizer(tok_json)
    vocab_size = len(tok_json['model']['vocab'])
    print(f'{len(sentences)} sentences, {len(merges)} merges, vocab {vocab_size}, BPE {time.time() - started:.0f} s', flush=True)

    rows = [(tokenizer.encode(s) + [tokenizer.eos_id])[:args.max_len] for s in sentences]
    print(f'{sum(map(len, rows))} tokens in {len(rows)} rows', flush=True)
    config = {
        'architectures': ['LlamaForCausalLM'], 'model_type': 'llama', 'attention_bias': False, 'attention_dropout': 0.0,
        'bos_token_id': tokenizer.bos_id, 'eos_token_id': tokenizer.eos_id, 'pad_token_id': tokenizer.pad_id,
        'head_dim': args.hidden // 4, 'hidden_act': 'silu', 'hidden_size': args.hidden, 'initializer_range': 0.02,
        'intermediate_size': args.intermediate, 'max_position_embeddings': args.max_len * 2, 'mlp_bias': False,
        'num_attention_heads': 4, 'num_hidden_layers': args.layers, 'num_key_value_heads': 2, 'pretraining_tp': 1,
        'rms_norm_eps': 1e-5, 'rope_parameters': {'rope_theta': 10000.0, 'rope_type': 'default'}, 'rope_theta': 10000.0, 'tie_word_embeddings': True,
        'torch_dtype': 'float32', 'use_cache': True, 'vocab_size': vocab_size,
    }
    generator = torch.Generator().manual_seed(args.seed)
    weights = init_weights(config, generator)
    params = sum(t.numel() for t in weights.values())
    optimizer = torch.optim.AdamW(weights.values(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.01)
    warmup = max(1, args.steps // 30)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, 0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))))
    rng = random.Random(args.seed)
    batches = []
    step, seen_tokens, trained = 0, 0, time.time()
    log = []
    while step < args.steps:
        if not batches:
            batches = length_batches(rows, args.tokens_per_batch, rng)
        batch = [(rows[i], rows[i]) for i in batches.pop()]
        input_ids, mask, labels = pad_batch(batch, tokenizer.pad_id)
        loss = causal_lm_loss(llama_logits(config, weights, input_ids, mask), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(weights.values(), 1.0)
        optimizer.step()
        schedule.step()
        step += 1
        seen_tokens += int(mask.sum())
        log.append(loss.item())
        if step % 100 == 0 or step == args.steps:
            recent = sum(log[-100:]) / len(log[-100:])
            print(f'step {step} loss {recent:.3f} tokens {seen_tokens} {time.time() - trained:.0f} s', flush=True)
    train_seconds = time.time() - trained

    write_safetensors(f'{args.out}/model.safetensors', weights)
    with open(f'{args.out}/config.json', 'w') as f:
        json.dump(config, f, indent=2)
    with open(f'{args.out}/generation_config.json', 'w') as f:
        json.dump({'bos_token_id': tokenizer.bos_id, 'eos_token_id': tokenizer.eos_id, 'pad_token_id': tokenizer.pad_id}, f, indent=2)
    summary = {'sentences': len(sentences), 'merges': len(merges), 'vocab_size': vocab_size, 'parameters': params,
               'steps': args.steps, 'tokens_seen': seen_tokens, 'epochs': seen_tokens / sum(map(len, rows)),
               'train_seconds': round(train_seconds), 'total_seconds': round(time.time() - started),
               'first_100_loss': sum(log[:100]) / len(log[:100]), 'last_100_loss': sum(log[-100:]) / len(log[-100:]),
               'seed': args.seed, 'lr': args.lr, 'tokens_per_batch': args.tokens_per_batch}
    print(json.dumps(summary, indent=1))
    with open(f'{args.out}/pretrain-summary.json', 'w') as f:
        json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
