// GPU wrapper for shaders/grad_norm.wgsl; the float64 reference of the same name is grad_norm.ref.ts.
import code from '../../shaders/grad_norm.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, type Tensor } from '../gpu/tensor.ts';
import { withReductions, workgroupVariant } from './reduction.ts';

export interface GradNormArgs {
  /** The flat gradient buffer of all trainable vectors. */
  grads: Tensor;
  /** u32 [numel]: the vector each element belongs to. */
  vectorIndex: Tensor;
  /** u32 [numVectors]: 1 = frozen (its gradient does not count). */
  frozen: Tensor;
  /** f32 [2]: the clipping factor AdamW applies, then the norm. */
  out: Tensor;
  /** Clip to this norm; absent: the factor stays 1 and only the norm is reported. */
  maxNorm?: number;
  variant?: 'subgroup' | 'workgroup';
}

export function gradNorm(device: GPUDevice, args: GradNormArgs): Dispatch {
  const count = numel(args.grads.shape);
  if (numel(args.vectorIndex.shape) !== count) throw new Error(`gradNorm: vectorIndex has ${numel(args.vectorIndex.shape)} elements, grads ${count}`);
  if (numel(args.out.shape) !== 2) throw new Error(`gradNorm: out has ${numel(args.out.shape)} elements, not 2`);
  if (args.maxNorm !== undefined && !(args.maxNorm > 0)) throw new Error(`gradNorm: the norm to clip to must be positive, not ${args.maxNorm}`);
  const dims = createParams(device, [['u32', count], ['u32', Number(args.maxNorm !== undefined)], ['f32', args.maxNorm ?? 0]], 'grad norm dims');
  return makeDispatch(device, {
    label: `grad norm ${count} elements`,
    code: withReductions(args.variant ?? workgroupVariant(device), code),
    bindings: [dims, args.grads, args.vectorIndex, args.frozen, args.out],
    workgroups: [1],
  });
}
