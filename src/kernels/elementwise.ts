// GPU wrapper for shaders/elementwise.wgsl; the float64 reference of the same name is
// elementwise.ref.ts.
import code from '../../shaders/elementwise.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

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

export interface ScaleAddArgs {
  x: Tensor;
  /** f32, element 0: the factor (rewritten by the caller between submits). */
  weight: Tensor;
  /** May not be x. */
  out: Tensor;
  n: number;
  /** out += w·x instead of out = w·x. */
  accumulate?: boolean;
}

export function scaleAdd(device: GPUDevice, args: ScaleAddArgs): Dispatch {
  return makeDispatch(device, {
    label: `scale-add ${args.n}`,
    code,
    entryPoint: 'scaleAdd',
    constants: { ACCUMULATE: Number(!!args.accumulate) },
    bindings: [args.x, args.weight, args.out, createParams(device, [['u32', args.n]])],
    workgroups: gridStride(args.n),
  });
}
