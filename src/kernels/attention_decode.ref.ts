// Float64 reference for attention over a KV cache (same op name as kernels/attention_decode.ts):
// query i at position start + i attends cached keys 0 … start + i, query head h reading KV head
// h / (heads / kvHeads), with a max-subtracted softmax.
import type { AttentionDecodeShape } from './attention_decode.ts';

export interface AttentionDecodeRefArgs extends AttentionDecodeShape {
  q: Float64Array;
  /** [capacity, kvHeads·headDim] (rows past start + queries are never read). */
  kCache: Float64Array;
  vCache: Float64Array;
  start: number;
}

export function attentionDecode(args: AttentionDecodeRefArgs): Float64Array {
  const { queries, heads, kvHeads, headDim, scale, q, kCache, vCache, start } = args;
  const group = heads / kvHeads;
  const width = heads * headDim;
  const kvWidth = kvHeads * headDim;
  const out = new Float64Array(queries * width);
  for (let i = 0; i < queries; i++) {
    const keys = start + i + 1;
    for (let h = 0; h < heads; h++) {
      const kvh = Math.floor(h / group);
      const s = new Float64Array(keys);
      let max = -Infinity;
      for (let j = 0; j < keys; j++) {
        let dot = 0;
        for (let d = 0; d < headDim; d++) dot += q[i * width + h * headDim + d] * kCache[j * kvWidth + kvh * headDim + d];
        s[j] = scale * dot;
        max = Math.max(max, s[j]);
      }
      let sum = 0;
      for (let j = 0; j < keys; j++) sum += (s[j] = Math.exp(s[j] - max));
      for (let j = 0; j < keys; j++) {
        const weight = s[j] / sum;
        for (let d = 0; d < headDim; d++) out[i * width + h * headDim + d] += weight * vCache[j * kvWidth + kvh * headDim + d];
      }
    }
  }
  return out;
}
