import { describe, expect, it } from 'vitest';
import { hasSubgroups } from '../gpu/device.ts';
import { makeDispatch, runDispatches } from '../gpu/dispatch.ts';
import { acquireNodeGpu, nodeGpu } from '../gpu/node.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor } from '../gpu/tensor.ts';
import { skipWithoutSubgroups, testGpu } from '../test/gpu.ts';
import { withReductions, workgroupVariant } from './reduction.ts';

// Every invocation writes what the library gave it: a sum, a maximum that only the workgroup's
// last invocation holds (−1, above every other value and below the 0 a stray idle lane would add),
// then a second sum over scratch the first calls used.
const probe = (wg: number) => `
const WG = ${wg}u;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(lane: Lane) {
  let i = lane.index;
  let sum = workgroupSum(vec2f(f32(i + 1u), f32(i % 5u) - 2.0), lane);
  let top = workgroupMax(-1.0 - abs(f32(i) - f32(WG - 1u)), lane);
  let again = workgroupSum(vec2f(top, 1.0), lane);
  out[i * 5u] = sum.x;
  out[i * 5u + 1u] = sum.y;
  out[i * 5u + 2u] = top;
  out[i * 5u + 3u] = again.x;
  out[i * 5u + 4u] = again.y;
}
`;

async function expectReductions(device: GPUDevice, variant: 'subgroup' | 'workgroup', wg: number) {
  const out = createTensor(device, [wg * 5]);
  runDispatches(device, [makeDispatch(device, { label: `reductions ${variant} ${wg}`, code: withReductions(variant, probe(wg)), bindings: [out], workgroups: [1] })]);
  const got = await readTensor(device, out);
  let tail = 0;
  for (let i = 0; i < wg; i++) tail += (i % 5) - 2;
  const expected = [(wg * (wg + 1)) / 2, tail, -1, -wg, wg];
  for (let i = 0; i < wg; i++) expect(Array.from(got.subarray(i * 5, i * 5 + 5)), `${variant} WG ${wg}, invocation ${i}`).toEqual(expected);
}

describe('the subgroup reductions', () => {
  skipWithoutSubgroups('subgroup');
  // 7 and 66: a last subgroup the workgroup fills only in part at any subgroup size (≥ 4).
  it.each([1, 7, 66, 256])('give every invocation of a workgroup of %i the exact total', async (wg) => {
    await expectReductions((await testGpu()).device, 'subgroup', wg);
  });
});

describe('the tree reductions', () => {
  it.each([64, 256])('give every invocation of a workgroup of %i the exact total', async (wg) => {
    await expectReductions((await testGpu()).device, 'workgroup', wg);
  });

  it('run on a device created without subgroups, which the row kernels then keep off', async () => {
    const gpu = await acquireNodeGpu({ noSubgroups: true });
    expect(gpu.subgroups).toBe(false);
    expect(hasSubgroups(gpu.device)).toBe(false);
    expect(workgroupVariant(gpu.device)).toBe('workgroup');
    await expectReductions(gpu.device, 'workgroup', 256);
    await gpu.device.queue.onSubmittedWorkDone();
    expect(gpu.errors).toEqual([]);
    gpu.device.destroy();
  });
});

describe('the file device', () => {
  it('has subgroups exactly where the adapter offers them (and WGSL has subgroup_id)', async () => {
    const gpu = await testGpu();
    const dawn = await nodeGpu();
    const adapter = await dawn.requestAdapter({ powerPreference: 'high-performance' });
    expect(gpu.subgroups).toBe(!!adapter?.features.has('subgroups') && dawn.wgslLanguageFeatures.has('subgroup_id'));
    expect(workgroupVariant(gpu.device)).toBe(gpu.subgroups ? 'subgroup' : 'workgroup');
  });
});
