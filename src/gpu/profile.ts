// Where a plan's time goes, kernel by kernel: every dispatch timed on its own (GPU timestamps
// around a compute pass of one dispatch where the device has them, else the wall clock around a
// submit of one dispatch), summed by kind — the label without its sizes — with the products'
// GFLOP/s. Timing dispatches one at a time adds pass boundaries the real step does not have, so
// the total reads a little above the step's; the shares are what it is for.
import type { Gpu } from './device.ts';
import { encodeDispatches, type Dispatch } from './dispatch.ts';
import { encodePlan, type PlanOp } from './plan.ts';
import { createBuffer } from './buffers.ts';
import { readBuffer } from './readback.ts';

export interface ProfileRow {
  /** The dispatch label without its sizes ("matmul", "attention softmax backward", …). */
  kind: string;
  dispatches: number;
  seconds: number;
  /** Summed over the dispatches that count theirs (products); 0 for the others. */
  flops: number;
}

export interface PlanProfile {
  /** By kind, slowest first. */
  kinds: ProfileRow[];
  /** The products (dispatches that count flops) by label, slowest first. */
  products: ProfileRow[];
  seconds: number;
  source: 'timestamp-query' | 'wall-clock';
}

/** The label's words before its first size: "attention dq 12×4×10×8×10" → "attention dq",
 * "matmul 1×32×32×32 · tiled 64x64x16/4x4" → "matmul", "adamw 20672 elements" → "adamw". */
export function dispatchKind(label: string): string {
  const words = label.split(' · ')[0].split(/\s+/);
  const size = words.findIndex((w) => /^\d/.test(w));
  return (size < 0 ? words : words.slice(0, size)).join(' ');
}

const QUERIES = 4096; // WebGPU's limit on a timestamp query set

/** Runs the plan's ops once as they run in a step (clears included, so every dispatch sees the
 * same inputs), timing each dispatch alone. */
export async function profilePlan(gpu: Gpu, ops: readonly PlanOp[]): Promise<PlanProfile> {
  const dispatches = ops.filter((op): op is Dispatch => !('clear' in op));
  let seconds = gpu.timestamps ? await timestampSeconds(gpu, ops, dispatches.length) : null;
  const source = seconds ? 'timestamp-query' : 'wall-clock';
  seconds ??= await wallClockSeconds(gpu, ops);
  const sum = (key: (d: Dispatch) => string) => {
    const rows = new Map<string, ProfileRow>();
    dispatches.forEach((d, i) => {
      const name = key(d);
      let row = rows.get(name);
      if (!row) rows.set(name, (row = { kind: name, dispatches: 0, seconds: 0, flops: 0 }));
      row.dispatches++;
      row.seconds += seconds[i];
      row.flops += d.flops ?? 0;
    });
    return [...rows.values()].sort((a, b) => b.seconds - a.seconds);
  };
  return {
    kinds: sum((d) => dispatchKind(d.label)),
    products: sum((d) => d.label).filter((r) => r.flops > 0),
    seconds: seconds.reduce((a, b) => a + b, 0),
    source,
  };
}

/** Seconds per dispatch from timestamps, or null where the adapter writes zeros. */
async function timestampSeconds(gpu: Gpu, ops: readonly PlanOp[], count: number): Promise<number[] | null> {
  const { device } = gpu;
  const seconds: number[] = [];
  let index = 0; // dispatches seen
  let op = 0;
  while (index < count) {
    const batch = Math.min(count - index, QUERIES / 2);
    const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * batch });
    const resolve = createBuffer(device, { size: 16 * batch, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const encoder = device.createCommandEncoder();
    let timed = 0;
    for (; op < ops.length && timed < batch; op++) {
      const o = ops[op];
      if ('clear' in o) {
        encodePlan(encoder, [o]);
        continue;
      }
      const q = 2 * timed++;
      const pass = encoder.beginComputePass({ timestampWrites: { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
      encodeDispatches(pass, [o]);
      pass.end();
    }
    encoder.resolveQuerySet(querySet, 0, 2 * batch, resolve, 0);
    device.queue.submit([encoder.finish()]);
    const ticks = new BigUint64Array(await readBuffer(device, resolve, 16 * batch));
    querySet.destroy();
    resolve.destroy();
    for (let i = 0; i < batch; i++) seconds.push(Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e9);
    index += batch;
  }
  return seconds.some((s) => s > 0) ? seconds : null;
}

async function wallClockSeconds(gpu: Gpu, ops: readonly PlanOp[]): Promise<number[]> {
  const { device } = gpu;
  const seconds: number[] = [];
  for (const op of ops) {
    const start = performance.now();
    const encoder = device.createCommandEncoder();
    encodePlan(encoder, [op]);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    if (!('clear' in op)) seconds.push((performance.now() - start) / 1000);
  }
  return seconds;
}
