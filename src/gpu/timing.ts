// GPU-side timing of a sequence of dispatches with timestamp queries, where the device has them;
// otherwise wall-clock time around submit + onSubmittedWorkDone.
import type { Gpu } from './device.ts';
import { encodeDispatches, type Dispatch } from './dispatch.ts';
import { readBuffer } from './readback.ts';

export interface Timing {
  /** Seconds spent by the GPU (timestamp queries) or wall-clock seconds to completion. */
  seconds: number;
  source: 'timestamp-query' | 'wall-clock';
}

export async function timeDispatches(gpu: Gpu, dispatches: readonly Dispatch[], repeats = 1): Promise<Timing> {
  const { device } = gpu;
  if (gpu.timestamps) {
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
    const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } });
    for (let i = 0; i < repeats; i++) encodeDispatches(pass, dispatches);
    pass.end();
    encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
    device.queue.submit([encoder.finish()]);
    const ticks = new BigUint64Array(await readBuffer(device, resolve, 16));
    querySet.destroy();
    resolve.destroy();
    const ns = Number(ticks[1] - ticks[0]);
    // Some adapters report zeros: fall back to the wall clock then.
    if (ns > 0) return { seconds: ns / 1e9, source: 'timestamp-query' };
  }
  const start = performance.now();
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (let i = 0; i < repeats; i++) encodeDispatches(pass, dispatches);
  pass.end();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  return { seconds: (performance.now() - start) / 1000, source: 'wall-clock' };
}
