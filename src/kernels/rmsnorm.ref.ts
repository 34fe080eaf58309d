// Float64 reference for shaders/rmsnorm.wgsl (same op names as kernels/rmsnorm.ts).

export interface RmsNormForwardRefArgs {
  x: Float64Array;
  weight: Float64Array;
  rows: number;
  d: number;
  eps: number;
}

/** y = x·rstd·w with rstd = 1/sqrt(mean(x²) + eps) per row. */
export function rmsNormForward(args: RmsNormForwardRefArgs): { y: Float64Array; rstd: Float64Array } {
  const { x, weight, rows, d, eps } = args;
  const y = new Float64Array(rows * d);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sq = 0;
    for (let j = 0; j < d; j++) sq += x[r * d + j] ** 2;
    const s = 1 / Math.sqrt(sq / d + eps);
    for (let j = 0; j < d; j++) y[r * d + j] = x[r * d + j] * s * weight[j];
    rstd[r] = s;
  }
  return { y, rstd };
}

export interface RmsNormBackwardRefArgs {
  dy: Float64Array;
  x: Float64Array;
  weight: Float64Array;
  rstd: Float64Array;
  rows: number;
  d: number;
  /** Prior dx, required when accumulateDx is set. */
  dx?: Float64Array;
  accumulateDx?: boolean;
}

/** dx = rstd·(g − x̂·mean(g·x̂)) with x̂ = x·rstd, g = dy·w; dWeight = Σ_rows dy·x̂. */
export function rmsNormBackward(args: RmsNormBackwardRefArgs): { dx: Float64Array; dWeight: Float64Array } {
  const { dy, x, weight, rstd, rows, d } = args;
  const dx = args.accumulateDx ? Float64Array.from(args.dx!) : new Float64Array(rows * d);
  const dWeight = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    let mgx = 0;
    for (let j = 0; j < d; j++) {
      const xhat = x[r * d + j] * rstd[r];
      mgx += (dy[r * d + j] * weight[j] * xhat) / d;
      dWeight[j] += dy[r * d + j] * xhat;
    }
    for (let j = 0; j < d; j++) {
      dx[r * d + j] += rstd[r] * (dy[r * d + j] * weight[j] - x[r * d + j] * rstd[r] * mgx);
    }
  }
  return { dx, dWeight };
}
