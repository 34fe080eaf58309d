import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { strength } from './strength.ts';
import { strength as strengthRef } from './strength.ref.ts';

// Every term |v0 − v| is non-negative, so Σ|terms| is the result itself: fp32 rounds each
// difference once and the sum ≤ (⌈700/256⌉ + 8 tree levels) times, ≤ 12·2⁻²⁴ ≈ 7e-7 relative.
const TOL = { atol: 0, rtol: 1e-6 };

describe('strength', () => {
  it('matches its float64 reference on vectors of 1, 3, 300, 256, 0 and 700 elements', async () => {
    const { device } = await testGpu();
    const lengths = [1, 3, 300, 256, 0, 700];
    const offsets = lengths.reduce((acc, length) => [...acc, acc[acc.length - 1] + length], [0]);
    const count = offsets[offsets.length - 1];
    const initial = f32(randomArray(count, 1));
    // Trained vectors move a little from v0, each by its own amount, as in training.
    const vectorOf = lengths.flatMap((length, s) => Array<number>(length).fill(s));
    const delta = randomArray(count, 2, 1e-3);
    const params = f32(initial.map((x, i) => x + delta[i] * (1 + vectorOf[i])));
    const out = createTensor(device, [lengths.length]);
    runDispatches(device, [
      strength(device, {
        params: uploadTensor(device, params, [count]),
        initial: uploadTensor(device, initial, [count]),
        vectorOffsets: uploadTensor(device, offsets, [offsets.length], 'u32'),
        out,
      }),
    ]);
    const expected = strengthRef({ params, initial, vectorOffsets: offsets });
    expect(expected[4]).toBe(0);
    expect(Math.min(...expected.filter((_, s) => lengths[s] > 0))).toBeGreaterThan(1e-4);
    expectClose(await readTensor(device, out), expected, TOL, 'strength');
  });
});
