import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray, type Tolerance } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { factoredLinearBackward, factoredLinearForward, type FactoredLinearShape } from './factored_linear.ts';
import * as factoredRef from './factored_linear.ref.ts';
import { chooseLinearForm, recomposedLinearBackward, recomposedLinearForward, sigmaGradDense } from './linear_forms.ts';
import * as ref from './linear_forms.ref.ts';

const U = 2 ** -24;
const abs = (a: Float64Array) => a.map(Math.abs);

// First-order fp32 bound for outputs that are chains of `terms` sums of products whose absolute
// values sum to at most `magnitude` (the same computation on |inputs|); see factored_linear.test.
function bound(terms: number, magnitude: Float64Array): Tolerance {
  return { atol: terms * U * Math.max(0, ...magnitude), rtol: 0 };
}
const sum = (a: Tolerance, b: Tolerance): Tolerance => ({ atol: a.atol + b.atol, rtol: 0 });

describe('chooseLinearForm (DESIGN.md: factored 4·N·r·(dIn + dOut) against recomposed)', () => {
  it('counts the FLOPs of both forms exactly', () => {
    // dIn 2, dOut 4, 3 tokens, r 2: factored 4·3·2·6 + 2·3·2 = 156; recomposed W' 2·4·2·2 = 32,
    // y + dx 4·3·2·4 = 96, dΣ 2·3·4·2 + 32 + 2·4·2 = 96: 224.
    expect(chooseLinearForm(2, 4, 3)).toEqual({ form: 'factored', factoredFlops: 156, recomposedFlops: 224 });
    // Without dΣ: 144 against 128.
    expect(chooseLinearForm(2, 4, 3, false)).toEqual({ form: 'recomposed', factoredFlops: 144, recomposedFlops: 128 });
  });

  it("picks BERT-base's forms at batch 32 × 128: recomposed q, k, v, o; factored f1, f2", () => {
    const tokens = 32 * 128;
    const square = chooseLinearForm(768, 768, tokens);
    expect(square.form).toBe('recomposed');
    expect(square.factoredFlops / (tokens * 768 * 768)).toBeCloseTo(8, 2); // 8Nd²
    expect(chooseLinearForm(768, 3072, tokens).form).toBe('factored');
    expect(chooseLinearForm(3072, 768, tokens).form).toBe('factored');
    expect(chooseLinearForm(3072, 768, tokens).factoredFlops / (tokens * 768 * 768)).toBeCloseTo(20, 1); // 20Nd²
  });

  it('keeps the factored form for few tokens, where recomposing (2d³ per step) dominates', () => {
    expect(chooseLinearForm(768, 768, 128).form).toBe('factored');
  });

  it('recomposes the MLP matrices too once their Σ is frozen (no gᵀx, no projection)', () => {
    expect(chooseLinearForm(768, 3072, 4096, false).form).toBe('recomposed');
  });

  it('refuses sizes that are not positive integers, naming the argument', () => {
    expect(() => chooseLinearForm(0, 4, 3)).toThrow(/dIn = 0/);
    expect(() => chooseLinearForm(4, 4, 2.5)).toThrow(/tokens = 2.5/);
  });
});

describe('the float64 references', () => {
  it("give the factored reference's dΣ through the dense weight gradient", () => {
    const shape = { n: 6, dIn: 5, dOut: 7, r: 5 };
    const u = randomArray(7 * 5, 1);
    const v = randomArray(5 * 5, 2);
    const sigma = randomArray(5, 3);
    const x = randomArray(6 * 5, 4);
    const g = randomArray(6 * 7, 5);
    const { t } = factoredRef.factoredLinearForward({ ...shape, u, v, sigma, x });
    const expected = factoredRef.factoredLinearBackward({ ...shape, u, v, sigma, g, t }).dSigma;
    expectClose(ref.sigmaGradDense({ ...shape, g, x, u, v }), expected, { atol: 1e-12, rtol: 1e-12 }, 'dΣ');
    // and y = x·W'ᵀ with W' recomposed equals the factored y.
    const w = ref.recompose({ ...shape, u, sigma, v });
    const y = factoredRef.factoredLinearForward({ ...shape, u, v, sigma, x }).y;
    for (let i = 0; i < 6; i++) {
      for (let o = 0; o < 7; o++) {
        let s = 0;
        for (let k = 0; k < 5; k++) s += x[i * 5 + k] * w[o * 5 + k];
        expect(Math.abs(s - y[i * 7 + o])).toBeLessThan(1e-12);
      }
    }
  });
});

// Awkward shapes: not multiples of any tile, one token, wide and tall, more tokens than one
// 256-row reduction chunk.
const SHAPES: FactoredLinearShape[] = [
  { n: 1, dIn: 70, dOut: 45, r: 45 },
  { n: 37, dIn: 45, dOut: 45, r: 45 },
  { n: 300, dIn: 20, dOut: 33, r: 20 },
];

