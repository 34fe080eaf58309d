// One GPU device per test file (vitest runs each file in its own forked process).
import type { Gpu } from '../gpu/device.ts';
import { acquireNodeGpu } from '../gpu/node.ts';

let pending: Promise<Gpu> | undefined;

export function testGpu(): Promise<Gpu> {
  pending ??= acquireNodeGpu();
  return pending;
}
