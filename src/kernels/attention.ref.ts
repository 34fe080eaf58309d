// Float64 reference for multi-head attention (same op names as kernels/attention.ts), written the
// way Hugging Face computes it: masked scores are set to finfo(f32).min (what adding it gives in
// fp32), then a max-subtracted softmax over every key.
import type { AttentionDropout, AttentionShape } from './attention.ts';
import { dropoutKeep } from './rng.ref.ts';

const F32_MIN = -3.4028234663852886e38;

export interface AttentionDropoutRef extends AttentionDropout {
  seed: number;
}

export interface AttentionForwardRefArgs extends AttentionShape {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** [batch·seq]: 1 for a real token, 0 for padding. */
  mask: ArrayLike<number>;
  causal?: boolean;
  dropout?: AttentionDropoutRef;
  /** [batch, heads, seq, seq], added to the scaled scores before the mask (relative-position
   * terms: relative_attention.ref.ts). */
  scoreBias?: Float64Array;
}

export interface AttentionBackwardRefArgs extends AttentionShape {
  dOut: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  probs: Float64Array;
  dropout?: AttentionDropoutRef;
}

/** The factor keep/(1−p) that dropout applies to probs[index] (1 without dropout). */
function dropFactor(dropout: AttentionDropoutRef | undefined, index: number): number {
  if (!dropout) return 1;
  return dropoutKeep(dropout.seed, dropout.stream, index, dropout.p) ? 1 / (1 - dropout.p) : 0;
}

export function attentionForward(args: AttentionForwardRefArgs): { out: Float64Array; probs: Float64Array } {
  const { batch, seq, heads, headDim, scale, q, k, v, mask } = args;
  const width = heads * headDim;
  const out = new Float64Array(batch * seq * width);
  const probs = new Float64Array(batch * heads * seq * seq);
  const row = new Float64Array(seq);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const qi = (b * seq + i) * width + h * headDim;
        let max = -Infinity;
        for (let j = 0; j < seq; j++) {
          const kj = (b * seq + j) * width + h * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += q[qi + d] * k[kj + d];
          const masked = mask[b * seq + j] === 0 || (args.causal && j > i);
          const bias = args.scoreBias ? args.scoreBias[((b * heads + h) * seq + i) * seq + j] : 0;
          row[j] = masked ? F32_MIN : scale * dot + bias;
          max = Math.max(max, row[j]);
        }
        let sum = 0;
        for (let j = 0; j < seq; j++) sum += (row[j] = Math.exp(row[j] - max));
        const p0 = ((b * heads + h) * seq + i) * seq;
        for (let j = 0; j < seq; j++) {
          const prob = (probs[p0 + j] = row[j] / sum);
          const weight = prob * dropFactor(args.dropout, p0 + j);
          const vj = (b * seq + j) * width + h * headDim;
          for (let d = 0; d < headDim; d++) out[qi + d] += weight * v[vj + d];
        }
      }
    }
  }
  return { out, probs };
}

/** Also dScores, the gradient of the scaled scores [batch, heads, seq, seq] (a score bias's). */
export function attentionBackward(args: AttentionBackwardRefArgs): { dq: Float64Array; dk: Float64Array; dv: Float64Array; dScores: Float64Array } {
  const { batch, seq, heads, headDim, scale, dOut, q, k, v, probs } = args;
  const width = heads * headDim;
  const dq = new Float64Array(batch * seq * width);
  const dk = new Float64Array(batch * seq * width);
  const dv = new Float64Array(batch * seq * width);
  const dScores = new Float64Array(batch * heads * seq * seq);
  const dP = new Float64Array(seq);
  const at = (b: number, t: number, h: number) => (b * seq + t) * width + h * headDim;
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < seq; i++) {
        const p0 = ((b * heads + h) * seq + i) * seq;
        // dP = dropout'(dOut·vᵀ); dv += dropout(P)ᵀ·dOut; then dS = P ⊙ (dP − Σ dP ⊙ P).
        let dot = 0;
        for (let j = 0; j < seq; j++) {
          const factor = dropFactor(args.dropout, p0 + j);
          let g = 0;
          for (let d = 0; d < headDim; d++) {
            g += dOut[at(b, i, h) + d] * v[at(b, j, h) + d];
            dv[at(b, j, h) + d] += probs[p0 + j] * factor * dOut[at(b, i, h) + d];
          }
          dP[j] = g * factor;
          dot += dP[j] * probs[p0 + j];
        }
        for (let j = 0; j < seq; j++) {
          const dS = (dScores[p0 + j] = probs[p0 + j] * (dP[j] - dot));
          for (let d = 0; d < headDim; d++) {
            dq[at(b, i, h) + d] += scale * dS * k[at(b, j, h) + d];
            dk[at(b, j, h) + d] += scale * dS * q[at(b, i, h) + d];
          }
        }
      }
    }
  }
  return { dq, dk, dv, dScores };
}
