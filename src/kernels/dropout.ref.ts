// Float64 reference for shaders/dropout.wgsl (same op names as kernels/dropout.ts); the mask
// comes from the bit-exact CPU twin of the GPU's RNG.
import { dropoutKeep } from './rng.ref.ts';

interface DropoutRefCommon {
  n: number;
  p: number;
  seed: number;
  stream: number;
}

export function dropoutForward(args: DropoutRefCommon & { x: Float64Array }): Float64Array {
  const out = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) out[i] = dropoutKeep(args.seed, args.stream, i, args.p) ? args.x[i] / (1 - args.p) : 0;
  return out;
}

/** dx (prior dx required when accumulate is set). */
export function dropoutBackward(args: DropoutRefCommon & { dy: Float64Array; dx?: Float64Array; accumulate?: boolean }): Float64Array {
  const dx = dropoutForward({ ...args, x: args.dy });
  if (args.accumulate) for (let i = 0; i < args.n; i++) dx[i] += args.dx![i];
  return dx;
}
