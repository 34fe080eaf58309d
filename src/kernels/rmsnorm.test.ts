import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray, type Tolerance } from '../test/compare.ts';
import { ROW_VARIANTS, skipWithoutSubgroups, testGpu } from '../test/gpu.ts';
import { MAX_ROW_WORKGROUPS } from './grid.ts';
import type { RowVariant } from './reduction.ts';
import { rmsNormBackward, rmsNormForward } from './rmsnorm.ts';
import { rmsNormBackward as rmsNormBackwardRef, rmsNormForward as rmsNormForwardRef } from './rmsnorm.ref.ts';

// Forward: no mean is subtracted, so nothing cancels and every error is relative. Σx² of positive
// terms errs by ≤ d·2⁻²⁴ relative in the worst case (the per-row variant's sequential sum;
// ~√d·2⁻²⁴ for roundings of random sign; the workgroup's strided + tree sum far less), rstd by
// half that plus inverseSqrt's 2 ulp, y by two more roundings. Seen: ≤ 9 ulp (per-row, d = 4096),
// ≤ 3 ulp (workgroup). 4e-6 (67 ulp) is twice the random-sign estimate at d = 1025, while a wrong
// formula (eps outside the root, a missing weight) misses by orders of magnitude.
const FORWARD_TOL: Tolerance = { atol: 0, rtol: 4e-6 };
// Backward: dx = rstd·(g − x̂·mean(g·x̂)) subtracts O(1) terms, so its error is absolute: the row
// sum's ~d·2⁻²⁴ on O(1) values times rstd = O(1) here.
const DX_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };
// dWeight: sums over ≤ 70 rows of O(1) terms: ~rows·2⁻²⁴ absolute.
const WEIGHT_TOL: Tolerance = { atol: 1e-5, rtol: 1e-5 };

interface Case {
  rows: number;
  d: number;
  eps: number;
  /** Multiplies x: small rows make eps matter (x² ~ eps), large ones test the squares' range. */
  scale?: number;
  variant: RowVariant;
}

function inputs({ rows, d, scale = 1 }: Pick<Case, 'rows' | 'd' | 'scale'>, seed: number) {
  const x = f32(randomArray(rows * d, seed).map((v, i) => scale * v * (1 + (i % 3))));
  const weight = f32(randomArray(d, seed + 1).map((v) => 1 + 0.5 * v));
  return { x, weight };
}

async function checkForward(c: Case, seed = 1) {
  const { device } = await testGpu();
  const { rows, d, eps } = c;
  const { x, weight } = inputs(c, seed);
  const y = createTensor(device, [rows, d]);
  const rstd = createTensor(device, [rows]);
  runDispatches(device, [
    rmsNormForward(device, { x: uploadTensor(device, x, [rows, d]), weight: uploadTensor(device, weight, [d]), y, rstd, rows, d, eps, variant: c.variant }),
  ]);
  const ref = rmsNormForwardRef({ x, weight, rows, d, eps });
  const label = `forward ${JSON.stringify(c)}`;
  expectClose(await readTensor(device, y), ref.y, FORWARD_TOL, `${label} y`);
  expectClose(await readTensor(device, rstd), ref.rstd, FORWARD_TOL, `${label} rstd`);
}

async function checkBackward(c: Case, options: { accumulateDx?: boolean; weightGrad?: boolean } = {}, seed = 5) {
  const { device } = await testGpu();
  const { rows, d, eps } = c;
  const { x, weight } = inputs(c, seed);
  // The GPU backward reads the forward's fp32 rstd: give both sides the same values.
  const rstd = f32(rmsNormForwardRef({ x, weight, rows, d, eps }).rstd);
  const dy = f32(randomArray(rows * d, seed + 3));
  const dx0 = f32(randomArray(rows * d, seed + 4));
  const weightGrad = options.weightGrad ?? true;
  const dx = uploadTensor(device, dx0, [rows, d]);
  const dWeight = weightGrad ? createTensor(device, [d]) : undefined;
  const dispatches = rmsNormBackward(device, {
    dy: uploadTensor(device, dy, [rows, d]), x: uploadTensor(device, x, [rows, d]), weight: uploadTensor(device, weight, [d]),
    rstd: uploadTensor(device, rstd, [rows]), dx, dWeight, rows, d, accumulateDx: options.accumulateDx, variant: c.variant,
  });
  expect(dispatches.length).toBe(weightGrad ? 2 : 1);
  runDispatches(device, dispatches);
  const ref = rmsNormBackwardRef({ dy, x, weight, rstd, rows, d, dx: dx0, accumulateDx: options.accumulateDx });
  const label = `backward ${JSON.stringify(c)} ${JSON.stringify(options)}`;
  expectClose(await readTensor(device, dx), ref.dx, DX_TOL, `${label} dx`);
  if (dWeight) expectClose(await readTensor(device, dWeight), ref.dWeight, WEIGHT_TOL, `${label} dWeight`);
}

