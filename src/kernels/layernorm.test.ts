import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, placeholder, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray, type Tolerance } from '../test/compare.ts';
import { ROW_VARIANTS, skipWithoutSubgroups, testGpu } from '../test/gpu.ts';
import { MAX_ROW_WORKGROUPS } from './grid.ts';
import type { RowVariant } from './reduction.ts';
import { layerNormBackward, layerNormForward } from './layernorm.ts';
import { layerNormBackward as layerNormBackwardRef, layerNormForward as layerNormForwardRef } from './layernorm.ref.ts';

// Forward: x − mean is rounded relative to |x| (and the mean, a tree sum over d terms, carries
// ~log2(d)·2⁻²⁴·max|x|), so in fp32 x̂ is only good to ~(2 + log2 d)·2⁻²⁴·max|x|·rstd absolute —
// large when a row's spread is small against its values (PyTorch's fp32 LayerNorm shares this).
// Each row is checked against that bound times max|gamma|, with 2 ulp relative on top.
function forwardRowTol(xRow: Float64Array, rstd: number, gammaMax: number, d: number): Tolerance {
  const xMax = xRow.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return { atol: (2 + Math.log2(d)) * 2 ** -24 * xMax * rstd * gammaMax, rtol: 2.5e-7 };
}
// Backward: dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), all terms O(1), two row sums in fp32.
const DX_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };
// dGamma, dBeta: sums over ≤ 70 rows of O(1) terms: ~rows·2⁻²⁴ absolute.
const PARAM_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };

interface Case {
  rows: number;
  d: number;
  eps: number;
  offset?: number;
  variant: RowVariant;
}

function inputs({ rows, d, offset = 0 }: Pick<Case, 'rows' | 'd' | 'offset'>, seed: number) {
  const x = f32(randomArray(rows * d, seed).map((v, i) => offset + v * (1 + (i % 3))));
  const gamma = f32(randomArray(d, seed + 1).map((v) => 1 + 0.5 * v));
  const beta = f32(randomArray(d, seed + 2, 0.5));
  return { x, gamma, beta };
}

async function checkForward(c: Case, seed = 1) {
  const { device } = await testGpu();
  const { rows, d, eps } = c;
  const { x, gamma, beta } = inputs(c, seed);
  const y = createTensor(device, [rows, d]);
  const mean = createTensor(device, [rows]);
  const rstd = createTensor(device, [rows]);
  runDispatches(device, [
    layerNormForward(device, {
      x: uploadTensor(device, x, [rows, d]), gamma: uploadTensor(device, gamma, [d]), beta: uploadTensor(device, beta, [d]),
      y, mean, rstd, rows, d, eps, variant: c.variant,
    }),
  ]);
  const ref = layerNormForwardRef({ x, gamma, beta, rows, d, eps });
  const label = `forward ${JSON.stringify(c)}`;
  const got = await readTensor(device, y);
  const gammaMax = gamma.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let r = 0; r < rows; r++) {
    const [start, end] = [r * d, (r + 1) * d];
    const tol = forwardRowTol(x.subarray(start, end), ref.rstd[r], gammaMax, d);
    expectClose(got.subarray(start, end), ref.y.subarray(start, end), tol, `${label} y row ${r}`);
  }
  // The mean's own error: the tree sum's (2 + log2 d)·2⁻²⁴·max|x|.
  const xMax = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expectClose(await readTensor(device, mean), ref.mean, { atol: (2 + Math.log2(d)) * 2 ** -24 * xMax, rtol: 0 }, `${label} mean`);
  // rstd: the variance's sum and the sqrt/divide roundings, a few ulp in these cases.
  expectClose(await readTensor(device, rstd), ref.rstd, { atol: 0, rtol: 2e-6 }, `${label} rstd`);
}

async function checkBackward(c: Case, options: { accumulateDx?: boolean; params?: 'both' | 'gamma' | 'beta' | 'none' } = {}, seed = 5) {
  const { device } = await testGpu();
  const { rows, d, eps } = c;
  const { x, gamma, beta } = inputs(c, seed);
  // The GPU backward reads the forward's fp32 mean and rstd: give both sides the same values.
  const saved = layerNormForwardRef({ x, gamma, beta, rows, d, eps });
  const mean = f32(saved.mean);
  const rstd = f32(saved.rstd);
  const dy = f32(randomArray(rows * d, seed + 3));
  const dx0 = f32(randomArray(rows * d, seed + 4));
  const params = options.params ?? 'both';
  const dx = uploadTensor(device, dx0, [rows, d]);
  const dGamma = params === 'both' || params === 'gamma' ? createTensor(device, [d]) : undefined;
  const dBeta = params === 'both' || params === 'beta' ? createTensor(device, [d]) : undefined;
  const dispatches = layerNormBackward(device, {
    dy: uploadTensor(device, dy, [rows, d]), x: uploadTensor(device, x, [rows, d]), gamma: uploadTensor(device, gamma, [d]),
    mean: uploadTensor(device, mean, [rows]), rstd: uploadTensor(device, rstd, [rows]),
    dx, dGamma, dBeta, rows, d, accumulateDx: options.accumulateDx, variant: c.variant,
  });
  expect(dispatches.length).toBe(params === 'none' ? 1 : 2);
  runDispatches(device, dispatches);
  const ref = layerNormBackwardRef({ dy, x, gamma, mean, rstd, rows, d, dx: dx0, accumulateDx: options.accumulateDx });
  const label = `backward ${JSON.stringify(c)} ${JSON.stringify(options)}`;
  expectClose(await readTensor(device, dx), ref.dx, DX_TOL, `${label} dx`);
  if (dGamma) expectClose(await readTensor(device, dGamma), ref.dGamma, PARAM_TOL, `${label} dGamma`);
  if (dBeta) expectClose(await readTensor(device, dBeta), ref.dBeta, PARAM_TOL, `${label} dBeta`);
  // The switched-off gradient's placeholder must stay untouched.
  if (!dGamma || !dBeta) expect((await readTensor(device, placeholder(device)))[0]).toBe(0);
}

