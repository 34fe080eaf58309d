// A plan is the fixed list of GPU work of one step (or one evaluation batch): compute
// dispatches and the buffer clears between them, built once per shape and encoded every step.
import { encodeDispatches, type Dispatch } from './dispatch.ts';
import { numel, type Tensor } from './tensor.ts';

export interface ClearOp {
  readonly clear: Tensor;
}

export type PlanOp = Dispatch | ClearOp;

/** Encodes the ops in order: consecutive dispatches share one compute pass. With `timestamps`
 * (a query set of 2), the first pass writes index 0 as it begins and the last writes index 1 as
 * it ends: the plan's GPU time from its first dispatch to its last. */
export function encodePlan(encoder: GPUCommandEncoder, ops: readonly PlanOp[], timestamps?: GPUQuerySet): void {
  const segments: (Dispatch[] | ClearOp)[] = [];
  for (const op of ops) {
    const last = segments[segments.length - 1];
    if ('clear' in op) segments.push(op);
    else if (Array.isArray(last)) last.push(op);
    else segments.push([op]);
  }
  const passes = segments.filter((s) => Array.isArray(s)).length;
  let pass = 0;
  for (const segment of segments) {
    if (!Array.isArray(segment)) {
      encoder.clearBuffer(segment.clear.buffer, segment.clear.byteOffset ?? 0, Math.ceil((numel(segment.clear.shape) * 4) / 4) * 4);
      continue;
    }
    const first = pass === 0;
    const last = ++pass === passes;
    const timestampWrites = timestamps && (first || last)
      ? { querySet: timestamps, ...(first && { beginningOfPassWriteIndex: 0 }), ...(last && { endOfPassWriteIndex: 1 }) }
      : undefined;
    const computePass = encoder.beginComputePass(timestampWrites && { timestampWrites });
    encodeDispatches(computePass, segment);
    computePass.end();
  }
}

export function submitPlan(device: GPUDevice, ops: readonly PlanOp[]): void {
  const encoder = device.createCommandEncoder();
  encodePlan(encoder, ops);
  device.queue.submit([encoder.finish()]);
}
