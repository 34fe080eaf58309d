import { describe, expect, it } from 'vitest';
import { svd } from '../kernels/svd.ref.ts';
import { randomArray } from '../test/compare.ts';
import { deltaSpectrum, deltaSpectrumJson, moduleSpectrum } from './delta-spectrum.ts';

/** Row-major a·diag(d)·bᵀ for a: m×r, b: n×r. */
function compose(a: Float64Array, d: ArrayLike<number>, b: Float64Array, m: number, n: number, r: number): Float64Array {
  const out = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let k = 0; k < r; k++) out[i * n + j] += a[i * r + k] * d[k] * b[j * r + k];
  return out;
}

const pair = (sigma: number[], initial: number[]) => ({ path: 'x', layer: 0, module: 'q' as const, sigma, initial });

describe('delta spectrum', () => {
  it('equals the singular values of the dense ΔW, computed independently by SVD', () => {
    // A 7×5 W₀ with its own U, Σ₀, V; Σ moves each value by its own amount, some up, some down,
    // so |ΔΣ| is out of Σ₀'s order.
    const m = 7;
    const n = 5;
    const { u, s: sigma0, v } = svd(randomArray(m * n, 3), m, n);
    const sigma = Array.from(sigma0, (x, i) => x + [0.3, -0.05, 0.5, -0.2, 0.01][i]);
    const deltaW = compose(u, sigma.map((x, i) => x - sigma0[i]), v, m, n, n);
    const independent = svd(deltaW, m, n).s;
    const spectrum = moduleSpectrum({ path: 'q', layer: 0, module: 'q', sigma, initial: sigma0 });
    expect(spectrum.values).toHaveLength(5);
    // Float64 Jacobi SVD vs the exact |ΔΣ| (rounded to fp32 for the event): fp32 relative accuracy.
    for (let i = 0; i < 5; i++) expect(Math.abs(spectrum.values[i] - independent[i])).toBeLessThan(1e-7 * independent[0]);
    let frobenius = 0;
    for (const x of deltaW) frobenius += x * x;
    expect(spectrum.frobenius).toBeCloseTo(Math.sqrt(frobenius), 12);
    expect(spectrum.energyTop1).toBeCloseTo(independent[0] ** 2 / frobenius, 12);
  });

  it('effective rank, rank above 1% and energy shares follow their definitions', () => {
    // ΔΣ = (1, −1, 0, 0): p = (½, ½) → exp(ln 2) = 2; top 1 carries half the energy.
    const two = moduleSpectrum(pair([2, 0, 3, 4], [1, 1, 3, 4]));
    expect(two.effectiveRank).toBeCloseTo(2, 14);
    expect(two.rankAbove1Percent).toBe(2);
    expect(two.energyTop1).toBeCloseTo(0.5, 14);
    expect(two.energyTop8).toBe(1);
    // Ten equal changes: effective rank 10, top 8 carry 8/10.
    const flat = moduleSpectrum(pair(Array(10).fill(1.5), Array(10).fill(1)));
    expect(flat.effectiveRank).toBeCloseTo(10, 12);
    expect(flat.energyTop8).toBeCloseTo(0.8, 14);
    // (3, 0.02, 0.04): 0.02 < 1% of 3 = 0.03 < 0.04.
    expect(moduleSpectrum(pair([3, 0.02, 0.04], [0, 0, 0])).rankAbove1Percent).toBe(2);
    // p = (3/4, 1/4): H = −(¾ ln ¾ + ¼ ln ¼).
    expect(moduleSpectrum(pair([3, 1], [0, 0])).effectiveRank).toBeCloseTo(Math.exp(-(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25))), 14);
    // Untrained: no change, rank 0, shares undefined.
    const none = moduleSpectrum(pair([1, 2], [1, 2]));
    expect([none.effectiveRank, none.rankAbove1Percent, none.frobenius]).toEqual([0, 0, 0]);
    expect(none.energyTop1).toBeNaN();
    expect(() => moduleSpectrum(pair([1], [1, 2]))).toThrow(/Σ has 1 values, Σ₀ 2/);
  });

  it('reports the change of the leading singular values per layer and module, and writes JSON', () => {
    const report = deltaSpectrum([
      { path: 'l1.q', layer: 1, module: 'q', sigma: [5, 4, 3, 2, 1], initial: [5.5, 4, 2, 2, 0] },
      { path: 'l0.f1', layer: 0, module: 'f1', sigma: [2, 1], initial: [1, 1] },
      { path: 'l1.k', layer: 1, module: 'k', sigma: [1], initial: [1] },
    ]);
    expect(report.layers).toEqual([
      { layer: 0, change: { f1: [1, 0] } },
      { layer: 1, change: { q: [-0.5, 0, 1, 0], k: [0] } },
    ]);
    const json = JSON.parse(deltaSpectrumJson(report));
    expect(json.modules[2]).toMatchObject({ path: 'l1.k', values: [0], energyTop1: null });
    expect(json.definitions.effectiveRank).toMatch(/Roy & Vetterli/);
  });
});
