"""Shared pieces of the tiny-LLM scripts (pretrain_tiny_llama.py, sst2_causal.py), in plain torch
and the standard library only (no transformers, no safetensors package on this machine):

- a byte-level BPE encoder that reads the tokenizer.json the pretraining script writes, and
  splits text the way Hugging Face's ByteLevel pre-tokenizer does (GPT-2's pattern; Python's
  `re` has no \\p{L}, so letters are [^\\W\\d_] and numbers \\d: identical on ASCII text);
- the Llama forward pass as transformers' LlamaForCausalLM computes it (RMSNorm, rotate-half
  RoPE, grouped-query attention with query head h reading KV head h // (heads / kv_heads),
  SiLU-gated MLP, tied or untied lm_head), with every linear routed through a callable so the
  VectorFit fine-tune can swap in its factored form;
- safetensors read/write by hand (u64 header length, JSON header, little-endian F32 data).
"""
import json
import math
import re
import struct

import numpy as np
import torch
import torch.nn.functional as F

# GPT-2's pre-tokenizer pattern with \p{L} → [^\W\d_] and \p{N} → \d (see the module note).
PRETOKENIZE = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+""")
LINEARS = ('q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj')


def bytes_to_unicode():
    """GPT-2's reversible byte → printable character map (the ByteLevel alphabet, in its order)."""
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(ord('¡'), ord('¬') + 1)) + list(range(ord('®'), ord('ÿ') + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


BYTE_CHARS = bytes_to_unicode()


def pretokenize(text):
    """Text → ByteLevel words (each a string over the byte alphabet)."""
    return [''.join(BYTE_CHARS[b] for b in piece.encode('utf-8')) for piece in PRETOKENIZE.findall(text)]


class BpeTokenizer:
    """Encodes with a tokenizer.json's BPE merges (lowest rank first), BOS prepended if asked."""

    def __init__(self, tokenizer_json):
        model = tokenizer_json['model']
        self.vocab = model['vocab']
        self.ranks = {tuple(m): i for i, m in enumerate(model['merges'])}
        self.id_to_token = {i: t for t, i in self.vocab.items()}
        specials = {t['content']: t['id'] for t in tokenizer_json['added_tokens']}
        self.bos_id = specials['<|begin_of_text|>']
        self.eos_id = specials['<|end_of_text|>']
        self.pad_id = specials['<|pad|>']
        self.byte_of = {c: b for b, c in BYTE_CHARS.items()}
        self.cache = {}

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), math.inf), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == math.inf:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        ids = [self.vocab[p] for p in parts]
        self.cache[word] = ids
        return ids

    def encode(self, text, add_bos=True):
        ids = [self.bos_id] if add_bos else []
        for word in pretokenize(text):
            ids.extend(self.bpe(word))
        return ids

    def decode(self, ids):
        specials = {self.bos_id, self.eos_id, self.pad_id}
        chars = ''.join(self.id_to_token[i] for i in ids if i not in specials)
        return bytes(self.byte_of[c] for c in chars).decode('utf-8', errors='replace')


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
        data = np.frombuffer(raw[8 + n + start:8 + n + end], dtype='<f4').reshape(entry['shape'])
        tensors[key] = torch.from_numpy(data.copy())
    return tensors


def write_safetensors(path, tensors, metadata=None):
    header = {'__metadata__': metadata or {'format': 'pt'}}
    blobs = []
    offset = 0
    for key in sorted(tensors):
        data = tensors[key].detach().to(torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(tensors[key].shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)  # the buffer starts 8-byte aligned, as the reference library writes it
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama_logits(config, weights, input_ids, attention_mask, linear=None):
    """LlamaForCausalLM's logits (batch × seq × vocab). `linear(name, x)` computes the linear whose
    Hugging Face weight key is `name` + '.weight'; by default x @ Wᵀ with the dense weight."""
    if linear is None:
        def linear(name, x):
            return x @ weights[name + '.weight'].T
    hidden = config['hidden_size']
    heads = config['num_attention_heads']
    kv_heads = config['num_key_value_heads']
    head_dim = config.get('head_dim') or hidden // heads
    eps = config['rms_norm_eps']
    theta = config['rope_theta']
    batch, seq = input_ids.shape
    x = weights['model.embed_tokens.weight'][input_ids]
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = torch.arange(seq, dtype=torch.float32)[:, None] * inv_freq[None, :]
    angles = torch.cat((freqs, freqs), dim=-1)
    cos, sin = angles.cos(), angles.sin()
    causal = torch.ones(seq, seq, dtype=torch.bool).tril()
    allowed = causal[None, None] & attention_mask.bool()[:, None, None, :]
    for layer in range(config['num_hidden_layers']):
        p = f'model.layers.{layer}.'
        h = rms_norm(x, weights[p + 'input_layernorm.weight'], eps)
        q = linear(p + 'self_attn.q_proj', h).view(batch, seq, heads, head_dim).transpose(1, 2)
        k = linear(p + 'self_attn.k_proj', h).view(batch, seq, kv_heads, head_dim).transpose(1, 2)
        v = linear(p + 'self_attn.v_proj', h).view(batch, seq, kv_heads, head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(heads // kv_heads, dim=1)
        v = v.repeat_interleave(heads // kv_heads, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(head_dim)
        scores = scores.masked_fill(~allowed, torch.finfo(scores.dtype).min)
        attn = torch.softmax(scores, dim=-1) @ v
        x = x + linear(p + 'self_attn.o_proj', attn.transpose(1, 2).reshape(batch, seq, heads * head_dim))
        h = rms_norm(x, weights[p + 'post_attention_layernorm.weight'], eps)
        x = x + linear(p + 'mlp.down_proj', F.silu(linear(p + 'mlp.gate_proj', h)) * linear(p + 'mlp.up_proj', h))
    x = rms_norm(x, weights['model.norm.weight'], eps)
    head = weights['model.embed_tokens.weight'] if config['tie_word_embeddings'] else weights['lm_head.weight']
    return x @ head.T


def causal_lm_loss(logits, labels):
    """Hugging Face's causal-LM loss: position t predicts label t+1, −100 ignored, mean over the batch."""
    vocab = logits.shape[-1]
    return F.cross_entropy(logits[:, :-1].reshape(-1, vocab), labels[:, 1:].reshape(-1), ignore_index=-100)


def pad_batch(rows, pad_id):
    """rows: list of (ids, labels) → input_ids, attention_mask, labels tensors, right-padded."""
    seq = max(len(ids) for ids, _ in rows)
    input_ids = torch.full((len(rows), seq), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), seq), dtype=torch.long)
    labels = torch.full((len(rows), seq), -100, dtype=torch.long)
    for b, (ids, lab) in enumerate(rows):
        input_ids[b, :len(ids)] = torch.tensor(ids)
        mask[b, :len(ids)] = 1
        labels[b, :len(lab)] = torch.tensor(lab)
    return input_ids, mask, labels
