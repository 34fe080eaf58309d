// Float64 reference for shaders/elementwise.wgsl (same op names as kernels/elementwise.ts).

export interface AddRefArgs {
  a: Float64Array;
  b: Float64Array;
  n: number;
  /** Prior out, required when accumulate is set. */
  out?: Float64Array;
  accumulate?: boolean;
}

export function add(args: AddRefArgs): Float64Array {
  const out = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) out[i] = args.a[i] + args.b[i] + (args.accumulate ? args.out![i] : 0);
  return out;
}

export interface ScaleAddRefArgs {
  x: Float64Array;
  weight: number;
  n: number;
  /** Prior out, required when accumulate is set. */
  out?: Float64Array;
  accumulate?: boolean;
}

export function scaleAdd(args: ScaleAddRefArgs): Float64Array {
  const out = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) out[i] = args.weight * args.x[i] + (args.accumulate ? args.out![i] : 0);
  return out;
}
