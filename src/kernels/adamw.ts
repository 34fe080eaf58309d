// GPU wrapper for shaders/adamw.wgsl; the float64 reference of the same name is adamw.ref.ts.
import code from '../../shaders/adamw.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, type Param, type Tensor } from '../gpu/tensor.ts';

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

function hyperFields(h: AdamWHyper): Param[] {
  // ln 0 = −∞ (β = 0): −88 gives β^step = exp(−88·step) ≈ 0 without an infinity in the shader.
  const ln = (beta: number) => Math.max(Math.log(beta), -88);
  return [
    ['f32', h.lr], ['f32', 1 - h.lr * h.weightDecay], ['f32', h.beta1], ['f32', h.beta2],
    ['f32', 1 - h.beta1], ['f32', 1 - h.beta2], ['f32', ln(h.beta1)], ['f32', ln(h.beta2)], ['f32', h.eps],
  ];
}

/** The uniform buffer of hyper-parameters `adamw` binds; rewrite it with `writeAdamWHyper`. */
export function createAdamWHyper(device: GPUDevice, hyper: AdamWHyper): GPUBuffer {
  return createParams(device, hyperFields(hyper), 'adamw hyper');
}

/** Queues new hyper-parameters (a learning-rate schedule rewrites lr before each step's submit). */
export function writeAdamWHyper(device: GPUDevice, buffer: GPUBuffer, hyper: AdamWHyper): void {
  device.queue.writeBuffer(buffer, 0, Float32Array.from(hyperFields(hyper), ([, value]) => value));
}

export interface AdamWArgs {
  /** All trainable vectors concatenated [numel]; updated in place. */
  params: Tensor;
  grads: Tensor;
  /** First and second moments [numel]; zero at the start of training. */
  m: Tensor;
  v: Tensor;
  /** u32 [numel]: the vector each element belongs to. */
  vectorIndex: Tensor;
  /** u32 [numVectors]: optimizer steps taken by each vector; advanced here for unfrozen vectors. */
  steps: Tensor;
  /** u32 [numVectors]: 1 = frozen. The caller rewrites it when AVF changes the frozen set. */
  frozen: Tensor;
  /** From `createAdamWHyper`; the caller rewrites it whenever lr (or any other field) changes. */
  hyper: GPUBuffer;
  /** f32, element 0: the factor every gradient is scaled by (kernels/grad_norm.ts; 1 = none). */
  gradFactor: Tensor;
  /** u32 [numVectors]: 1 where weight decay applies (not to biases, as in Hugging Face's Trainer). */
  decays: Tensor;
}

/** One AdamW step for every unfrozen vector: the element update, then the per-vector step count. */
export function adamw(device: GPUDevice, args: AdamWArgs): Dispatch[] {
  const count = numel(args.params.shape);
  const numVectors = numel(args.steps.shape);
  for (const [name, t] of [['grads', args.grads], ['m', args.m], ['v', args.v], ['vectorIndex', args.vectorIndex]] as const) {
    if (numel(t.shape) !== count) throw new Error(`adamw: ${name} has ${numel(t.shape)} elements, params ${count}`);
  }
  for (const [name, t] of [['frozen', args.frozen], ['decays', args.decays]] as const) {
    if (numel(t.shape) !== numVectors) throw new Error(`adamw: ${name} has ${numel(t.shape)} entries, steps ${numVectors}`);
  }
  const dims = createParams(device, [['u32', count], ['u32', numVectors]], 'adamw dims');
  const groups = ceilDiv(count, 256);
  return [
    makeDispatch(device, {
      label: `adamw ${count} elements`,
      code,
      entryPoint: 'updateElements',
      bindings: [args.steps, args.frozen, dims, args.hyper, args.params, args.grads, args.m, args.v, args.vectorIndex, args.gradFactor, args.decays],
      workgroups: [Math.min(groups, 65535), ceilDiv(groups, 65535)],
    }),
    makeDispatch(device, {
      label: `adamw steps ${numVectors} vectors`,
      code,
      entryPoint: 'advanceSteps',
      bindings: [args.steps, args.frozen, dims],
      workgroups: [ceilDiv(numVectors, 256)],
    }),
  ];
}
