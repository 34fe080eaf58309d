// Float64 reference for kernels/linear_forms.ts (same op names): plain loops over the defining
// sums, independent of the matmul reference and of the factored form's t and h.

export interface DenseFactorsRef {
  dIn: number;
  dOut: number;
  r: number;
  /** [dOut, r] */
  u: Float64Array;
  /** [r] */
  sigma: Float64Array;
  /** [dIn, r] */
  v: Float64Array;
}

/** W'[j, k] = Σ_i U[j, i]·Σ[i]·V[k, i]  [dOut, dIn]. */
export function recompose({ dIn, dOut, r, u, sigma, v }: DenseFactorsRef): Float64Array {
  const w = new Float64Array(dOut * dIn);
  for (let j = 0; j < dOut; j++) {
    for (let k = 0; k < dIn; k++) {
      let s = 0;
      for (let i = 0; i < r; i++) s += u[j * r + i] * sigma[i] * v[k * r + i];
      w[j * dIn + k] = s;
    }
  }
  return w;
}

export interface SigmaGradDenseRefArgs {
  n: number;
  dIn: number;
  dOut: number;
  r: number;
  /** [n, dOut] */
  g: Float64Array;
  /** [n, dIn] */
  x: Float64Array;
  u: Float64Array;
  v: Float64Array;
}

/** dΣ[i] = Σ_jk U[j, i]·G[j, k]·V[k, i] with G = gᵀx, the dense weight gradient. */
export function sigmaGradDense({ n, dIn, dOut, r, g, x, u, v }: SigmaGradDenseRefArgs): Float64Array {
  const grad = new Float64Array(dOut * dIn);
  for (let t = 0; t < n; t++) {
    for (let j = 0; j < dOut; j++) {
      for (let k = 0; k < dIn; k++) grad[j * dIn + k] += g[t * dOut + j] * x[t * dIn + k];
    }
  }
  const dSigma = new Float64Array(r);
  for (let i = 0; i < r; i++) {
    let s = 0;
    for (let j = 0; j < dOut; j++) {
      for (let k = 0; k < dIn; k++) s += u[j * r + i] * grad[j * dIn + k] * v[k * r + i];
    }
    dSigma[i] = s;
  }
  return dSigma;
}
