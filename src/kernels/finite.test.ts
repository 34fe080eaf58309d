import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensorU32 } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { finite, firstNonFinite } from './finite.ts';
import { finite as finiteRef } from './finite.ref.ts';

// Finiteness is exact: the GPU's first bad index must equal the reference's (tolerance 0).
const F32_MAX = 3.4028234663852886e38;

/** Runs one check per case in one submission (each into its own slot) and decodes the slots. */
async function gpuFirstBad(cases: Float32Array[]): Promise<number[]> {
  const { device } = await testGpu();
  const out = createTensor(device, [cases.length], 'u32');
  runDispatches(
    device,
    cases.map((data, slot) => finite(device, { input: uploadTensor(device, data, [data.length]), out, slot })),
  );
  return Array.from(await readTensorU32(device, out), firstNonFinite);
}

describe('finite', () => {
  it('finds the first NaN or ±Inf as its reference does, on odd lengths, several bad elements and huge finite values', async () => {
    const cases: Float32Array[] = [];
    const poke = (length: number, bad: [number, number][]) => {
      const data = Float32Array.from(randomArray(length, cases.length + 1, 1e3));
      for (const [i, value] of bad) data[i] = value;
      cases.push(data);
    };
    poke(1, []);
    poke(1, [[0, NaN]]);
    poke(3, [[2, Infinity]]);
    poke(257, [[256, -Infinity]]);
    poke(1000, []);
    // Large but finite: the largest f32, its negative, the smallest subnormal, −0.
    poke(77, [[0, F32_MAX], [5, -F32_MAX], [9, 1.4e-45], [11, -0]]);
    // Several bad elements in different workgroups and threads: the first one wins.
    poke(70_001, [[69_999, NaN], [40_123, Infinity], [40_124, NaN], [65_536, -Infinity]]);
    poke(70_001, [[3, NaN], [2, -Infinity]]);
    // Past one grid stride (256 workgroups × 256 threads = 65,536): only the tail is bad.
    poke(200_003, [[200_002, NaN], [131_073, Infinity]]);
    // A NaN with a payload and the sign bit set is still NaN.
    const payload = new Float32Array(new Uint32Array([0xffc00001]).buffer)[0];
    poke(33, [[31, payload]]);
    const expected = cases.map(finiteRef);
    expect(expected).toEqual([-1, 0, 2, 256, -1, -1, 40_123, 2, 131_073, 31]);
    expect(await gpuFirstBad(cases)).toEqual(expected);
  });

  it('leaves other slots of the result alone', async () => {
    const bad = Float32Array.of(1, 2, NaN);
    const good = Float32Array.of(1, 2, 3);
    expect(await gpuFirstBad([good, bad, good])).toEqual([-1, 2, -1]);
  });
});
