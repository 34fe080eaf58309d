// Every test fails if WebGPU reported an error no scope caught (an invalid dispatch is
// otherwise silently skipped and only wrong numbers would show it).
import { afterEach, expect } from 'vitest';
import { gpuErrors, settleGpu } from './gpu.ts';

afterEach(async () => {
  await settleGpu();
  const errors = gpuErrors().splice(0);
  expect(errors, 'uncaptured WebGPU errors').toEqual([]);
});
