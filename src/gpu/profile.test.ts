import { describe, expect, it } from 'vitest';
import { matmul } from '../kernels/matmul.ts';
import { testGpu } from '../test/gpu.ts';
import { readTensor } from './readback.ts';
import { createTensor, uploadTensor } from './tensor.ts';
import { dispatchKind, profilePlan } from './profile.ts';
import { planGpuSeconds } from './timing.ts';

describe('dispatchKind', () => {
  it('drops the sizes and the kernel from a label', () => {
    expect(dispatchKind('attention dq 12×4×10×8×10')).toBe('attention dq');
    expect(dispatchKind('matmul 1×32×32×32 · tiled 64x64x16/4x4')).toBe('matmul');
    expect(dispatchKind('layernorm backward dx 120×32')).toBe('layernorm backward dx');
    expect(dispatchKind('attention softmax')).toBe('attention softmax');
    expect(dispatchKind('adamw 20672 elements')).toBe('adamw');
  });
});

it('profiles a plan dispatch by dispatch, summed by kind, with the products’ flops, running it as a step does', async () => {
  const gpu = await testGpu();
  const { device } = gpu;
  const a = uploadTensor(device, [1, 2, 3, 4], [2, 2]);
  const c = uploadTensor(device, [9, 9, 9, 9], [2, 2]);
  const d = createTensor(device, [2, 2]);
  // c is cleared, then accumulated into: only a plan run in order (clear first) gives a·a.
  const ops = [
    { clear: c },
    matmul(device, { m: 2, n: 2, k: 2, a, b: a, out: c, accumulate: true, variant: 'direct' }),
    matmul(device, { m: 2, n: 2, k: 2, a: c, b: a, out: d, variant: 'direct' }),
    matmul(device, { m: 1, n: 2, k: 2, a, b: a, out: d, variant: 'direct' }),
  ];
  const profile = await profilePlan(gpu, ops);
  expect(Array.from(await readTensor(device, c))).toEqual([7, 10, 15, 22]);
  expect(profile.kinds).toEqual([expect.objectContaining({ kind: 'matmul', dispatches: 3, flops: 2 * 8 + 2 * 8 + 2 * 4 })]);
  expect(profile.products.map((p) => [p.kind, p.dispatches])).toEqual(expect.arrayContaining([['matmul 1×2×2×2 · direct', 2], ['matmul 1×1×2×2 · direct', 1]]));
  expect(profile.seconds).toBeGreaterThan(0);
  expect(profile.seconds).toBeCloseTo(profile.kinds[0].seconds, 12);
});

it('times a whole plan on the GPU across its passes, clears between them, and runs it as a step does', async () => {
  const gpu = await testGpu();
  const { device } = gpu;
  const a = uploadTensor(device, [1, 2, 3, 4], [2, 2]);
  const c = uploadTensor(device, [9, 9, 9, 9], [2, 2]);
  const d = uploadTensor(device, [5, 5, 5, 5], [2, 2]);
  // Three passes (split by the clears): d = (a·a)·a only if every pass ran, in order.
  const ops = [
    { clear: c },
    matmul(device, { m: 2, n: 2, k: 2, a, b: a, out: c, accumulate: true, variant: 'direct' }),
    { clear: d },
    matmul(device, { m: 2, n: 2, k: 2, a: c, b: a, out: d, accumulate: true, variant: 'direct' }),
  ];
  const seconds = await planGpuSeconds(gpu, ops);
  expect(Array.from(await readTensor(device, d))).toEqual([37, 54, 81, 118]);
  // SwiftShader writes real timestamps (Dawn's quantization is off in Node).
  expect(seconds).toBeGreaterThan(0);
});
