import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { f32, randomArray } from '../test/compare.ts';
import { skipWithoutSubgroups, testGpu } from '../test/gpu.ts';
import { gradNorm } from './grad_norm.ts';
import { gradNorm as gradNormRef } from './grad_norm.ref.ts';

interface Case {
  /** Vector lengths, in buffer order. */
  lengths: number[];
  frozen: number[];
  maxNorm?: number;
  scale?: number;
}

const CASES: Case[] = [
  { lengths: [1], frozen: [0], maxNorm: 1 },
  { lengths: [255, 1, 3], frozen: [0, 1, 0], maxNorm: 0.5 },
  { lengths: [257], frozen: [0], maxNorm: 1e3 }, // below the threshold: factor exactly 1
  { lengths: [768, 768, 3072, 64, 70001], frozen: [0, 1, 0, 1, 0], maxNorm: 1, scale: 30 },
  { lengths: [700, 41], frozen: [0, 0] }, // no clipping: the norm is reported, the factor is 1
  { lengths: [300, 20], frozen: [1, 1], maxNorm: 1 }, // everything frozen: norm 0, factor 1
];

async function check(c: Case, variant: 'subgroup' | 'workgroup') {
  const { device } = await testGpu();
  const vectorIndex = c.lengths.flatMap((length, vector) => Array<number>(length).fill(vector));
  const grads = f32(randomArray(vectorIndex.length, c.lengths.length, c.scale ?? 1));
  const out = createTensor(device, [2]);
  runDispatches(device, [
    gradNorm(device, {
      grads: uploadTensor(device, grads, [grads.length]),
      vectorIndex: uploadTensor(device, vectorIndex, [vectorIndex.length], 'u32'),
      frozen: uploadTensor(device, c.frozen, [c.frozen.length], 'u32'),
      out,
      maxNorm: c.maxNorm,
      variant,
    }),
  ]);
  const [factor, norm] = await readTensor(device, out);
  const ref = gradNormRef({ grads, vectorIndex, frozen: c.frozen, maxNorm: c.maxNorm });
  // Each invocation adds ⌈n/256⌉ squares by fma, then an 8-level tree: the sum of squares errs by
  // at most (⌈n/256⌉ + 8)·2⁻²⁴ relative, the square root halves that, and its own rounding and
  // the factor's division add an ulp each.
  const rel = ((Math.ceil(grads.length / 256) + 8) / 2 + 2) * 2 ** -24;
  const label = `${variant} ${JSON.stringify(c)}`;
  expect(Math.abs(norm - ref.norm), `${label}: norm ${norm} against ${ref.norm}`).toBeLessThanOrEqual(rel * ref.norm);
  if (ref.factor === 1) expect(factor, `${label}: factor`).toBe(1);
  else expect(Math.abs(factor - ref.factor), `${label}: factor ${factor} against ${ref.factor}`).toBeLessThanOrEqual(2 * rel * ref.factor);
}

for (const variant of ['subgroup', 'workgroup'] as const) {
  describe(`gradNorm (${variant})`, () => {
    skipWithoutSubgroups(variant);
    it('matches its float64 reference: frozen vectors left out, clipped, unclipped and all-frozen buffers', async () => {
      for (const c of CASES) await check(c, variant);
    });
  });
}

it('refuses a norm to clip to that is not positive', async () => {
  const { device } = await testGpu();
  const t = (n: number, dtype: 'f32' | 'u32' = 'f32') => createTensor(device, [n], dtype);
  expect(() => gradNorm(device, { grads: t(4), vectorIndex: t(4, 'u32'), frozen: t(1, 'u32'), out: t(2), maxNorm: 0 })).toThrow('must be positive, not 0');
});