describe.each(ROW_VARIANTS)('layerNormForward (%s) matches its float64 reference', (variant) => {
  skipWithoutSubgroups(variant);
  it('on a single element (y = beta)', () => checkForward({ variant, rows: 1, d: 1, eps: 1e-12 }));
  it('on one row longer than the workgroup, not a multiple of it (BERT eps)', () => checkForward({ variant, rows: 1, d: 1025, eps: 1e-12 }));
  it('on several short rows (RoBERTa eps)', () => checkForward({ variant, rows: 7, d: 100, eps: 1e-5 }));
  it('on rows centred far from zero, where a one-pass variance would cancel', () => checkForward({ variant, rows: 3, d: 300, eps: 1e-12, offset: 100 }));
  it('past the grid cap of 1024 workgroups, where a workgroup takes several rows', () => checkForward({ variant, rows: MAX_ROW_WORKGROUPS + 3, d: 2, eps: 1e-5 }));
});

describe.each(ROW_VARIANTS)('layerNormBackward (%s) matches its float64 reference', (variant) => {
  skipWithoutSubgroups(variant);
  it('on one row', () => checkBackward({ variant, rows: 1, d: 33, eps: 1e-12 }));
  it('past the grid cap of 1024 workgroups', () => checkBackward({ variant, rows: MAX_ROW_WORKGROUPS + 3, d: 3, eps: 1e-5 }, { params: 'none' }));
  it('on rows longer than the workgroup, accumulating into dx', () => checkBackward({ variant, rows: 3, d: 1025, eps: 1e-12 }, { accumulateDx: true }));
  it('on more rows than the parameter kernel has lanes, d not a multiple of its 32 columns', () => checkBackward({ variant, rows: 70, d: 45, eps: 1e-5 }));
  it('with only dGamma, only dBeta, or neither', async () => {
    await checkBackward({ variant, rows: 9, d: 40, eps: 1e-5 }, { params: 'gamma' });
    await checkBackward({ variant, rows: 9, d: 40, eps: 1e-5 }, { params: 'beta' });
    await checkBackward({ variant, rows: 9, d: 40, eps: 1e-5 }, { params: 'none' });
  });
});

describe('the layernorm reference', () => {
  it('has the gradients of its forward (central differences in float64)', () => {
    const rows = 3;
    const d = 7;
    const eps = 1e-5;
    const { x, gamma, beta } = inputs({ rows, d }, 9);
    const w = randomArray(rows * d, 10); // loss = Σ w·y, so dy = w
    const loss = (xs: Float64Array, g: Float64Array, b: Float64Array) =>
      layerNormForwardRef({ x: xs, gamma: g, beta: b, rows, d, eps }).y.reduce((s, v, i) => s + v * w[i], 0);
    const { mean, rstd } = layerNormForwardRef({ x, gamma, beta, rows, d, eps });
    const grads = layerNormBackwardRef({ dy: w, x, gamma, mean, rstd, rows, d });
    const h = 1e-6;
    const numeric = (v: Float64Array, at: number, f: (p: Float64Array) => number) => {
      const plus = Float64Array.from(v);
      const minus = Float64Array.from(v);
      plus[at] += h;
      minus[at] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    };
    const fd = { atol: 1e-7, rtol: 1e-6 }; // central differences: O(h²) truncation, ~1e-10/h rounding
    expectClose(grads.dx, x.map((_, i) => numeric(x, i, (p) => loss(p, gamma, beta))), fd, 'dx');
    expectClose(grads.dGamma, gamma.map((_, i) => numeric(gamma, i, (p) => loss(x, p, beta))), fd, 'dGamma');
    expectClose(grads.dBeta, beta.map((_, i) => numeric(beta, i, (p) => loss(x, gamma, p))), fd, 'dBeta');
  });
});
