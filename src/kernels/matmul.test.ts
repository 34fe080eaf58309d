import { describe, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { blockMatmul, matmul, type MatmulShape } from './matmul.ts';
import { matmul as matmulRef } from './matmul.ref.ts';

// fp32 accumulation over k ≤ 200 terms of size ≤ 1: |error| stays below ~k·2⁻²⁴·Σ|ab| ≈ 1e-5·k/100.
const TOL = { atol: 2e-5, rtol: 1e-5 };

async function check(shape: MatmulShape, options: { bias?: boolean; kScale?: boolean } = {}, seed = 1) {
  const { device } = await testGpu();
  const batch = shape.batch ?? 1;
  const strideA = shape.strideA ?? shape.m * shape.k;
  const strideB = shape.strideB ?? shape.k * shape.n;
  const strideC = shape.strideC ?? shape.m * shape.n;
  const a = f32(randomArray(Math.max(1, (batch - 1) * strideA + shape.m * shape.k), seed));
  const b = f32(randomArray(Math.max(1, (batch - 1) * strideB + shape.k * shape.n), seed + 1));
  const c0 = f32(randomArray((batch - 1) * strideC + shape.m * shape.n, seed + 2));
  const bias = options.bias ? f32(randomArray(shape.n, seed + 3)) : undefined;
  const kScale = options.kScale ? f32(randomArray(shape.k, seed + 4, 2)) : undefined;
  const out = uploadTensor(device, c0, [c0.length]);
  runDispatches(device, [
    matmul(device, {
      ...shape,
      a: uploadTensor(device, a, [a.length]),
      b: uploadTensor(device, b, [b.length]),
      out,
      bias: bias && uploadTensor(device, bias, [bias.length]),
      kScale: kScale && uploadTensor(device, kScale, [kScale.length]),
    }),
  ]);
  const expected = matmulRef({ ...shape, a, b, out: c0, bias, kScale });
  // Entries outside the batch's C blocks (stride gaps) must be untouched: compare them too.
  if (!shape.accumulate) for (let i = 0; i < c0.length; i++) if (!isWritten(i, shape)) expected[i] = c0[i];
  expectClose(await readTensor(device, out), expected, TOL, `matmul ${JSON.stringify(shape)} ${JSON.stringify(options)}`);
}

function isWritten(index: number, shape: MatmulShape): boolean {
  const strideC = shape.strideC ?? shape.m * shape.n;
  return index % strideC < shape.m * shape.n && Math.floor(index / strideC) < (shape.batch ?? 1);
}

describe.each(['tiled', 'direct'] as const)('matmul (%s) matches its float64 reference', (variant) => {
  it('on a single element', () => check({ variant, m: 1, n: 1, k: 1 }));
  it('on shapes that are not multiples of the 64×64×16 tile', () => check({ variant, m: 65, n: 33, k: 17 }));
  it('with a long inner dimension', () => check({ variant, m: 7, n: 70, k: 200 }));
  it('with A transposed', () => check({ variant, m: 70, n: 5, k: 31, transA: true }));
  it('with B transposed', () => check({ variant, m: 3, n: 129, k: 40, transB: true }));
  it('with both transposed', () => check({ variant, m: 66, n: 67, k: 19, transA: true, transB: true }));
  it('batched, with gaps between the batch entries of C', () => check({ variant, m: 9, n: 11, k: 13, batch: 3, strideC: 9 * 11 + 5 }));
  it('batched with B broadcast (stride 0)', () => check({ variant, m: 17, n: 8, k: 5, batch: 4, strideB: 0 }));
  it('with alpha, bias and an inner-dimension scale', () => check({ variant, m: 33, n: 65, k: 21, alpha: 0.125, transB: true }, { bias: true, kScale: true }));
  it('accumulating into C', () => check({ variant, m: 20, n: 30, k: 10, accumulate: true }, { bias: true }));
  it('with k = 0 (C = bias)', async () => {
    const { device } = await testGpu();
    const out = createTensor(device, [2, 3]);
    const bias = uploadTensor(device, [1, 2, 3], [3]);
    runDispatches(device, [matmul(device, { variant, m: 2, n: 3, k: 0, a: createTensor(device, [0]), b: createTensor(device, [0]), out, bias })]);
    expectClose(await readTensor(device, out), [1, 2, 3, 1, 2, 3], { atol: 0, rtol: 0 }, 'k = 0');
  });
  it('blockMatmul with offsets: every operand starts past element 0, at no 64-element boundary', async () => {
    const { device } = await testGpu();
    const [m, n, k] = [5, 7, 3];
    const [offA, offB, offC] = [3, 11, 2];
    const a = f32(randomArray(offA + m * k, 1));
    const b = f32(randomArray(offB + k * n, 2));
    const c0 = f32(randomArray(offC + m * n + 4, 3));
    const out = uploadTensor(device, c0, [c0.length]);
    runDispatches(device, [blockMatmul(device, {
      label: 'offsets', variant, m, n, k, blocks: 1, heads: 1,
      a: [uploadTensor(device, a, [a.length]), { offset: offA, batchStride: 0, headStride: 0, ld: k }],
      b: [uploadTensor(device, b, [b.length]), { offset: offB, batchStride: 0, headStride: 0, ld: n }],
      out: [out, { offset: offC, batchStride: 0, headStride: 0, ld: n }],
    })]);
    const expected = Float64Array.from(c0);
    expected.set(matmulRef({ m, n, k, a: a.subarray(offA), b: b.subarray(offB) }), offC);
    expectClose(await readTensor(device, out), expected, TOL, 'offsets');
  });
});
