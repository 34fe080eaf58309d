// GPU wrapper for shaders/elementwise.wgsl; the float64 reference of the same name is
// elementwise.ref.ts.
import code from '../../shaders/elementwise.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';

/** Threads per workgroup of the element-wise kernels (this family, dropout, activation). */
export const ELEMENTWISE_WORKGROUP = 256;
// 4096 × 256 threads fill any current GPU several times over; beyond that, each thread loops.
const MAX_ELEMENTWISE_WORKGROUPS = 4096;

/** Grid for a grid-stride kernel over n elements with ELEMENTWISE_WORKGROUP threads per group. */
export function gridStride(n: number): [number] {
  return [Math.min(ceilDiv(n, ELEMENTWISE_WORKGROUP), MAX_ELEMENTWISE_WORKGROUPS)];
}

export interface AddArgs {
  a: Tensor;
  b: Tensor;
  /** May not be a or b (WebGPU forbids aliasing a written binding): use accumulate instead. */
  out: Tensor;
  n: number;
  /** out += a + b instead of out = a + b. */
  accumulate?: boolean;
}

export function add(device: GPUDevice, args: AddArgs): Dispatch {
  return makeDispatch(device, {
    label: `add ${args.n}`,
    code,
    entryPoint: 'add',
    constants: { ACCUMULATE: Number(!!args.accumulate) },
    bindings: [args.a, args.b, args.out, createParams(device, [['u32', args.n]])],
    workgroups: gridStride(args.n),
  });
}
