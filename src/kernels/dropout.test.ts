import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { dropoutBackward, dropoutForward } from './dropout.ts';
import { dropoutBackward as dropoutBackwardRef, dropoutForward as dropoutForwardRef } from './dropout.ref.ts';
import { dropoutKeep } from './rng.ref.ts';

// Kept values are x·f32(1/(1−p)): two fp32 roundings against the exact x/(1−p).
const TOL = { atol: 0, rtol: 2.5e-7 };

/** Inputs bounded away from 0, so a zero output means exactly "dropped". */
function nonZero(n: number, seed: number): Float64Array {
  return f32(randomArray(n, seed).map((v) => (v < 0 ? v - 0.5 : v + 0.5)));
}

async function seedTensor(seed: number): Promise<Tensor> {
  const { device } = await testGpu();
  return uploadTensor(device, [seed], [1], 'u32');
}

async function forward(x: Float64Array, p: number, seedBuffer: Tensor, stream: number): Promise<Float32Array> {
  const { device } = await testGpu();
  const out = createTensor(device, [x.length]);
  runDispatches(device, [dropoutForward(device, { x: uploadTensor(device, x, [x.length]), out, n: x.length, p, seedBuffer, stream })]);
  return readTensor(device, out);
}

function expectMask(out: ArrayLike<number>, seed: number, stream: number, p: number, label: string) {
  for (let i = 0; i < out.length; i++) {
    if ((out[i] !== 0) !== dropoutKeep(seed, stream, i, p)) expect.fail(`${label}: element ${i} is ${out[i]}, mask disagrees with the TS RNG`);
  }
}

describe('dropout', () => {
  for (const [n, p, seed, stream] of [[1, 0.5, 3, 0], [1000, 0.1, 12345, 7], [4097, 0.9, 0xffffffff, 0xfffffffe]] as const) {
    it(`forward draws the TS reference's mask bit for bit and matches its values (n ${n}, p ${p})`, async () => {
      const x = nonZero(n, seed);
      const out = await forward(x, p, await seedTensor(seed), stream);
      expectMask(out, seed, stream, p, 'forward');
      expectClose(out, dropoutForwardRef({ x, n, p, seed, stream }), TOL, 'forward');
    });
  }

  it('keeps a fraction 1 − p of 100k elements', async () => {
    const n = 100_000;
    const x = new Float64Array(n).fill(1);
    for (const p of [0.1, 0.5]) {
      const kept = (await forward(x, p, await seedTensor(99), 4)).reduce((c, v) => c + (v !== 0 ? 1 : 0), 0);
      // 5 standard deviations of a binomial(n, 1 − p) count.
      expect(Math.abs(kept - n * (1 - p)), `p ${p}`).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)));
    }
  });

  it('keeps everything at p = 0 and drops everything at p = 1', async () => {
    const x = nonZero(300, 5);
    expectClose(await forward(x, 0, await seedTensor(1), 0), x, { atol: 0, rtol: 0 }, 'p = 0');
    expectClose(await forward(x, 1, await seedTensor(1), 0), new Float64Array(300), { atol: 0, rtol: 0 }, 'p = 1');
  });

  it('backward regenerates the forward mask and accumulates into dx', async () => {
    const { device } = await testGpu();
    const n = 777;
    const p = 0.3;
    const stream = 11;
    const seedBuffer = await seedTensor(2024);
    const dy = nonZero(n, 8);
    const dx0 = f32(randomArray(n, 9));
    const forwardOut = await forward(nonZero(n, 10), p, seedBuffer, stream);
    for (const accumulate of [false, true]) {
      const dx = uploadTensor(device, dx0, [n]);
      runDispatches(device, [dropoutBackward(device, { dy: uploadTensor(device, dy, [n]), dx, n, p, seedBuffer, stream, accumulate })]);
      const got = await readTensor(device, dx);
      if (!accumulate) expectMask(got, 2024, stream, p, 'backward');
      if (!accumulate) for (let i = 0; i < n; i++) expect(got[i] !== 0, `element ${i}`).toBe(forwardOut[i] !== 0);
      // Accumulated sums round once more, against values up to 1.5/(1 − p) + 1.
      const tol = accumulate ? { atol: 4e-7, rtol: 2.5e-7 } : TOL;
      expectClose(got, dropoutBackwardRef({ dy, dx: dx0, n, p, seed: 2024, stream, accumulate }), tol, `backward accumulate=${accumulate}`);
    }
  });

  it('draws a new mask when the seed buffer is rewritten, and the old one again when it is restored', async () => {
    const { device } = await testGpu();
    const x = nonZero(2000, 12);
    const seedBuffer = await seedTensor(1);
    const first = await forward(x, 0.5, seedBuffer, 0);
    writeTensor(device, seedBuffer, [2]);
    const second = await forward(x, 0.5, seedBuffer, 0);
    expectMask(second, 2, 0, 0.5, 'seed 2');
    expect(second.some((v, i) => (v !== 0) !== (first[i] !== 0))).toBe(true);
    writeTensor(device, seedBuffer, [1]);
    expect(Array.from(await forward(x, 0.5, seedBuffer, 0))).toEqual(Array.from(first));
  });

  it('draws different masks for different streams of the same seed', async () => {
    const x = nonZero(2000, 13);
    const seedBuffer = await seedTensor(77);
    const a = await forward(x, 0.5, seedBuffer, 0);
    const b = await forward(x, 0.5, seedBuffer, 1);
    const same = a.reduce((c, v, i) => c + ((v !== 0) === (b[i] !== 0) ? 1 : 0), 0);
    // Independent masks agree on about half the elements (sd ≈ 22).
    expect(Math.abs(same - 1000)).toBeLessThan(120);
  });
});
