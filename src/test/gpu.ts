// One GPU device per test file (vitest runs each file in its own forked process).
import type { Gpu } from '../gpu/device.ts';
import { acquireNodeGpu } from '../gpu/node.ts';

let pending: Promise<Gpu> | undefined;
let acquired: Gpu | undefined;

export function testGpu(): Promise<Gpu> {
  pending ??= acquireNodeGpu().then((gpu) => (acquired = gpu));
  return pending;
}

/** Uncaptured WebGPU errors of this file's device so far (checked after every test). */
export function gpuErrors(): string[] {
  return acquired?.errors ?? [];
}

/** Waits for submitted work, so its errors have been reported. */
export async function settleGpu(): Promise<void> {
  await acquired?.device.queue.onSubmittedWorkDone();
}
