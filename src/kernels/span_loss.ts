// GPU wrapper for shaders/span_loss.wgsl; the float64 reference of the same name is span_loss.ref.ts.
import code from '../../shaders/span_loss.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, type Tensor } from '../gpu/tensor.ts';

export interface SpanLossArgs {
  /** [batch·seq, 2] f32: each position's start and end logit. */
  logits: Tensor;
  /** [2·batch] i32: row b's start position at 2b, its end at 2b + 1; one outside the row's
   * tokens (−100) is not counted. */
  labels: Tensor;
  /** [batch·seq] u32 attention mask: the positions each softmax runs over. */
  mask: Tensor;
  /** [1]: (mean start loss + mean end loss) / 2 (0 for a side with no counted row). */
  loss: Tensor;
  /** [batch·seq, 2]: its gradient (overwritten). */
  dLogits: Tensor;
  batch: number;
  seq: number;
}

export function spanLoss(device: GPUDevice, args: SpanLossArgs): Dispatch {
  const { batch, seq } = args;
  const label = `span loss ${batch}×${seq}`;
  const expect = (name: string, t: Tensor, size: number, dtype: string) => {
    if (numel(t.shape) !== size) throw new Error(`${label}: ${name} has ${numel(t.shape)} elements, expected ${size}`);
    if (t.dtype !== dtype) throw new Error(`${label}: ${name} is ${t.dtype}, expected ${dtype}`);
  };
  expect('logits', args.logits, 2 * batch * seq, 'f32');
  expect('labels', args.labels, 2 * batch, 'i32');
  expect('mask', args.mask, batch * seq, 'u32');
  expect('loss', args.loss, 1, 'f32');
  expect('dLogits', args.dLogits, 2 * batch * seq, 'f32');
  return makeDispatch(device, {
    label,
    code,
    entryPoint: 'span_loss',
    bindings: [args.logits, args.labels, args.mask, args.loss, args.dLogits, createParams(device, [['u32', batch], ['u32', seq]])],
    workgroups: [1],
  });
}
