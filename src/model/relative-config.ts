// DeBERTa-v2's attention settings in config.json (DebertaV2Config's keys and defaults), read into
// the relative-attention part of a ModelConfig. Settings that would change the model in ways the
// engine does not compute (a convolution after the first layer, an embedding projection, pooler
// dropout …) are refused by name rather than run as something else.
import type { RelativePositionSpec } from '../kernels/relative_positions.ts';

export interface RelativeAttentionConfig {
  /** pos_att_type: content-to-position and position-to-content terms. */
  c2p: boolean;
  p2c: boolean;
  /** share_att_key: q and k also project the relative embeddings (else pos_key_proj, pos_query_proj). */
  shareKey: boolean;
  positions: RelativePositionSpec;
  /** norm_rel_ebd contains layer_norm: the relative embeddings pass the encoder's LayerNorm. */
  normEmbeddings: boolean;
}

export interface DisentangledSettings {
  /** null: relative_attention is false (plain scores, still DeBERTa's scale). */
  relative: RelativeAttentionConfig | null;
  /** 1 + the number of position terms: scores divide by √(headDim·factor). */
  scaleFactor: number;
  /** position_biased_input: the absolute position table is added to the embeddings. */
  absolutePositions: boolean;
}

/** Reads the DeBERTa-v2 keys of `obj`; `fail` throws with the file's name. */
export function parseDisentangled(obj: Record<string, unknown>, hidden: number, heads: number, maxPositions: number, fail: (message: string) => never): DisentangledSettings {
  const flag = (key: string, fallback: boolean): boolean => {
    const v = obj[key] ?? fallback;
    if (typeof v !== 'boolean') fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
    return v as boolean;
  };
  const int = (key: string, fallback: number): number => {
    const v = obj[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(`"${key}" must be an integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const refuse = (key: string, ok: (v: unknown) => boolean, why: string) => {
    if (obj[key] !== undefined && obj[key] !== null && !ok(obj[key])) fail(`"${key}" ${JSON.stringify(obj[key])} is not supported: ${why}`);
  };
  refuse('conv_kernel_size', (v) => v === 0, 'the convolution layer of DeBERTa-v2-xlarge is not implemented');
  refuse('embedding_size', (v) => v === hidden, 'an embedding size other than hidden_size (embed_proj) is not implemented');
  refuse('pooler_hidden_size', (v) => v === hidden, 'the pooler must keep hidden_size');
  refuse('attention_head_size', (v) => v === hidden / heads, 'heads must split hidden_size evenly');
  refuse('pooler_dropout', (v) => v === 0, 'pooler dropout is not implemented (the classifier dropout is cls_dropout)');

  let types = obj.pos_att_type ?? [];
  // Older configs write "p2c|c2p".
  if (typeof types === 'string') types = types.toLowerCase().split('|').map((t) => t.trim()).filter((t) => t && t !== 'none');
  if (!Array.isArray(types) || types.some((t) => t !== 'c2p' && t !== 'p2c')) fail(`"pos_att_type" must list "c2p" and/or "p2c", got ${JSON.stringify(obj.pos_att_type)}`);
  const c2p = (types as string[]).includes('c2p');
  const p2c = (types as string[]).includes('p2c');
  const scaleFactor = 1 + Number(c2p) + Number(p2c);
  const absolutePositions = flag('position_biased_input', true);
  if (!flag('relative_attention', false)) return { relative: null, scaleFactor, absolutePositions };

  let maxRelative = int('max_relative_positions', -1);
  if (maxRelative < 1) maxRelative = maxPositions;
  const buckets = int('position_buckets', -1);
  const norms = obj.norm_rel_ebd ?? 'none';
  if (typeof norms !== 'string') fail(`"norm_rel_ebd" must be a string, got ${JSON.stringify(norms)}`);
  const normList = (norms as string).toLowerCase().split('|').map((t) => t.trim());
  if (normList.some((t) => t !== 'layer_norm' && t !== 'none')) fail(`"norm_rel_ebd" ${JSON.stringify(norms)} is not supported; supported: layer_norm, none`);
  return {
    relative: {
      c2p,
      p2c,
      shareKey: flag('share_att_key', false),
      positions: { buckets, maxRelative, span: buckets > 0 ? buckets : maxRelative },
      normEmbeddings: normList.includes('layer_norm'),
    },
    scaleFactor,
    absolutePositions,
  };
}
