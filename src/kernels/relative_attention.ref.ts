// Float64 reference for DeBERTa's disentangled relative-attention terms (same op names as
// kernels/relative_attention.ts), written as transformers' disentangled_attention_bias computes
// them: c2p[i, j] = q_i · pk[r(i, j)], p2c[i, j] = k_j · pq[r(i, j)] (its gather of k·pqᵀ at
// clamp(−r(j, i) + span) and transpose: the same row, as the bucketing is odd in i − j), both
// times the attention's scale and added to the content scores before the mask and softmax.
// relativeGather and relativeGatherSum are the GPU's split of the same sums: rel holds each
// content token's products with the rows the sequence reads, and the gathers move its entries to
// and from the scores.
import type { RelativeAttentionShape, RelativeTerm } from './relative_attention.ts';
import { relativeIndex, relativeWindow } from './relative_positions.ts';

export interface RelativeScoresRefArgs extends RelativeAttentionShape {
  /** [batch·seq, heads·headDim]: the attention's q and k. */
  q: Float64Array;
  k: Float64Array;
  /** [2·span, heads·headDim]: the relative embeddings through the key (c2p) and query (p2c)
   * projections; one that its term does not use may be empty. */
  posKey: Float64Array;
  posQuery: Float64Array;
}

/** The relative terms of the scores, [batch, heads, seq, seq]. */
export function relativeScoresForward(args: RelativeScoresRefArgs): Float64Array {
  const { batch, seq, heads, headDim, scale, q, k, posKey, posQuery } = args;
  const width = heads * headDim;
  const out = new Float64Array(batch * heads * seq * seq);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        for (let j = 0; j < seq; j++) {
          const r = relativeIndex(i - j, args.positions) * width + h * headDim;
          const qi = (b * seq + i) * width + h * headDim;
          const kj = (b * seq + j) * width + h * headDim;
          let s = 0;
          for (let d = 0; d < headDim; d++) {
            if (args.c2p) s += q[qi + d] * posKey[r + d];
            if (args.p2c) s += k[kj + d] * posQuery[r + d];
          }
          out[((b * heads + h) * seq + i) * seq + j] = scale * s;
        }
      }
    }
  }
  return out;
}

export interface RelativeScoresBackwardRefArgs extends RelativeScoresRefArgs {
  /** dL/dscores [batch, heads, seq, seq] (the softmax backward's output). */
  dScores: Float64Array;
}

/** The relative terms' share of dq and dk, and the gradients of the projected embeddings (zero
 * for a term that is off). */
export function relativeScoresBackward(args: RelativeScoresBackwardRefArgs): { dq: Float64Array; dk: Float64Array; dPosKey: Float64Array; dPosQuery: Float64Array } {
  const { batch, seq, heads, headDim, scale, q, k, posKey, posQuery, dScores } = args;
  const width = heads * headDim;
  const rows = 2 * args.positions.span;
  const dq = new Float64Array(batch * seq * width);
  const dk = new Float64Array(batch * seq * width);
  const dPosKey = new Float64Array(rows * width);
  const dPosQuery = new Float64Array(rows * width);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        for (let j = 0; j < seq; j++) {
          const g = scale * dScores[((b * heads + h) * seq + i) * seq + j];
          const r = relativeIndex(i - j, args.positions) * width + h * headDim;
          const qi = (b * seq + i) * width + h * headDim;
          const kj = (b * seq + j) * width + h * headDim;
          for (let d = 0; d < headDim; d++) {
            if (args.c2p) {
              dq[qi + d] += g * posKey[r + d];
              dPosKey[r + d] += g * q[qi + d];
            }
            if (args.p2c) {
              dk[kj + d] += g * posQuery[r + d];
              dPosQuery[r + d] += g * k[kj + d];
            }
          }
        }
      }
    }
  }
  return { dq, dk, dPosKey, dPosQuery };
}

/** The rel entry that query i and key j read, in [heads, batch, seq, columns]. */
function relEntry(s: RelativeAttentionShape, term: RelativeTerm, b: number, h: number, i: number, j: number): number {
  const { first, columns } = relativeWindow(s.positions, s.seq);
  const t = term === 'c2p' ? i : j;
  return ((h * s.batch + b) * s.seq + t) * columns + relativeIndex(i - j, s.positions) - first;
}

export interface RelativeGatherRefArgs extends RelativeAttentionShape {
  term: RelativeTerm;
  /** [heads, batch, seq, columns]: each content token's products with the window's rows. */
  rel: Float64Array;
  /** [batch, heads, seq, seq]: the scores before. */
  scores: Float64Array;
}

/** scores + scale · rel[h, b, i (c2p) or j (p2c), r(i − j) − first]. */
export function relativeGather(args: RelativeGatherRefArgs): Float64Array {
  const { batch, seq, heads, scale, term, rel } = args;
  const out = Float64Array.from(args.scores);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        for (let j = 0; j < seq; j++) out[((b * heads + h) * seq + i) * seq + j] += scale * rel[relEntry(args, term, b, h, i, j)];
      }
    }
  }
  return out;
}

export interface RelativeGatherSumRefArgs extends RelativeAttentionShape {
  term: RelativeTerm;
  /** [batch, heads, seq, seq]. */
  dScores: Float64Array;
}

/** dRel [heads, batch, seq, columns]: scale times the sum of the dScores entries that read each
 * rel entry (the gather's transpose). */
export function relativeGatherSum(args: RelativeGatherSumRefArgs): Float64Array {
  const { batch, seq, heads, scale, term, dScores } = args;
  const dRel = new Float64Array(heads * batch * seq * relativeWindow(args.positions, seq).columns);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        for (let j = 0; j < seq; j++) dRel[relEntry(args, term, b, h, i, j)] += scale * dScores[((b * heads + h) * seq + i) * seq + j];
      }
    }
  }
  return dRel;
}
