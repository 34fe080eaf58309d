import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor, type Tensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray, type Tolerance } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { columnDotSum, columnSum, factoredLinearBackward, factoredLinearForward, type FactoredLinearShape } from './factored_linear.ts';
import * as ref from './factored_linear.ref.ts';

const U = 2 ** -24;

// fp32 rounding bound for a chain of sums: each output is a sum over `terms` products in total
// (e.g. y: dIn for t, then r more), so |error| ≤ terms·2⁻²⁴·Σ|products| to first order, and
// Σ|products| is the same computation on |inputs| (the "magnitude" reference). A wrong index or
// a missing term errs by O(Σ|products|), ~10⁴ times more than this allows at these sizes.
function bound(terms: number, magnitude: Float64Array): Tolerance {
  return { atol: terms * U * Math.max(0, ...magnitude), rtol: 0 };
}

const abs = (a: Float64Array) => a.map(Math.abs);

function weights(shape: FactoredLinearShape, seed: number) {
  const { dIn, dOut, r } = shape;
  return {
    u: f32(randomArray(dOut * r, seed)),
    v: f32(randomArray(dIn * r, seed + 1)),
    // Singular values are non-negative: Σ in [0, 2).
    sigma: f32(randomArray(r, seed + 2).map((s) => 1 + s)),
  };
}

async function upload(data: Float64Array, shape: number[]): Promise<Tensor> {
  return uploadTensor((await testGpu()).device, data, shape);
}

async function checkForward(shape: FactoredLinearShape, withBias: boolean, seed = 1) {
  const { device } = await testGpu();
  const { n, dIn, dOut, r } = shape;
  const w = weights(shape, seed);
  const x = f32(randomArray(n * dIn, seed + 3));
  const bias = withBias ? f32(randomArray(dOut, seed + 4)) : undefined;
  const t = createTensor(device, [n, r]);
  const y = createTensor(device, [n, dOut]);
  runDispatches(
    device,
    factoredLinearForward(device, {
      ...shape,
      x: await upload(x, [n, dIn]),
      u: await upload(w.u, [dOut, r]),
      sigma: await upload(w.sigma, [r]),
      v: await upload(w.v, [dIn, r]),
      bias: bias && (await upload(bias, [dOut])),
      t,
      y,
    }),
  );
  const expected = ref.factoredLinearForward({ ...shape, ...w, x, bias });
  const magnitude = ref.factoredLinearForward({ ...shape, u: abs(w.u), v: abs(w.v), sigma: abs(w.sigma), x: abs(x), bias: bias && abs(bias) });
  const label = `forward ${JSON.stringify(shape)} bias=${withBias}`;
  expectClose(await readTensor(device, t), expected.t, bound(dIn, magnitude.t), `${label} t`);
  expectClose(await readTensor(device, y), expected.y, bound(dIn + r + 2, magnitude.y), `${label} y`);
}

interface BackwardOptions {
  dSigma?: boolean;
  dBias?: boolean;
  dx?: boolean;
  accumulateDx?: boolean;
  accumulateGrads?: boolean;
}

