// GPU-side timing of a sequence of dispatches with timestamp queries, where the device has them;
// otherwise wall-clock time around submit + onSubmittedWorkDone.
import type { Gpu } from './device.ts';
import type { Dispatch } from './dispatch.ts';
import { encodePlan, type PlanOp } from './plan.ts';
import { createBuffer } from './buffers.ts';
import { readBuffer } from './readback.ts';

export interface Timing {
  /** Seconds spent by the GPU (timestamp queries) or wall-clock seconds to completion. */
  seconds: number;
  source: 'timestamp-query' | 'wall-clock';
}

export async function timeDispatches(gpu: Gpu, dispatches: readonly Dispatch[], repeats = 1): Promise<Timing> {
  const { device } = gpu;
  const repeated = Array.from({ length: repeats }, () => dispatches).flat();
  const seconds = await planGpuSeconds(gpu, repeated);
  if (seconds !== null) return { seconds, source: 'timestamp-query' };
  const start = performance.now();
  const encoder = device.createCommandEncoder();
  encodePlan(encoder, repeated);
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return { seconds: (performance.now() - start) / 1000, source: 'wall-clock' };
}

/** A plan's GPU time run as a step runs it (one submit, its passes as encodePlan makes them),
 * from timestamps on its first pass's start and last pass's end; null where the device has no
 * timestamp queries or reports zeros (some adapters do). */
export async function planGpuSeconds(gpu: Gpu, ops: readonly PlanOp[]): Promise<number | null> {
  if (!gpu.timestamps) return null;
  const { device } = gpu;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = createBuffer(device, { size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const encoder = device.createCommandEncoder();
  encodePlan(encoder, ops, querySet);
  encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
  device.queue.submit([encoder.finish()]);
  const ticks = new BigUint64Array(await readBuffer(device, resolve, 16));
  querySet.destroy();
  resolve.destroy();
  const ns = Number(ticks[1] - ticks[0]);
  return ns > 0 ? ns / 1e9 : null;
}
