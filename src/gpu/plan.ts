// A plan is the fixed list of GPU work of one step (or one evaluation batch): compute
// dispatches and the buffer clears between them, built once per shape and encoded every step.
import { encodeDispatches, type Dispatch } from './dispatch.ts';
import { numel, type Tensor } from './tensor.ts';

export interface ClearOp {
  readonly clear: Tensor;
}

export type PlanOp = Dispatch | ClearOp;

/** Encodes the ops in order: consecutive dispatches share one compute pass. */
export function encodePlan(encoder: GPUCommandEncoder, ops: readonly PlanOp[]): void {
  let run: Dispatch[] = [];
  const flush = () => {
    if (!run.length) return;
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, run);
    pass.end();
    run = [];
  };
  for (const op of ops) {
    if ('clear' in op) {
      flush();
      encoder.clearBuffer(op.clear.buffer, op.clear.byteOffset ?? 0, Math.ceil((numel(op.clear.shape) * 4) / 4) * 4);
    } else {
      run.push(op);
    }
  }
  flush();
}

export function submitPlan(device: GPUDevice, ops: readonly PlanOp[]): void {
  const encoder = device.createCommandEncoder();
  encodePlan(encoder, ops);
  device.queue.submit([encoder.finish()]);
}