async function checkBackward(shape: FactoredLinearShape, options: BackwardOptions, seed = 11) {
  const { device } = await testGpu();
  const { n, dIn, dOut, r } = shape;
  const w = weights(shape, seed);
  const x = f32(randomArray(n * dIn, seed + 3));
  const g = f32(randomArray(n * dOut, seed + 4));
  const t = f32(ref.factoredLinearForward({ ...shape, ...w, x }).t);
  const dx0 = f32(randomArray(n * dIn, seed + 5));
  // Prior dΣ and db: overwritten, or added to with accumulateGrads.
  const dSigma0 = f32(randomArray(r, seed + 6));
  const dBias0 = f32(randomArray(dOut, seed + 7));
  const dSigma = options.dSigma ? await upload(dSigma0, [r]) : undefined;
  const dBias = options.dBias ? await upload(dBias0, [dOut]) : undefined;
  const dx = options.dx ? await upload(dx0, [n, dIn]) : undefined;
  runDispatches(
    device,
    factoredLinearBackward(device, {
      ...shape,
      g: await upload(g, [n, dOut]),
      t: await upload(t, [n, r]),
      u: await upload(w.u, [dOut, r]),
      sigma: await upload(w.sigma, [r]),
      v: await upload(w.v, [dIn, r]),
      h: createTensor(device, [n, r]),
      dSigma,
      dBias,
      dx,
      accumulateDx: options.accumulateDx,
      accumulateGrads: options.accumulateGrads,
    }),
  );
  const expected = ref.factoredLinearBackward({ ...shape, ...w, g, t });
  const magnitude = ref.factoredLinearBackward({ ...shape, u: abs(w.u), v: abs(w.v), sigma: abs(w.sigma), g: abs(g), t: abs(t) });
  const label = `backward ${JSON.stringify(shape)} ${JSON.stringify(options)}`;
  const prior = (x: Float64Array, x0: ArrayLike<number>, absolute: boolean) => (options.accumulateGrads ? x.map((d, i) => d + (absolute ? Math.abs(x0[i]) : x0[i])) : x);
  if (dSigma) expectClose(await readTensor(device, dSigma), prior(expected.dSigma, dSigma0, false), bound(dOut + n + 3, prior(magnitude.dSigma, dSigma0, true)), `${label} dSigma`);
  if (dBias) expectClose(await readTensor(device, dBias), prior(expected.dBias, dBias0, false), bound(n + 2, prior(magnitude.dBias, dBias0, true)), `${label} dBias`);
  if (dx) {
    const expectedDx = options.accumulateDx ? expected.dx.map((d, i) => d + dx0[i]) : expected.dx;
    const magnitudeDx = options.accumulateDx ? magnitude.dx.map((d, i) => d + Math.abs(dx0[i])) : magnitude.dx;
    expectClose(await readTensor(device, dx), expectedDx, bound(dOut + r + 3, magnitudeDx), `${label} dx`);
  }
}

const ALL = { dSigma: true, dBias: true, dx: true };

describe('factoredLinearForward matches its float64 reference', () => {
  it('on one token, dIn > dOut (r = dOut = 45)', () => checkForward({ n: 1, dIn: 70, dOut: 45, r: 45 }, false));
  it('on 37 tokens, dIn < dOut (r = dIn = 50), with a bias', () => checkForward({ n: 37, dIn: 50, dOut: 70, r: 50 }, true));
  it('across several 64×64×16 tiles in every dimension (r = 100)', () => checkForward({ n: 70, dIn: 130, dOut: 100, r: 100 }, true));
});

describe('factoredLinearBackward matches its float64 reference', () => {
  it('on one token, dIn > dOut', () => checkBackward({ n: 1, dIn: 70, dOut: 45, r: 45 }, ALL));
  it('on 37 tokens, dIn < dOut', () => checkBackward({ n: 37, dIn: 50, dOut: 70, r: 50 }, ALL));
  it('over more tokens than one reduction chunk (300 > 256)', () => checkBackward({ n: 300, dIn: 20, dOut: 33, r: 20 }, ALL));
  it('adding into an existing dx, with Σ and b frozen', () => checkBackward({ n: 37, dIn: 29, dOut: 18, r: 18 }, { dx: true, accumulateDx: true }));
  it('with only dΣ and db (the input needs no gradient)', () => checkBackward({ n: 5, dIn: 17, dOut: 40, r: 17 }, { dSigma: true, dBias: true }));
  it('adding dΣ and db into what they hold, over one chunk and over several', async () => {
    await checkBackward({ n: 9, dIn: 17, dOut: 40, r: 17 }, { dSigma: true, dBias: true, accumulateGrads: true });
    await checkBackward({ n: 300, dIn: 20, dOut: 33, r: 20 }, { ...ALL, accumulateGrads: true });
  });
});

