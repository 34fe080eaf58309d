// Test helpers: DeBERTa-v2 configurations beyond the hf-tiny deberta-v3 folder (c2p only, fewer
// buckets, no shared attention key, max_relative_positions set, absolute positions and token
// types), built by editing the folder's config; every tensor the edited model needs that the
// folder lacks (or has in another shape) is random.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededNormal } from '../util/random.ts';
import { describeModel, tokenEmbeddings } from './architectures.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from './config.ts';
import { HF_TINY, readFolder } from './test-folders.ts';
import { loadWeights, type ModelWeights, type SourceTensor } from './weights.ts';

export const DEBERTA_DIR = join(HF_TINY, 'deberta-v3');

export function debertaVariant(overrides: Record<string, unknown>, seed: number): { config: ModelConfig; weights: ModelWeights } {
  const raw = { ...JSON.parse(readFileSync(join(DEBERTA_DIR, 'config.json'), 'utf8')), ...overrides };
  const config = parseModelConfig(raw);
  const arch = architectureFor(config);
  const layout = describeModel(arch, config);
  const folder = readFolder(DEBERTA_DIR).tensors;
  const random = seededNormal(seed);
  const source = new Map<string, SourceTensor>();
  const put = (key: string, shape: number[], mean = 0, std = 0.3) => {
    const found = folder.get(key);
    if (found && found.shape.length === shape.length && found.shape.every((d, i) => d === shape[i])) source.set(key, found);
    else source.set(key, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + std * random()) });
  };
  const norm = (n: { weight: string; bias: string | null; dim: number } | null) => {
    if (!n) return;
    put(n.weight, [n.dim], 1, 0.1);
    if (n.bias) put(n.bias, [n.dim], 0, 0.1);
  };
  const { attention } = layout;
  const embeddings = tokenEmbeddings(layout, 'a random DeBERTa');
  for (const table of [embeddings.word, embeddings.position, embeddings.tokenType]) if (table) put(table.key, [table.rows, table.dim]);
  norm(embeddings.norm);
  for (const layer of layout.layers) {
    for (const m of layer.modules) {
      put(m.weight, [m.dOut, m.dIn]);
      if (m.bias) put(m.bias, [m.dOut], 0, 0.1);
    }
    norm(layer.attentionNorm);
    norm(layer.ffnNorm);
  }
  if (attention.kind === 'disentangled') {
    put(attention.embeddings.key, [attention.embeddings.rows, attention.embeddings.dim]);
    norm(attention.norm);
  }
  for (const { linear } of layout.head) {
    put(linear.weight, [linear.dOut, linear.dIn]);
    if (linear.bias) put(linear.bias, [linear.dOut], 0, 0.1);
  }
  return { config, weights: loadWeights(config, arch, source, 0) };
}

/** The configurations the fixture does not cover, as config.json overrides. */
export const DEBERTA_VARIANTS: [string, Record<string, unknown>][] = [
  ['c2p only', { pos_att_type: ['c2p'] }],
  ['p2c only, as the older "p2c" string', { pos_att_type: 'p2c' }],
  ['4 position buckets (deltas past ±2 log-bucketed)', { position_buckets: 4 }],
  ['no shared attention key: pos_key_proj and pos_query_proj', { share_att_key: false }],
  ['max_relative_positions 12 with the 16 buckets', { max_relative_positions: 12 }],
  ['no buckets: distances clamped at max_relative_positions 5, no rel-embedding norm', { position_buckets: -1, max_relative_positions: 5, norm_rel_ebd: 'none' }],
  ['absolute positions and token types too (position_biased_input, type_vocab_size 2)', { position_biased_input: true, type_vocab_size: 2 }],
  ['relative_attention false: plain scores with DeBERTa’s scale, absolute positions', { relative_attention: false, position_biased_input: true }],
];
