// Owners of GPU buffers: a scope owns what its synchronous builder creates on its device, the
// innermost scope wins, shared buffers (placeholder, staging) stay unowned, destroy frees all.
import { expect, it } from 'vitest';
import { recordBuffers } from '../test/buffer-ledger.ts';
import { testGpu } from '../test/gpu.ts';
import { matmul } from '../kernels/matmul.ts';
import { GpuBuffers } from './buffers.ts';
import { readTensor } from './readback.ts';
import { createTensor, placeholder, uploadTensor } from './tensor.ts';

it('owns what its builder creates, leaves nested scopes and shared buffers theirs, and frees all at once', async () => {
  const { device } = await testGpu();
  const ledger = recordBuffers(device);
  try {
    const outer = new GpuBuffers(device);
    const inner = new GpuBuffers(device);
    const before = createTensor(device, [2]);
    const made = outer.collect(() => {
      // The device's placeholder first comes to be inside a scope here: it must stay shared.
      const shared = placeholder(device);
      const a = uploadTensor(device, [1, 2, 3, 4, 5, 6], [2, 3]);
      const b = uploadTensor(device, [1, 0, 0, 1, 1, 1], [3, 2]);
      const out = createTensor(device, [2, 2]);
      const dispatch = inner.collect(() => matmul(device, { m: 2, n: 2, k: 3, a, b, out }));
      return { shared, a, b, out, dispatch };
    });
    expect(outer.buffers).toEqual([made.a.buffer, made.b.buffer, made.out.buffer]);
    expect(outer.bytes).toBe(24 + 24 + 16);
    // The matmul's uniforms are the inner scope's alone.
    expect(inner.buffers.length).toBeGreaterThan(0);
    for (const buffer of inner.buffers) expect(outer.buffers).not.toContain(buffer);
    expect(outer.buffers).not.toContain(before.buffer);
    expect(outer.buffers).not.toContain(made.shared.buffer);
    // An async builder is refused; a readback inside a scope draws on the shared staging pool.
    let reading: Promise<Float32Array> | undefined;
    expect(() => outer.collect(() => (reading = readTensor(device, made.a)))).toThrow(/synchronous/);
    expect(Array.from(await reading!)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(outer.buffers).toHaveLength(3);

    const destroyed = () => ledger.entries.filter((e) => e.destroyed).map((e) => e.buffer);
    outer.destroy();
    expect(destroyed()).toEqual([made.a.buffer, made.b.buffer, made.out.buffer]);
    expect(outer.bytes).toBe(0);
    expect(outer.buffers).toEqual([]);
    inner.destroy();
    expect(ledger.live()).toEqual([ledger.entries[0].label]);
    before.buffer.destroy();
  } finally {
    ledger.stop();
  }
  expect(Object.prototype.hasOwnProperty.call(device, 'createBuffer')).toBe(false);
});
