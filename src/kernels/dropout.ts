// GPU wrapper for shaders/dropout.wgsl; the float64 reference of the same name is dropout.ref.ts.
import rng from '../../shaders/rng.wgsl?raw';
import code from '../../shaders/dropout.wgsl?raw';
import { makeDispatch, type Binding, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

interface DropoutCommon {
  n: number;
  /** Drop probability in [0, 1]; fixed for the plan. */
  p: number;
  /**
   * A u32 storage buffer whose first word is the step's seed. The dispatch is built once; the
   * caller rewrites the word (device.queue.writeBuffer) before each step, and must keep it
   * unchanged between a step's forward and backward so they draw the same mask.
   */
  seedBuffer: Binding;
  /** Tells apart the dropout sites of one step (layer × site); the same in forward and backward. */
  stream: number;
}

export interface DropoutForwardArgs extends DropoutCommon {
  x: Tensor;
  out: Tensor;
}

export interface DropoutBackwardArgs extends DropoutCommon {
  dy: Tensor;
  dx: Tensor;
  /** dx += masked dy instead of dx = masked dy. */
  accumulate?: boolean;
}

/** out = keep ? x/(1−p) : 0 with keep = dropoutKeep(seed, stream, i, p). */
export function dropoutForward(device: GPUDevice, args: DropoutForwardArgs): Dispatch {
  return dropout(device, `dropout forward ${args.n}`, args.x, args.out, args, false);
}

/** dx = keep ? dy/(1−p) : 0 with the forward's mask, regenerated from the same seed and stream. */
export function dropoutBackward(device: GPUDevice, args: DropoutBackwardArgs): Dispatch {
  return dropout(device, `dropout backward ${args.n}`, args.dy, args.dx, args, !!args.accumulate);
}

function dropout(device: GPUDevice, label: string, src: Tensor, dst: Tensor, args: DropoutCommon, accumulate: boolean): Dispatch {
  if (!(args.p >= 0 && args.p <= 1)) throw new Error(`${label}: dropout probability ${args.p} is outside [0, 1]`);
  // p = 1 drops everything, so the infinite scale is never multiplied in; write 0 instead.
  const scale = args.p < 1 ? 1 / (1 - args.p) : 0;
  const params = createParams(device, [['u32', args.n], ['u32', args.stream], ['f32', args.p], ['f32', scale]]);
  return makeDispatch(device, {
    label,
    code: rng + code,
    constants: { ACCUMULATE: Number(accumulate) },
    bindings: [src, dst, args.seedBuffer, params],
    workgroups: gridStride(args.n),
  });
}
