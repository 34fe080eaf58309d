// Float64 reference for shaders/kv_broadcast.wgsl (same op names as kernels/kv_broadcast.ts).
import type { KvShape } from './kv_broadcast.ts';

/** out[t, h, e] = kv[t, h / (heads/kvHeads), e]. */
export function kvBroadcastForward(args: KvShape & { kv: Float64Array }): Float64Array {
  const { tokens, heads, kvHeads, headDim, kv } = args;
  const group = heads / kvHeads;
  const out = new Float64Array(tokens * heads * headDim);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      for (let e = 0; e < headDim; e++) out[(t * heads + h) * headDim + e] = kv[(t * kvHeads + g) * headDim + e];
    }
  }
  return out;
}

/** dKv[t, g, e] = Σ over the heads h of group g of dOut[t, h, e]. */
export function kvBroadcastBackward(args: KvShape & { dOut: Float64Array }): Float64Array {
  const { tokens, heads, kvHeads, headDim, dOut } = args;
  const group = heads / kvHeads;
  const dKv = new Float64Array(tokens * kvHeads * headDim);
  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const g = Math.floor(h / group);
      for (let e = 0; e < headDim; e++) dKv[(t * kvHeads + g) * headDim + e] += dOut[(t * heads + h) * headDim + e];
    }
  }
  return dKv;
}
