import { expect, it, vi } from 'vitest';
import { testGpu } from '../test/gpu.ts';
import { getPipeline, preparePipelines } from './pipelines.ts';

const code = (n: number) => `@group(0) @binding(0) var<storage, read_write> out: array<u32>;\n@compute @workgroup_size(1) fn main() { out[0] = ${n}u; }`;

it('compiles ahead into the cache getPipeline reads, once per pipeline', async () => {
  const { device } = await testGpu();
  const sync = vi.spyOn(device, 'createComputePipeline');
  const compiles = vi.spyOn(device, 'createComputePipelineAsync');
  try {
    // The same pipeline asked twice at once compiles once.
    expect(await preparePipelines(device, [{ code: code(1) }, { code: code(2) }, { code: code(1) }])).toEqual([undefined, undefined, undefined]);
    expect(compiles).toHaveBeenCalledTimes(2);
    const pipeline = getPipeline(device, code(2));
    expect(getPipeline(device, code(2))).toBe(pipeline);
    expect(sync).not.toHaveBeenCalled();
    // Already compiled (ahead or not): nothing to do.
    getPipeline(device, code(3));
    expect(await preparePipelines(device, [{ code: code(1) }, { code: code(3) }])).toEqual([undefined, undefined]);
    expect(compiles).toHaveBeenCalledTimes(2);
  } finally {
    sync.mockRestore();
    compiles.mockRestore();
  }
});

it('resolves to the error of a pipeline the device refuses, and compiles the others', async () => {
  const { device } = await testGpu();
  const [refused, compiled] = await preparePipelines(device, [{ code: code(4), entryPoint: 'missing' }, { code: code(4) }]);
  expect(refused).toBeInstanceOf(GPUPipelineError);
  expect((refused as GPUPipelineError).reason).toBe('validation');
  expect(compiled).toBeUndefined();
});
