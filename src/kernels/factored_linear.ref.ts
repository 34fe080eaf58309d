// Float64 reference for kernels/factored_linear.ts (same op names): plain loops, independent of
// the matmul reference, so the parity test compares two separate derivations.
import type { FactoredLinearShape } from './factored_linear.ts';

export interface FactoredLinearRefWeights extends FactoredLinearShape {
  /** [dOut, r] */
  u: Float64Array;
  /** [r] */
  sigma: Float64Array;
  /** [dIn, r] */
  v: Float64Array;
}

export interface FactoredLinearForwardRefArgs extends FactoredLinearRefWeights {
  /** [n, dIn] */
  x: Float64Array;
  /** [dOut] */
  bias?: Float64Array;
}

/** t = x·V [n, r]; y = (t ⊙ Σ)·Uᵀ + b [n, dOut]. */
export function factoredLinearForward(args: FactoredLinearForwardRefArgs): { t: Float64Array; y: Float64Array } {
  const { n, dIn, dOut, r, x, u, sigma, v, bias } = args;
  const t = new Float64Array(n * r);
  const y = new Float64Array(n * dOut);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let k = 0; k < dIn; k++) s += x[i * dIn + k] * v[k * r + j];
      t[i * r + j] = s;
    }
    for (let o = 0; o < dOut; o++) {
      let s = bias ? bias[o] : 0;
      for (let j = 0; j < r; j++) s += t[i * r + j] * sigma[j] * u[o * r + j];
      y[i * dOut + o] = s;
    }
  }
  return { t, y };
}

export interface FactoredLinearBackwardRefArgs extends FactoredLinearRefWeights {
  /** dL/dy [n, dOut] */
  g: Float64Array;
  /** The forward's t [n, r]. */
  t: Float64Array;
}

/** dΣ[j] = Σ_i h[i,j]·t[i,j] with h = g·U; db[o] = Σ_i g[i,o]; dx = (h ⊙ Σ)·Vᵀ. */
export function factoredLinearBackward(args: FactoredLinearBackwardRefArgs): { dSigma: Float64Array; dBias: Float64Array; dx: Float64Array } {
  const { n, dIn, dOut, r, g, t, u, sigma, v } = args;
  const h = new Float64Array(n * r);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < r; j++) {
      let s = 0;
      for (let o = 0; o < dOut; o++) s += g[i * dOut + o] * u[o * r + j];
      h[i * r + j] = s;
    }
  }
  const dx = new Float64Array(n * dIn);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < dIn; k++) {
      let s = 0;
      for (let j = 0; j < r; j++) s += h[i * r + j] * sigma[j] * v[k * r + j];
      dx[i * dIn + k] = s;
    }
  }
  return { dSigma: columnDotSum({ a: h, b: t, rows: n, cols: r }), dBias: columnSum({ x: g, rows: n, cols: dOut }), dx };
}

/** out[j] = Σ_i x[i, j] (+ out[j] when given: the GPU op's accumulate). */
export function columnSum(args: { x: Float64Array; rows: number; cols: number; out?: Float64Array }): Float64Array {
  const { x, rows, cols } = args;
  const out = args.out ? Float64Array.from(args.out) : new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j] += x[i * cols + j];
  return out;
}

/** out[j] (+)= Σ_i a[i, j]·b[i, j]. */
export function columnDotSum(args: { a: Float64Array; b: Float64Array; rows: number; cols: number; out?: Float64Array }): Float64Array {
  const { a, b, rows, cols } = args;
  const out = args.out ? Float64Array.from(args.out) : new Float64Array(cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j] += a[i * cols + j] * b[i * cols + j];
  return out;
}
