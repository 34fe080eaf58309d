// GPU wrapper for shaders/attention_decode.wgsl: causal attention of `queries` new tokens over a
// KV cache, for generation; the float64 reference of the same name is attention_decode.ref.ts.
// The training kernel (attention.ts) assumes as many keys as queries; here there are start + i + 1
// keys for query i, and the cache stays per KV head (grouped-query attention reads it in place).
import code from '../../shaders/attention_decode.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

export interface AttentionDecodeShape {
  /** New tokens this call (the prompt when prefilling, 1 per generated token). */
  queries: number;
  heads: number;
  /** num_key_value_heads: divides heads. */
  kvHeads: number;
  headDim: number;
  /** Rows the cache holds at most (the longest prompt + generation). */
  capacity: number;
  /** Multiplies q·kᵀ: 1/√headDim. */
  scale: number;
}

export interface AttentionDecodeArgs extends AttentionDecodeShape {
  /** [queries, heads·headDim], rotary applied. */
  q: Tensor;
  /** [capacity, kvHeads·headDim]: rows 0 … start + queries − 1 written (the new ones included). */
  kCache: Tensor;
  vCache: Tensor;
  /** u32 [1]: the position of the first query (the cache's length before this call), written
   *  per call so one plan serves every step. start + queries ≤ capacity is the caller's duty. */
  start: Tensor;
  /** Scratch [queries, heads, capacity]. */
  scores: Tensor;
  /** [queries, heads·headDim]. */
  out: Tensor;
}

/** Three dispatches: scores, the causal softmax, probabilities · V. */
export function attentionDecode(device: GPUDevice, args: AttentionDecodeArgs): Dispatch[] {
  const { queries, heads, kvHeads, headDim, capacity } = args;
  const label = `attention decode ${queries}×${heads}/${kvHeads}×${headDim} over ${capacity}`;
  if (!(kvHeads > 0 && heads % kvHeads === 0)) throw new Error(`${label}: ${heads} attention heads are not a multiple of ${kvHeads} KV heads`);
  if (!(queries > 0 && queries <= capacity)) throw new Error(`${label}: ${queries} queries do not fit a cache of ${capacity}`);
  const sizes: [string, Tensor, number][] = [
    ['q', args.q, queries * heads * headDim],
    ['out', args.out, queries * heads * headDim],
    ['kCache', args.kCache, capacity * kvHeads * headDim],
    ['vCache', args.vCache, capacity * kvHeads * headDim],
    ['scores', args.scores, queries * heads * capacity],
  ];
  for (const [name, t, size] of sizes) {
    if (numel(t.shape) !== size) throw new Error(`${label}: ${name} has ${numel(t.shape)} elements, expected ${size}`);
  }
  if (args.start.dtype !== 'u32') throw new Error(`${label}: start must be a u32 tensor`);
  const params = createParams(device, [['u32', queries], ['u32', heads], ['u32', kvHeads], ['u32', headDim], ['u32', capacity], ['f32', args.scale]]);
  const shared = [args.scores, params, args.start];
  return [
    makeDispatch(device, { label: `${label}: scores`, code, entryPoint: 'scores_pass', bindings: [...shared, args.q, args.kCache], workgroups: gridStride(queries * heads * capacity) }),
    makeDispatch(device, { label: `${label}: softmax`, code, entryPoint: 'softmax_pass', bindings: shared, workgroups: [Math.min(ceilDiv(queries * heads, 64), 4096)] }),
    makeDispatch(device, { label: `${label}: output`, code, entryPoint: 'output_pass', bindings: [...shared, args.vCache, args.out], workgroups: gridStride(queries * heads * headDim) }),
  ];
}