describe.each(ROW_VARIANTS)('rmsNormForward (%s) matches its float64 reference', (variant) => {
  skipWithoutSubgroups(variant);
  it('on a single element', () => checkForward({ variant, rows: 1, d: 1, eps: 1e-6 }));
  it('on one row longer than the workgroup, not a multiple of it (Llama eps)', () => checkForward({ variant, rows: 1, d: 1025, eps: 1e-5 }));
  it('on several short rows (Qwen2 eps)', () => checkForward({ variant, rows: 7, d: 100, eps: 1e-6 }));
  it('on rows whose mean square is near eps, where eps shapes the result', () => checkForward({ variant, rows: 3, d: 60, eps: 1e-5, scale: 2e-3 }));
  it('on an all-zero row (y = 0, rstd = 1/sqrt(eps))', () => checkForward({ variant, rows: 2, d: 9, eps: 1e-6, scale: 0 }));
  it('past the grid cap of 1024 workgroups, where a workgroup takes several rows', () => checkForward({ variant, rows: MAX_ROW_WORKGROUPS + 3, d: 2, eps: 1e-5 }));
});

describe.each(ROW_VARIANTS)('rmsNormBackward (%s) matches its float64 reference', (variant) => {
  skipWithoutSubgroups(variant);
  it('on one row', () => checkBackward({ variant, rows: 1, d: 33, eps: 1e-6 }));
  it('past the grid cap of 1024 workgroups, without dWeight', () => checkBackward({ variant, rows: MAX_ROW_WORKGROUPS + 3, d: 3, eps: 1e-5 }, { weightGrad: false }));
  it('on rows longer than the workgroup, accumulating into dx', () => checkBackward({ variant, rows: 3, d: 1025, eps: 1e-5 }, { accumulateDx: true }));
  it('on more rows than the weight kernel has lanes, d not a multiple of its 32 columns', () => checkBackward({ variant, rows: 70, d: 45, eps: 1e-6 }));
});

describe('the rmsnorm reference', () => {
  it('has the gradients of its forward (central differences in float64)', () => {
    const rows = 3;
    const d = 7;
    const eps = 1e-5;
    const { x, weight } = inputs({ rows, d }, 9);
    const w = randomArray(rows * d, 10); // loss = Σ w·y, so dy = w
    const loss = (xs: Float64Array, g: Float64Array) => rmsNormForwardRef({ x: xs, weight: g, rows, d, eps }).y.reduce((s, v, i) => s + v * w[i], 0);
    const { rstd } = rmsNormForwardRef({ x, weight, rows, d, eps });
    const grads = rmsNormBackwardRef({ dy: w, x, weight, rstd, rows, d });
    const h = 1e-6;
    const numeric = (v: Float64Array, at: number, f: (p: Float64Array) => number) => {
      const plus = Float64Array.from(v);
      const minus = Float64Array.from(v);
      plus[at] += h;
      minus[at] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    };
    const fd = { atol: 1e-7, rtol: 1e-6 }; // central differences: O(h²) truncation, ~1e-10/h rounding
    expectClose(grads.dx, x.map((_, i) => numeric(x, i, (p) => loss(p, weight))), fd, 'dx');
    expectClose(grads.dWeight, weight.map((_, i) => numeric(weight, i, (p) => loss(x, p))), fd, 'dWeight');
  });
});
