// GPU wrapper for shaders/loss.wgsl; the float64 reference of the same name is loss.ref.ts.
// Each loss is one dispatch of one workgroup (rows = the batch).
import code from '../../shaders/loss.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';

export interface SoftmaxCrossEntropyArgs {
  /** [rows, classes] */
  logits: Tensor;
  /** [rows] u32 class ids, each < classes. */
  labels: Tensor;
  /** [1]: the mean over rows of −log softmax(logits)[label] (overwritten). */
  loss: Tensor;
  /** [rows, classes]: (softmax − onehot)/rows, the gradient of that mean (overwritten). */
  dLogits: Tensor;
  rows: number;
  classes: number;
}

export function softmaxCrossEntropy(device: GPUDevice, args: SoftmaxCrossEntropyArgs): Dispatch {
  const { rows, classes } = args;
  return makeDispatch(device, {
    label: `softmax cross-entropy ${rows}×${classes}`,
    code,
    entryPoint: 'cross_entropy',
    bindings: [args.logits, args.labels, args.loss, args.dLogits, params(device, rows, classes)],
    workgroups: [1],
  });
}

export interface MseLossArgs {
  /** [rows] (a regression head with num_labels = 1) */
  pred: Tensor;
  /** [rows] f32 targets */
  target: Tensor;
  /** [1]: mean of (pred − target)² (overwritten). */
  loss: Tensor;
  /** [rows]: 2·(pred − target)/rows (overwritten). */
  dPred: Tensor;
  rows: number;
}

export function mseLoss(device: GPUDevice, args: MseLossArgs): Dispatch {
  return makeDispatch(device, {
    label: `mse loss ${args.rows}`,
    code,
    entryPoint: 'mse',
    bindings: [args.pred, args.target, args.loss, args.dPred, params(device, args.rows, 1)],
    workgroups: [1],
  });
}

function params(device: GPUDevice, rows: number, classes: number): GPUBuffer {
  return createParams(device, [['u32', rows], ['u32', classes], ['f32', rows ? 1 / rows : 0]]);
}
