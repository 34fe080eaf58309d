// GPU wrapper for shaders/kv_broadcast.wgsl (grouped-query attention); the float64 reference of
// the same names is kv_broadcast.ref.ts. With kvHeads = heads both ops are plain copies: a model
// without GQA should skip them instead.
import code from '../../shaders/kv_broadcast.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

export interface KvShape {
  tokens: number;
  /** Attention (query) heads. */
  heads: number;
  /** num_key_value_heads: divides heads. */
  kvHeads: number;
  headDim: number;
}

/** kv [tokens, kvHeads·headDim] → out [tokens, heads·headDim], head h reading KV head h / (heads/kvHeads). */
export function kvBroadcastForward(device: GPUDevice, args: KvShape & { kv: Tensor; out: Tensor }): Dispatch {
  return kvBroadcast(device, args, 'forward', args.kv, args.out);
}

/** dOut [tokens, heads·headDim] → dKv [tokens, kvHeads·headDim] (written): the sum over each group. */
export function kvBroadcastBackward(device: GPUDevice, args: KvShape & { dOut: Tensor; dKv: Tensor }): Dispatch {
  return kvBroadcast(device, args, 'backward', args.dOut, args.dKv);
}

function kvBroadcast(device: GPUDevice, s: KvShape, entryPoint: 'forward' | 'backward', src: Tensor, dst: Tensor): Dispatch {
  const label = `kv broadcast ${entryPoint} ${s.tokens}×${s.kvHeads}→${s.heads}×${s.headDim}`;
  if (!(s.kvHeads > 0 && s.heads % s.kvHeads === 0)) throw new Error(`${label}: ${s.heads} attention heads are not a multiple of ${s.kvHeads} KV heads`);
  const wide = s.tokens * s.heads * s.headDim;
  const narrow = s.tokens * s.kvHeads * s.headDim;
  const [srcSize, dstSize] = entryPoint === 'forward' ? [narrow, wide] : [wide, narrow];
  if (numel(src.shape) !== srcSize) throw new Error(`${label}: input has ${numel(src.shape)} elements, expected ${srcSize}`);
  if (numel(dst.shape) !== dstSize) throw new Error(`${label}: output has ${numel(dst.shape)} elements, expected ${dstSize}`);
  return makeDispatch(device, {
    label,
    code,
    entryPoint,
    bindings: [src, dst, createParams(device, [['u32', dstSize], ['u32', s.heads], ['u32', s.kvHeads], ['u32', s.headDim]])],
    workgroups: gridStride(dstSize),
  });
}