function inputs(shape: FactoredLinearShape, seed: number) {
  const { n, dIn, dOut, r } = shape;
  return {
    u: f32(randomArray(dOut * r, seed)),
    v: f32(randomArray(dIn * r, seed + 1)),
    sigma: f32(randomArray(r, seed + 2).map((s) => 1 + s)),
    bias: f32(randomArray(dOut, seed + 3)),
    x: f32(randomArray(n * dIn, seed + 4)),
    g: f32(randomArray(n * dOut, seed + 5)),
  };
}

/** Both forms' forward + full backward on the GPU, and the frozen backward of each. */
async function runBothForms(shape: FactoredLinearShape, seed: number) {
  const { device } = await testGpu();
  const { n, dIn, dOut, r } = shape;
  const data = inputs(shape, seed);
  const up = (a: Float64Array, s: number[]) => uploadTensor(device, a, s);
  const x = up(data.x, [n, dIn]);
  const u = up(data.u, [dOut, r]);
  const v = up(data.v, [dIn, r]);
  const sigma = up(data.sigma, [r]);
  const bias = up(data.bias, [dOut]);
  const g = up(data.g, [n, dOut]);
  const outputs = () => ({ y: createTensor(device, [n, dOut]), dx: createTensor(device, [n, dIn]), dSigma: createTensor(device, [r]), dBias: createTensor(device, [dOut]) });
  const read = async (o: ReturnType<typeof outputs>) => ({
    y: await readTensor(device, o.y), dx: await readTensor(device, o.dx), dSigma: await readTensor(device, o.dSigma), dBias: await readTensor(device, o.dBias),
  });

  const f = outputs();
  const t = createTensor(device, [n, r]);
  const h = createTensor(device, [n, r]);
  runDispatches(device, [
    ...factoredLinearForward(device, { ...shape, x, u, sigma, v, bias, t, y: f.y }),
    ...factoredLinearBackward(device, { ...shape, g, t, u, sigma, v, h, dSigma: f.dSigma, dBias: f.dBias, dx: f.dx }),
  ]);
  const c = outputs();
  const w = createTensor(device, [dOut, dIn]);
  const gradW = createTensor(device, [dOut, dIn]);
  const projected = createTensor(device, [dOut, r]);
  runDispatches(device, [
    ...recomposedLinearForward(device, { ...shape, x, u, sigma, v, bias, w, y: c.y }),
    ...recomposedLinearBackward(device, { ...shape, g, x, u, v, w, gradW, projected, dSigma: c.dSigma, dBias: c.dBias, dx: c.dx }),
  ]);

  // Frozen module: the same backward builders with `frozen`; dΣ and db hold a sentinel that must survive.
  const sentinel = (len: number) => Float32Array.from({ length: len }, (_, i) => 1000 + i);
  const frozen = async (build: (o: { dSigma: ReturnType<typeof createTensor>; dBias: ReturnType<typeof createTensor>; dx: ReturnType<typeof createTensor> }) => ReturnType<typeof factoredLinearBackward>) => {
    const o = { dSigma: uploadTensor(device, sentinel(r), [r]), dBias: uploadTensor(device, sentinel(dOut), [dOut]), dx: createTensor(device, [n, dIn]) };
    const dispatches = build(o);
    runDispatches(device, dispatches);
    return { count: dispatches.length, dx: await readTensor(device, o.dx), dSigma: await readTensor(device, o.dSigma), dBias: await readTensor(device, o.dBias) };
  };
  const factoredFrozen = await frozen((o) => factoredLinearBackward(device, { ...shape, g, t, u, sigma, v, h, ...o, frozen: true }));
  const recomposedFrozen = await frozen((o) => recomposedLinearBackward(device, { ...shape, g, x, u, v, w, gradW, projected, ...o, frozen: true }));
  const counts = {
    factored: factoredLinearBackward(device, { ...shape, g, t, u, sigma, v, h, dSigma: f.dSigma, dBias: f.dBias, dx: f.dx }).length,
    recomposed: recomposedLinearBackward(device, { ...shape, g, x, u, v, w, gradW, projected, dSigma: c.dSigma, dBias: c.dBias, dx: c.dx }).length,
  };
  return { data, factored: await read(f), recomposed: await read(c), w: await readTensor(device, w), factoredFrozen, recomposedFrozen, counts, sentinel };
}

