import { describe, expect, it } from 'vitest';
import { svd } from '../kernels/svd.ref.ts';
import { randomArray } from '../test/compare.ts';
import { loraFactors, relativeTruncationError, truncatedSigma } from './lora.ts';

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

/** Dense row-major product of a [m, k] and b [k, n]. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * k + p] * b[p * n + j];
  return out;
}

describe('LoRA from ΔΣ', () => {
  // A wide 4×6 module (rank 4), so U and V have different shapes; ΔΣ out of Σ₀'s order.
  const dOut = 4;
  const dIn = 6;
  const rank = 4;
  const { u, s: initial, v } = svd(randomArray(dOut * dIn, 11), dOut, dIn);
  const sigma = Array.from(initial, (x, i) => x + [0.01, -0.4, 0.2, -0.05][i]);
  const deltaW = (keep: number[]) => {
    // U·diag(ΔΣ masked)·Vᵀ, densely.
    const ud = Float64Array.from(u, (x, idx) => (keep.includes(idx % rank) ? x * (sigma[idx % rank] - initial[idx % rank]) : 0));
    const vt = new Float64Array(rank * dIn);
    for (let c = 0; c < dIn; c++) for (let i = 0; i < rank; i++) vt[i * dIn + c] = v[c * rank + i];
    return matmul(ud, vt, dOut, rank, dIn);
  };

  it('B·A is ΔW at full rank and its best rank-r approximation below, with the error it reports', () => {
    const full = deltaW([0, 1, 2, 3]);
    const f4 = loraFactors({ u, v, sigma, initial, dOut, dIn, rank }, 4);
    const ba4 = matmul(f4.b, f4.a, dOut, 4, dIn);
    // fp32 factors: each product term carries ~2⁻²⁴ relative error.
    for (let i = 0; i < full.length; i++) expect(Math.abs(ba4[i] - full[i])).toBeLessThan(1e-7 * norm(full));
    expect(relativeTruncationError(f4.energy, f4.dropped)).toBe(0);

    // r = 2 keeps the two largest |ΔΣ|: indices 1 (0.4) and 2 (0.2).
    const f2 = loraFactors({ u, v, sigma, initial, dOut, dIn, rank }, 2);
    const ba2 = matmul(f2.b, f2.a, dOut, 2, dIn);
    const best = deltaW([1, 2]);
    for (let i = 0; i < best.length; i++) expect(Math.abs(ba2[i] - best[i])).toBeLessThan(1e-7 * norm(full));
    const error = norm(full.map((x, i) => x - ba2[i])) / norm(full);
    expect(relativeTruncationError(f2.energy, f2.dropped)).toBeCloseTo(error, 6);
    expect(error).toBeCloseTo(Math.sqrt((0.01 ** 2 + 0.05 ** 2) / (0.01 ** 2 + 0.4 ** 2 + 0.2 ** 2 + 0.05 ** 2)), 6);
    // The rank-2 model's Σ: Σ₀ with the two kept changes.
    expect(Array.from(truncatedSigma(sigma, initial, 2))).toEqual(Array.from(Float32Array.from([initial[0], sigma[1], sigma[2], initial[3]])));
  });

  it('pads past the module’s rank with zeros, and refuses a bad rank', () => {
    const f = loraFactors({ u, v, sigma, initial, dOut, dIn, rank }, 6);
    expect(f.kept).toBe(4);
    expect(f.a.subarray(4 * dIn).every((x) => x === 0)).toBe(true);
    for (let o = 0; o < dOut; o++) expect([f.b[o * 6 + 4], f.b[o * 6 + 5]]).toEqual([0, 0]);
    expect(() => loraFactors({ u, v, sigma, initial, dOut, dIn, rank }, 0)).toThrow(/positive integer, got 0/);
  });
});
