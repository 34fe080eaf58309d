import { describe, expect, it } from 'vitest';
import { readTensor } from '../gpu/readback.ts';
import { uploadTensor } from '../gpu/tensor.ts';
import { f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { svd, svdBatch } from './svd.ts';
import { svd as svdRef } from './svd.ref.ts';

interface Factors {
  u: ArrayLike<number>;
  s: ArrayLike<number>;
  v: ArrayLike<number>;
}

/** ‖a − u·diag(s)·vᵀ‖_F / ‖a‖_F in float64. */
function reconstructionError(a: ArrayLike<number>, rows: number, cols: number, { u, s, v }: Factors): number {
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


describe('GPU svd (fp32 one-sided Jacobi)', () => {
  // Measured on SwiftShader: reconstruction ≤ 1e-6, max|UᵀU − I| and max|VᵀV − I| ≤ 1.1e-6
  // (SVD_TOL = 1e-6 bounds the pairwise |cos| of U's columns), σ within 2e-7·σ_max of float64.
  // 1e-5 leaves room for other GPUs' rounding while a wrong rotation or a skipped pair fails
  // by orders of magnitude.
  const TOL = 1e-5;

  async function check(a: Float64Array, rows: number, cols: number, expectedSigma?: readonly number[]) {
    const { device } = await testGpu();
    const w = f32(a);
    const out = await svd(device, { w: uploadTensor(device, w, [rows, cols]), rows, cols });
    const r = Math.min(rows, cols);
    expect(out.u.shape).toEqual([rows, r]);
    expect(out.v.shape).toEqual([cols, r]);
    expect(out.sweeps).toBeLessThan(40); // converged, not cut off
    const result = { u: await readTensor(device, out.u), s: await readTensor(device, out.s), v: await readTensor(device, out.v) };
    const host = {
      reconstruction: reconstructionError(w, rows, cols, result),
      orthoU: orthogonalityError(result.u, rows, r),
      orthoV: orthogonalityError(result.v, cols, r),
    };
    for (const key of ['reconstruction', 'orthoU', 'orthoV'] as const) {
      expect(host[key], key).toBeLessThan(TOL);
      // The GPU's own report measures the same thing (in fp32 products, so to ~1e-6).
      expect(Math.abs(out.report[key] - host[key]), `report.${key}`).toBeLessThan(2e-6);
    }
    expectDescending(result.s);
    const ref = expectedSigma ?? svdRef(w, rows, cols).s;
    for (let k = 0; k < r; k++) expect(Math.abs(result.s[k] - ref[k]), `s[${k}]`).toBeLessThan(TOL * ref[0]);
    return { result, ref: svdRef(w, rows, cols) };
  }

  it('matches its float64 reference on a random tall 64×48 matrix', () => check(randomArray(64 * 48, 21), 64, 48));
  it('matches its float64 reference on a random wide 48×64 matrix', () => check(randomArray(48 * 64, 22), 48, 64));
  it('matches its float64 reference with an odd column count (a bye each round), 33×17', () => check(randomArray(33 * 17, 23), 33, 17));
  it('matches its float64 reference on a single column and a single row', async () => {
    await check(randomArray(7, 24), 7, 1);
    await check(randomArray(5, 25), 1, 5);
  });
  it('matches its float64 reference on a random square 96×96 matrix', () => check(randomArray(96 * 96, 26), 96, 96));
  // The 256×256 case: ~1 minute on SwiftShader (256 columns → 255 rounds a sweep).
  it('matches its float64 reference on a random square 256×256 matrix', () =>
    check(randomArray(256 * 256, 27), 256, 256),
  );

  it('recovers a trained-like decaying spectrum and its well-separated singular vectors', async () => {
    const sigma = decaying(60);
    const { result, ref } = await check(withSpectrum(80, 60, sigma, 28), 80, 60, sigma);
    // Vectors are unique up to sign where the gap is large: the top 20 have relative gaps ≥ 3%.
    for (let k = 0; k < 20; k++) {
      let du = 0;
      let dv = 0;
      for (let i = 0; i < 80; i++) du += result.u[i * 60 + k] * ref.u[i * 60 + k];
      for (let j = 0; j < 60; j++) dv += result.v[j * 60 + k] * ref.v[j * 60 + k];
      expect(1 - Math.abs(du), `u[:, ${k}]`).toBeLessThan(1e-5);
      expect(1 - Math.abs(dv), `v[:, ${k}]`).toBeLessThan(1e-5);
    }
  });

  it('handles repeated singular values (orthonormal bases of each eigenspace)', () => {
    const sigma = [4, 4, 4, 4, 2.5, 2.5, 2.5, 1, 1, 1, 1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.1, 0.1];
    return check(withSpectrum(30, 20, sigma, 29), 30, 20, sigma);
  });
});

describe('GPU svdBatch (same-shape matrices share each Jacobi round)', () => {
  it("gives every matrix svd()'s own factors and sweep count, shapes mixed and orientations shared", async () => {
    const { device } = await testGpu();
    // Three 33×17 and one 17×33 share the working shape 33×17 (one batch); the 20×12 is its own.
    // The constructed spectrum converges in fewer sweeps than the random ones, so it sits
    // converged (rotating nothing) while the rest of its batch goes on.
    const inputs: [number, number, Float64Array][] = [
      [33, 17, randomArray(33 * 17, 31)],
      [33, 17, withSpectrum(33, 17, [3, 3, 2, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.2, 0.1, 0.1, 0.05, 0, 0, 0, 0], 32)],
      [20, 12, randomArray(20 * 12, 33)],
      [17, 33, randomArray(17 * 33, 34)],
      [33, 17, randomArray(33 * 17, 35)],
    ];
    const args = inputs.map(([rows, cols, a]) => ({ w: uploadTensor(device, f32(a), [rows, cols]), rows, cols }));
    const batched = await svdBatch(device, args);
    const sweeps = new Set<number>();
    for (const [i, one] of args.entries()) {
      const alone = await svd(device, one);
      const b = batched[i];
      expect(b.sweeps, `matrix ${i} sweeps`).toBe(alone.sweeps);
      sweeps.add(b.sweeps);
      // The same rotations in the same order on the same fp32 values: equal to the bit.
      for (const key of ['u', 's', 'v'] as const) {
        expect(b[key].shape, `matrix ${i} ${key}`).toEqual(alone[key].shape);
        expect(Array.from(await readTensor(device, b[key])), `matrix ${i} ${key}`).toEqual(Array.from(await readTensor(device, alone[key])));
      }
      expect(b.report).toEqual(alone.report);
      expect(b.report.reconstruction).toBeLessThan(1e-5);
    }
    expect(sweeps.size, 'the batch mixes matrices that converge at different sweeps').toBeGreaterThan(1);
  });
});

