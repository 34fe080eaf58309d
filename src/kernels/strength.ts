// GPU wrapper for shaders/strength.wgsl; the float64 reference of the same name is strength.ref.ts.
import code from '../../shaders/strength.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export interface StrengthArgs {
  /** All trainable vectors concatenated, as now. */
  params: Tensor;
  /** The same layout at the start of training (v0). */
  initial: Tensor;
  /** u32 [numVectors + 1]: vector s spans [vectorOffsets[s], vectorOffsets[s + 1]). */
  vectorOffsets: Tensor;
  /** [numVectors]: S_v = ‖v0 − v‖₁ / dim(v). */
  out: Tensor;
}

export function strength(device: GPUDevice, args: StrengthArgs): Dispatch {
  const numVectors = numel(args.vectorOffsets.shape) - 1;
  if (numel(args.out.shape) !== numVectors) throw new Error(`strength: out has ${numel(args.out.shape)} entries for ${numVectors} vectors`);
  return makeDispatch(device, {
    label: `strength ${numVectors} vectors`,
    code,
    bindings: [args.params, args.initial, args.vectorOffsets, args.out],
    workgroups: [numVectors],
  });
}
