// GPU wrapper for shaders/finite.wgsl; the reference of the same name is finite.ref.ts.
import code from '../../shaders/finite.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';

export interface FiniteArgs {
  /** f32 values to check. */
  input: Tensor;
  /** u32 results, cleared to 0 before the dispatch; this check writes `out[slot]`. */
  out: Tensor;
  slot: number;
}

/** Enough workgroups to cover small buffers in one pass; large ones are grid-strided. */
const MAX_WORKGROUPS = 256;

export function finite(device: GPUDevice, args: FiniteArgs): Dispatch {
  const count = numel(args.input.shape);
  if (args.out.dtype !== 'u32') throw new Error('finite: out must be a u32 tensor');
  if (args.slot >= numel(args.out.shape)) throw new Error(`finite: slot ${args.slot} is outside out's ${numel(args.out.shape)} entries`);
  return makeDispatch(device, {
    label: `finite ${count}`,
    code,
    constants: { SLOT: args.slot, COUNT: count },
    bindings: [args.input, args.out],
    workgroups: [Math.max(1, Math.min(MAX_WORKGROUPS, ceilDiv(count, 256)))],
  });
}

/** Decodes a result slot: the index of the first NaN or ±Inf, or -1 when all are finite. */
export function firstNonFinite(result: number): number {
  return result === 0 ? -1 : ~result >>> 0;
}
