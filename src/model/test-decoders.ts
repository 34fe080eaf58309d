// Test helpers: tiny random decoders of the Llama family, built from the hf-tiny llama folder's
// config with overrides (Qwen2, tied heads, one KV head, head_dim ≠ hidden/heads, rope scaling),
// and a small right-padded batch for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededNormal } from '../util/random.ts';
import { ARCHITECTURES, describeModel, tokenEmbeddings, type Architecture, type LinearLayout, type NormLayout } from './architectures.ts';
import type { TokenBatch } from './batch.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from './config.ts';
import { HF_TINY } from './test-folders.ts';
import { loadWeights, type ModelWeights, type SourceTensor } from './weights.ts';

/** A decoder from the llama folder's config (vocabulary cut to 40) with `overrides`, every weight
 * random (biases and norm weights too, so neither is trivially 0 or 1). */
export function randomDecoder(overrides: Record<string, unknown>, seed: number, arch?: Architecture): { config: ModelConfig; weights: ModelWeights } {
  const raw = { ...JSON.parse(readFileSync(join(HF_TINY, 'llama/config.json'), 'utf8')), vocab_size: 40, ...overrides };
  const config = parseModelConfig(raw);
  arch ??= architectureFor(config);
  const layout = describeModel(arch, config);
  const random = seededNormal(seed);
  const source = new Map<string, SourceTensor>();
  const put = (key: string, shape: number[], mean = 0, std = 0.3) =>
    source.set(key, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + std * random()) });
  const linear = (l: LinearLayout) => {
    put(l.weight, [l.dOut, l.dIn]);
    if (l.bias) put(l.bias, [l.dOut], 0, 0.1);
  };
  const normWeights = (n: NormLayout | null) => {
    if (!n) return;
    put(n.weight, [n.dim], 1, 0.1);
    if (n.bias) put(n.bias, [n.dim], 0, 0.1);
  };
  const word = tokenEmbeddings(layout, 'a random decoder').word;
  put(word.key, [word.rows, layout.hidden]);
  for (const layer of layout.layers) {
    layer.modules.forEach(linear);
    normWeights(layer.attentionNorm);
    normWeights(layer.ffnNorm);
  }
  normWeights(layout.finalNorm);
  if (!layout.tiedHead) linear(layout.head[0].linear);
  return { config, weights: loadWeights(config, arch, source, 0) };
}

/** Two rows, the second right-padded (pad id 2), with ids below the tiny vocabulary. */
export function smallDecoderBatch(): TokenBatch {
  return {
    batch: 2,
    seq: 5,
    inputIds: Uint32Array.of(0, 7, 31, 12, 39, 0, 5, 2, 2, 2),
    attentionMask: Uint32Array.of(1, 1, 1, 1, 1, 1, 1, 0, 0, 0),
  };
}

/** Configurations beyond the llama folder, as config.json overrides. */
export const DECODER_VARIANTS: [string, Record<string, unknown>][] = [
  ['llama (untied, 2 KV heads)', {}],
  ['qwen2 with q, k, v biases', { model_type: 'qwen2', rope_parameters: undefined }],
  ['a tied head (the embedding matrix, through both uses)', { tie_word_embeddings: true }],
  ['one KV head', { num_key_value_heads: 1 }],
  ['head_dim 12 ≠ hidden/heads, llama3 rope scaling', {
    head_dim: 12, rope_parameters: { rope_type: 'llama3', rope_theta: 500000, factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 4 },
  }],
];

/** The Llama layout with LayerNorm (weight and bias) in place of RMSNorm: pre-norm LayerNorm, the
 * shape ViT and GPT-2 take, which no supported family has yet. */
export const PRE_LAYERNORM_DECODER: Architecture = { ...ARCHITECTURES.llama, norm: { ...ARCHITECTURES.llama.norm, kind: 'layernorm' } };
