// A plan's own buffers are collected while it is built, and only those: what exists before
// (the shared placeholder) or is created after stays out, and the device is left as it was.
import { expect, it } from 'vitest';
import { testGpu } from '../test/gpu.ts';
import { matmul } from '../kernels/matmul.ts';
import { collectPlanBuffers } from './plan-buffers.ts';
import { createTensor, placeholder } from './tensor.ts';

it('collects the buffers a plan builder creates, and no others', async () => {
  const { device } = await testGpu();
  const a = createTensor(device, [3, 5]);
  const b = createTensor(device, [5, 2]);
  const out = createTensor(device, [3, 2]);
  const { value, buffers } = collectPlanBuffers(device, () => ({ dispatch: matmul(device, { m: 3, n: 2, k: 5, a, b, out }), partials: createTensor(device, [4], 'f32', 'partials') }));
  expect(value.dispatch.label).toBeTruthy();
  expect(buffers).toContain(value.partials.buffer);
  // The matmul's uniforms, and the partials; never the inputs nor the shared placeholder.
  expect(buffers.length).toBeGreaterThanOrEqual(2);
  for (const shared of [a.buffer, b.buffer, out.buffer, placeholder(device).buffer]) expect(buffers).not.toContain(shared);
  expect(Object.prototype.hasOwnProperty.call(device, 'createBuffer')).toBe(false);
  const after = collectPlanBuffers(device, () => 0);
  expect(after.buffers).toEqual([]);
});
