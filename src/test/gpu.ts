// One GPU device per test file (vitest runs each file in its own forked process).
import { beforeEach } from 'vitest';
import type { Gpu } from '../gpu/device.ts';
import { acquireNodeGpu } from '../gpu/node.ts';
import type { RowVariant } from '../kernels/reduction.ts';

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

/** Every variant of the row kernels, for their parity tests. */
export const ROW_VARIANTS: readonly RowVariant[] = ['subgroup', 'workgroup', 'rows'];

/** Call in a describe block of one variant: where it is 'subgroup' and this file's device has no
 * subgroups (the adapter offers none), its tests are skipped, and reported so. */
export function skipWithoutSubgroups(variant: RowVariant): void {
  beforeEach(async (context) => {
    if (variant === 'subgroup' && !(await testGpu()).subgroups) context.skip('the adapter offers no subgroups');
  });
}