describe('recomposed-dense form on the GPU', () => {
  for (const shape of SHAPES) {
    const label = JSON.stringify(shape);
    it(`matches the float64 references and the factored form (y, dx, dΣ, db) on ${label}`, async () => {
      const { n, dIn, dOut, r } = shape;
      const { data, factored, recomposed, w } = await runBothForms(shape, 40 + n);
      const { u, v, sigma, bias, x, g } = data;
      const mags = { u: abs(u), v: abs(v), sigma: abs(sigma), bias: abs(bias), x: abs(x), g: abs(g) };

      // recompose against its reference.
      const wMag = ref.recompose({ ...shape, ...mags });
      expectClose(w, ref.recompose({ ...shape, u, sigma, v }), bound(r + 1, wMag), `${label} recompose`);

      // The recomposed form against the float64 factored references (the same function).
      const fwd = factoredRef.factoredLinearForward({ ...shape, u, v, sigma, x, bias });
      const bwd = factoredRef.factoredLinearBackward({ ...shape, u, v, sigma, g, t: fwd.t });
      const fwdMag = factoredRef.factoredLinearForward({ ...shape, ...mags });
      const bwdMag = factoredRef.factoredLinearBackward({ ...shape, ...mags, t: fwdMag.t });
      const denseTol = {
        y: bound(r + dIn + 3, fwdMag.y),
        dx: bound(r + dOut + 2, bwdMag.dx),
        dSigma: bound(n + dIn + dOut + 1, ref.sigmaGradDense({ ...shape, ...mags })),
        dBias: bound(n + 1, bwdMag.dBias),
      };
      expectClose(recomposed.y, fwd.y, denseTol.y, `${label} recomposed y`);
      expectClose(recomposed.dx, bwd.dx, denseTol.dx, `${label} recomposed dx`);
      expectClose(recomposed.dSigma, ref.sigmaGradDense({ ...shape, g, x, u, v }), denseTol.dSigma, `${label} recomposed dΣ`);
      expectClose(recomposed.dBias, bwd.dBias, denseTol.dBias, `${label} recomposed db`);

      // Both ways on the same inputs: each within its own fp32 bound of the truth, so within
      // the sum of the two bounds of each other (factored bounds as in factored_linear.test).
      const factoredTol = {
        y: bound(dIn + r + 2, fwdMag.y),
        dx: bound(dOut + r + 3, bwdMag.dx),
        dSigma: bound(dOut + n + 2, bwdMag.dSigma),
        dBias: bound(n + 1, bwdMag.dBias),
      };
      for (const key of ['y', 'dx', 'dSigma', 'dBias'] as const) {
        expectClose(recomposed[key], factored[key], sum(denseTol[key], factoredTol[key]), `${label} recomposed vs factored ${key}`);
      }
      expect(Math.max(...abs(Float64Array.from(recomposed.dSigma)))).toBeGreaterThan(0.1); // not vacuous
    });
  }

  it('computes dΣ = diag(Uᵀ·(gᵀx)·V) alone on a wide module (r = dOut)', async () => {
    const { device } = await testGpu();
    const shape = { n: 9, dIn: 70, dOut: 13, r: 13 };
    const { u, v, x, g } = inputs(shape, 60);
    const dSigma = createTensor(device, [13]);
    runDispatches(device, sigmaGradDense(device, {
      ...shape,
      g: uploadTensor(device, g, [9, 13]),
      x: uploadTensor(device, x, [9, 70]),
      u: uploadTensor(device, u, [13, 13]),
      v: uploadTensor(device, v, [70, 13]),
      gradW: createTensor(device, [13, 70]),
      projected: createTensor(device, [13, 13]),
      dSigma,
    }));
    const mag = ref.sigmaGradDense({ ...shape, g: abs(g), x: abs(x), u: abs(u), v: abs(v) });
    expectClose(await readTensor(device, dSigma), ref.sigmaGradDense({ ...shape, g, x, u, v }), bound(9 + 70 + 13 + 1, mag), 'dΣ');
  });
});

describe('frozen-module skip (Σ and bias both frozen by AVF)', () => {
  for (const shape of [SHAPES[1], SHAPES[2]]) {
    it(`leaves dΣ and db untouched, gives the same dx and runs fewer dispatches, both forms, ${JSON.stringify(shape)}`, async () => {
      const { factored, recomposed, factoredFrozen, recomposedFrozen, counts, sentinel } = await runBothForms(shape, 80 + shape.n);
      for (const [name, full, skip, count] of [
        ['factored', factored, factoredFrozen, counts.factored],
        ['recomposed', recomposed, recomposedFrozen, counts.recomposed],
      ] as const) {
        // The same dx dispatch on the same inputs: equal to the bit.
        expect(Array.from(skip.dx), `${name} dx`).toEqual(Array.from(full.dx));
        expect(Array.from(skip.dSigma), `${name} dΣ untouched`).toEqual(Array.from(sentinel(shape.r)));
        expect(Array.from(skip.dBias), `${name} db untouched`).toEqual(Array.from(sentinel(shape.dOut)));
        expect(skip.count, `${name} dispatches`).toBeLessThan(count);
      }
    });
  }
});