async function checkColumnSums(rows: number, cols: number, seed: number) {
  const { device } = await testGpu();
  const a = f32(randomArray(rows * cols, seed));
  const b = f32(randomArray(rows * cols, seed + 1));
  const out0 = f32(randomArray(cols, seed + 2));
  const aT = await upload(a, [rows, cols]);
  const sum = createTensor(device, [cols]);
  const summedInto = await upload(out0, [cols]);
  const dot = await upload(out0, [cols]); // prior contents must be overwritten
  const dotInto = await upload(out0, [cols]);
  runDispatches(device, [
    ...columnDotSum(device, { a: aT, b: await upload(b, [rows, cols]), out: dotInto, rows, cols, accumulate: true }),
    ...columnSum(device, { x: aT, out: sum, rows, cols }),
    ...columnSum(device, { x: aT, out: summedInto, rows, cols, accumulate: true }),
    ...columnDotSum(device, { a: aT, b: await upload(b, [rows, cols]), out: dot, rows, cols }),
  ]);
  // Sums of ≤ 513 terms of size ≤ 1 (plus the prior value): first-order bound (rows + 1)·2⁻²⁴·Σ|terms|.
  const sumTol = bound(rows + 2, ref.columnSum({ x: abs(a), rows, cols, out: abs(out0) }));
  const label = `${rows}×${cols}`;
  expectClose(await readTensor(device, sum), ref.columnSum({ x: a, rows, cols }), sumTol, `columnSum ${label}`);
  expectClose(await readTensor(device, summedInto), ref.columnSum({ x: a, rows, cols, out: out0 }), sumTol, `columnSum accumulate ${label}`);
  const dotTol = bound(rows + 2, ref.columnDotSum({ a: abs(a), b: abs(b), rows, cols }));
  expectClose(await readTensor(device, dot), ref.columnDotSum({ a, b, rows, cols }), dotTol, `columnDotSum ${label}`);
  const dotIntoTol = bound(rows + 2, ref.columnDotSum({ a: abs(a), b: abs(b), rows, cols, out: abs(out0) }));
  expectClose(await readTensor(device, dotInto), ref.columnDotSum({ a, b, rows, cols, out: out0 }), dotIntoTol, `columnDotSum accumulate ${label}`);
}

describe('columnSum and columnDotSum match their float64 references', () => {
  it('on zero rows (sums are 0, or the prior value when accumulating)', () => checkColumnSums(0, 5, 21));
  it('on one row and one column', () => checkColumnSums(1, 1, 22));
  it('on exactly one 256-row chunk', () => checkColumnSums(256, 70, 23));
  it('on three chunks, the last holding one row, over 130 columns', () => checkColumnSums(513, 130, 24));
});

describe('the float64 reference backward', () => {
  // y is linear in each of Σ, b and x separately, so central differences are exact up to
  // rounding: ~1e-16·|L|/h ≈ 1e-12 here. Agreement to 1e-9 rules out any index or transpose slip.
  function checkFiniteDifferences(shape: FactoredLinearShape) {
    const { n, dIn, dOut } = shape;
    const w = weights(shape, 31);
    const x = randomArray(n * dIn, 34);
    const bias = randomArray(dOut, 35);
    const g = randomArray(n * dOut, 36);
    const loss = (p: { x: Float64Array; sigma: Float64Array; bias: Float64Array }) =>
      ref.factoredLinearForward({ ...shape, ...w, ...p }).y.reduce((s, yi, i) => s + yi * g[i], 0);
    const grads = ref.factoredLinearBackward({ ...shape, ...w, g, t: ref.factoredLinearForward({ ...shape, ...w, x }).t });
    const step = 1e-3;
    const fd = (name: 'x' | 'sigma' | 'bias', base: Float64Array) =>
      base.map((_, i) => {
        const plus = Float64Array.from(base);
        const minus = Float64Array.from(base);
        plus[i] += step;
        minus[i] -= step;
        const at = (value: Float64Array) => loss({ x, sigma: w.sigma, bias, [name]: value });
        return (at(plus) - at(minus)) / (2 * step);
      });
    const tol = { atol: 1e-9, rtol: 1e-9 };
    expectClose(grads.dSigma, fd('sigma', w.sigma), tol, 'dSigma');
    expectClose(grads.dBias, fd('bias', bias), tol, 'dBias');
    expectClose(grads.dx, fd('x', x), tol, 'dx');
    expect(grads.dSigma.some((d) => Math.abs(d) > 0.1)).toBe(true);
  }
  it('matches central finite differences of the forward when dIn > dOut', () => checkFiniteDifferences({ n: 3, dIn: 6, dOut: 4, r: 4 }));
  it('matches central finite differences of the forward when dIn < dOut', () => checkFiniteDifferences({ n: 2, dIn: 4, dOut: 7, r: 4 }));
});
