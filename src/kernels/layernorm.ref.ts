// Float64 reference for shaders/layernorm.wgsl (same op names as kernels/layernorm.ts).

export interface LayerNormForwardRefArgs {
  x: Float64Array;
  gamma: Float64Array;
  beta: Float64Array;
  rows: number;
  d: number;
  eps: number;
}

export function layerNormForward(args: LayerNormForwardRefArgs): { y: Float64Array; mean: Float64Array; rstd: Float64Array } {
  const { x, gamma, beta, rows, d, eps } = args;
  const y = new Float64Array(rows * d);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < d; j++) sum += x[r * d + j];
    const m = sum / d;
    let sq = 0;
    for (let j = 0; j < d; j++) sq += (x[r * d + j] - m) ** 2;
    const s = 1 / Math.sqrt(sq / d + eps);
    for (let j = 0; j < d; j++) y[r * d + j] = (x[r * d + j] - m) * s * gamma[j] + beta[j];
    mean[r] = m;
    rstd[r] = s;
  }
  return { y, mean, rstd };
}

export interface LayerNormBackwardRefArgs {
  dy: Float64Array;
  x: Float64Array;
  gamma: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
  rows: number;
  d: number;
  /** Prior dx, required when accumulateDx is set. */
  dx?: Float64Array;
  accumulateDx?: boolean;
}

export function layerNormBackward(args: LayerNormBackwardRefArgs): { dx: Float64Array; dGamma: Float64Array; dBeta: Float64Array } {
  const { dy, x, gamma, mean, rstd, rows, d } = args;
  const dx = args.accumulateDx ? Float64Array.from(args.dx!) : new Float64Array(rows * d);
  const dGamma = new Float64Array(d);
  const dBeta = new Float64Array(d);
  for (let r = 0; r < rows; r++) {
    let mg = 0;
    let mgx = 0;
    for (let j = 0; j < d; j++) {
      const xhat = (x[r * d + j] - mean[r]) * rstd[r];
      const g = dy[r * d + j] * gamma[j];
      mg += g / d;
      mgx += (g * xhat) / d;
      dGamma[j] += dy[r * d + j] * xhat;
      dBeta[j] += dy[r * d + j];
    }
    for (let j = 0; j < d; j++) {
      const xhat = (x[r * d + j] - mean[r]) * rstd[r];
      dx[r * d + j] += rstd[r] * (dy[r * d + j] * gamma[j] - mg - xhat * mgx);
    }
  }
  return { dx, dGamma, dBeta };
}
