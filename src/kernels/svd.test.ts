import { describe, expect, it } from 'vitest';
import { randomArray } from '../test/compare.ts';
import { svd as svdRef, type SvdResult } from './svd.ref.ts';

/** ‖a − u·diag(s)·vᵀ‖_F / ‖a‖_F in float64. */
function reconstructionError(a: ArrayLike<number>, rows: number, cols: number, { u, s, v }: SvdResult): number {
  const r = s.length;
  let err = 0;
  let norm = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += u[i * r + k] * s[k] * v[j * r + k];
      err += (a[i * cols + j] - sum) ** 2;
      norm += a[i * cols + j] ** 2;
    }
  }
  return Math.sqrt(err / norm);
}

/** max |xᵀx − I| for the row-major n×r matrix x. */
function orthogonalityError(x: ArrayLike<number>, n: number, r: number): number {
  let worst = 0;
  for (let p = 0; p < r; p++) {
    for (let q = p; q < r; q++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += x[i * r + p] * x[i * r + q];
      worst = Math.max(worst, Math.abs(dot - (p === q ? 1 : 0)));
    }
  }
  return worst;
}

/** A random n×n orthogonal matrix (Gram–Schmidt, twice, of a seeded random matrix). */
function randomOrthogonal(n: number, seed: number): Float64Array {
  const q = randomArray(n * n, seed);
  for (let j = 0; j < n; j++) {
    for (let pass = 0; pass < 2; pass++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + k] * q[i * n + j];
        for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
      }
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += q[i * n + j] ** 2;
    for (let i = 0; i < n; i++) q[i * n + j] /= Math.sqrt(norm);
  }
  return q;
}

/** W = Q1[:, :r]·diag(sigma)·Q2[:, :r]ᵀ: a rows×cols matrix with exactly the given singular values. */
function withSpectrum(rows: number, cols: number, sigma: readonly number[], seed: number): Float64Array {
  const r = sigma.length;
  const q1 = randomOrthogonal(rows, seed);
  const q2 = randomOrthogonal(cols, seed + 1);
  const w = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let sum = 0;
      for (let k = 0; k < r; k++) sum += q1[i * rows + k] * sigma[k] * q2[j * cols + k];
      w[i * cols + j] = sum;
    }
  }
  return w;
}

const decaying = (r: number) => Array.from({ length: r }, (_, k) => 10 * Math.exp(-k / 6) + 1e-3);

function expectDescending(s: ArrayLike<number>): void {
  for (let k = 1; k < s.length; k++) expect(s[k], `s[${k}] ≤ s[${k - 1}]`).toBeLessThanOrEqual(s[k - 1]);
  expect(s[s.length - 1]).toBeGreaterThanOrEqual(0);
}

describe('float64 reference svd', () => {
  // One-sided Jacobi is backward stable: errors are a small multiple of n·ε ≈ 1e-14.
  const REF_TOL = 1e-12;
  const cases: [string, number, number, () => Float64Array][] = [
    ['a random tall 37×23 matrix', 37, 23, () => randomArray(37 * 23, 11)],
    ['a random wide 23×37 matrix', 23, 37, () => randomArray(23 * 37, 12)],
    ['a random 1×5 matrix', 1, 5, () => randomArray(5, 13)],
    ['a 1×1 matrix', 1, 1, () => Float64Array.of(-3)],
    ['a decaying spectrum 40×30', 40, 30, () => withSpectrum(40, 30, decaying(30), 14)],
    ['a rank-deficient 20×12 matrix', 20, 12, () => withSpectrum(20, 12, [5, 4, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0], 15)],
  ];
  for (const [name, rows, cols, make] of cases) {
    it(`reconstructs ${name} with orthonormal factors and sorted singular values`, () => {
      const a = make();
      const result = svdRef(a, rows, cols);
      const r = Math.min(rows, cols);
      expect(result.u.length).toBe(rows * r);
      expect(result.v.length).toBe(cols * r);
      expect(reconstructionError(a, rows, cols, result)).toBeLessThan(REF_TOL);
      expect(orthogonalityError(result.u, rows, r)).toBeLessThan(REF_TOL);
      expect(orthogonalityError(result.v, cols, r)).toBeLessThan(REF_TOL);
      expectDescending(result.s);
    });
  }

  it('recovers the constructed singular values, repeated ones included', () => {
    const sigma = [7, 7, 7, 2, 2, 1e-6, 0];
    const result = svdRef(withSpectrum(15, 7, sigma, 16), 15, 7);
    for (let k = 0; k < sigma.length; k++) expect(Math.abs(result.s[k] - sigma[k])).toBeLessThan(1e-13 * 7);
  });
});

