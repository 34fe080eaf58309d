// LoRA from a VectorFit run. ΔW = U·diag(ΔΣ)·Vᵀ is its own SVD (see delta-spectrum.ts), so by
// Eckart–Young the best rank-r approximation keeps the r largest |ΔΣ|: with those indices I,
// B = U[:, I]·diag(ΔΣ_I) (out×r) and A = V[:, I]ᵀ (r×in) give ΔW_r = B·A, and the relative
// truncation error ‖ΔW − ΔW_r‖_F / ‖ΔW‖_F is √(Σ dropped ΔΣ² / Σ ΔΣ²). With lora_alpha = r
// PEFT's scaling alpha/r is 1, so W₀ + B·A is the adapted weight.

export interface LoraModuleInput {
  /** [dOut, rank] row-major, orthonormal columns. */
  u: ArrayLike<number>;
  /** [dIn, rank] row-major, orthonormal columns. */
  v: ArrayLike<number>;
  sigma: ArrayLike<number>;
  initial: ArrayLike<number>;
  dOut: number;
  dIn: number;
  rank: number;
}

export interface LoraFactors {
  /** lora_A: [r, dIn] row-major (rows past `kept` are zero). */
  a: Float32Array;
  /** lora_B: [dOut, r] row-major (columns past `kept` are zero). */
  b: Float32Array;
  /** Singular directions kept: min(r, rank). */
  kept: number;
  /** ‖ΔW‖²_F and the part the truncation drops. */
  energy: number;
  dropped: number;
}

/** Indices of ΔΣ by decreasing |ΔΣ| (ties by index, so the choice is deterministic). */
export function largestChanges(sigma: ArrayLike<number>, initial: ArrayLike<number>): number[] {
  const delta = Array.from(sigma, (x, i) => Math.abs(x - initial[i]));
  return delta.map((_, i) => i).sort((i, j) => delta[j] - delta[i] || i - j);
}

export function loraFactors(m: LoraModuleInput, r: number): LoraFactors {
  if (!Number.isInteger(r) || r < 1) throw new Error(`LoRA rank must be a positive integer, got ${r}`);
  const { u, v, sigma, initial, dOut, dIn, rank } = m;
  if (u.length !== dOut * rank || v.length !== dIn * rank || sigma.length !== rank || initial.length !== rank) {
    throw new Error(`loraFactors: factors do not match ${dOut}×${dIn} of rank ${rank}`);
  }
  const order = largestChanges(sigma, initial);
  const kept = Math.min(r, rank);
  const a = new Float32Array(r * dIn);
  const b = new Float32Array(dOut * r);
  let energy = 0;
  let dropped = 0;
  for (let j = 0; j < rank; j++) {
    const i = order[j];
    const delta = sigma[i] - initial[i];
    energy += delta * delta;
    if (j >= kept) {
      dropped += delta * delta;
      continue;
    }
    for (let c = 0; c < dIn; c++) a[j * dIn + c] = v[c * rank + i];
    for (let o = 0; o < dOut; o++) b[o * r + j] = u[o * rank + i] * delta;
  }
  return { a, b, kept, energy, dropped };
}

/** Σ₀ + ΔΣ with only the r largest changes kept: the Σ of the model the rank-r LoRA gives. */
export function truncatedSigma(sigma: ArrayLike<number>, initial: ArrayLike<number>, r: number): Float32Array {
  const out = Float32Array.from(initial);
  for (const i of largestChanges(sigma, initial).slice(0, r)) out[i] = sigma[i];
  return out;
}

/** ‖ΔW − ΔW_r‖_F / ‖ΔW‖_F from the energies (0 when nothing changed). */
export function relativeTruncationError(energy: number, dropped: number): number {
  return energy > 0 ? Math.sqrt(dropped / energy) : 0;
}
