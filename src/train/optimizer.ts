// The optimizer's GPU state: AdamW moments and per-vector steps over the flat trainable buffer,
// the frozen mask (variant + AVF), the gradient norm (and clipping), and the strength of every
// vector — a dispatch or two each.
import { GpuBuffers } from '../gpu/buffers.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import { readTensor, readTensorU32 } from '../gpu/readback.ts';
import { createTensor, uploadTensor, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { adamw, createAdamWHyper, writeAdamWHyper, type AdamWHyper } from '../kernels/adamw.ts';
import { gradNorm } from '../kernels/grad_norm.ts';
import { strength } from '../kernels/strength.ts';
import type { GpuModel } from '../model/gpu-model.ts';
import type { ParameterLayout } from '../model/parameter-layout.ts';

export interface OptimizerOptions {
  /** Clip each step's gradients to this global L2 norm (absent: no clipping). */
  maxGradNorm?: number;
  /** Gradients to read instead of the model's (gradient accumulation's sum). */
  grads?: Tensor;
}

export class Optimizer {
  readonly m: Tensor;
  readonly v: Tensor;
  readonly steps: Tensor;
  readonly frozen: Tensor;
  readonly strengthOut: Tensor;
  /** f32 [2]: the factor this step's gradients are scaled by (clipping; else 1), then their norm. */
  readonly clip: Tensor;
  /** The step's update: the gradient norm, then AdamW. */
  readonly update: Dispatch[];
  readonly strength: Dispatch;
  private readonly hyper: GPUBuffer;
  private readonly device: GPUDevice;
  private readonly layout: ParameterLayout;
  /** Slots never trained: padding, and vectors outside the variant. */
  readonly alwaysFrozen: Uint8Array;
  /** The moments, masks and dispatch uniforms above (the model's parameters are the model's). */
  private readonly buffers: GpuBuffers;

  /** The gradients the step reads: the model's, or what gradient accumulation sums them into. */
  readonly grads: Tensor;

  constructor(model: GpuModel, hyper: AdamWHyper, trainsSlot: (slot: number) => boolean, options: OptimizerOptions = {}) {
    const { maxGradNorm } = options;
    const grads = (this.grads = options.grads ?? model.gradsTensor);
    const device = (this.device = model.device);
    const layout = (this.layout = model.params);
    this.alwaysFrozen = Uint8Array.from({ length: layout.slotCount }, (_, s) => (layout.paddingSlot[s] || !trainsSlot(s) ? 1 : 0));
    const buffers = (this.buffers = new GpuBuffers(device));
    const state = buffers.collect(() => {
      const m = createTensor(device, [layout.size], 'f32', 'adam m');
      const v = createTensor(device, [layout.size], 'f32', 'adam v');
      const steps = createTensor(device, [layout.slotCount], 'u32', 'adam steps');
      const frozen = uploadTensor(device, Uint32Array.from(this.alwaysFrozen), [layout.slotCount], 'u32', 'frozen');
      const hyperBuffer = createAdamWHyper(device, hyper);
      const vectorIndex = uploadTensor(device, layout.vectorIndex, [layout.size], 'u32', 'vector index');
      const clip = createTensor(device, [2], 'f32', 'gradient clip');
      // Weight decay spares biases, as Hugging Face's Trainer does (no norm weights train here).
      const decaying = new Uint32Array(layout.slotCount);
      for (const e of layout.entries) decaying[e.slot] = e.role === 'bias' || e.name.endsWith('.bias') ? 0 : 1;
      const decays = uploadTensor(device, decaying, [layout.slotCount], 'u32', 'weight decay');
      const update = [
        gradNorm(device, { grads, vectorIndex, frozen, out: clip, maxNorm: maxGradNorm }),
        ...adamw(device, { params: model.paramsTensor, grads, m, v, vectorIndex, steps, frozen, hyper: hyperBuffer, gradFactor: clip, decays }),
      ];
      const strengthOut = createTensor(device, [layout.slotCount], 'f32', 'strength');
      const offsets = uploadTensor(device, layout.slotOffsets, [layout.slotCount + 1], 'u32', 'slot offsets');
      return { m, v, steps, frozen, hyperBuffer, clip, update, strengthOut, strength: strength(device, { params: model.paramsTensor, initial: model.initialTensor, vectorOffsets: offsets, out: strengthOut }) };
    });
    ({ m: this.m, v: this.v, steps: this.steps, frozen: this.frozen, hyperBuffer: this.hyper, clip: this.clip, update: this.update, strengthOut: this.strengthOut, strength: this.strength } = state);
  }

  /** Bytes of GPU memory the optimizer holds. */
  get allocatedBytes(): number {
    return this.buffers.bytes;
  }

  /** Frees the optimizer's buffers (not the model's); nothing may use it afterwards. */
  destroy(): void {
    this.buffers.destroy();
  }

  setHyper(hyper: AdamWHyper): void {
    writeAdamWHyper(this.device, this.hyper, hyper);
  }

  /** Frozen mask = always-frozen slots ∪ the AVF set (per slot, 1 = frozen). */
  setAvfFrozen(avfFrozen: Uint8Array): void {
    writeTensor(this.device, this.frozen, Uint32Array.from(this.alwaysFrozen, (f, s) => f | avfFrozen[s]));
  }

  async readStrength(): Promise<Float32Array> {
    return readTensor(this.device, this.strengthOut);
  }

  async readState(): Promise<{ m: Float32Array; v: Float32Array; steps: Uint32Array }> {
    return { m: await readTensor(this.device, this.m), v: await readTensor(this.device, this.v), steps: await readTensorU32(this.device, this.steps) };
  }

  writeState(state: { m: ArrayLike<number>; v: ArrayLike<number>; steps: ArrayLike<number> }): void {
    writeTensor(this.device, this.m, Float32Array.from(state.m));
    writeTensor(this.device, this.v, Float32Array.from(state.v));
    writeTensor(this.device, this.steps, Uint32Array.from(state.steps));
  }

  get slotCount(): number {
    return this.layout.slotCount;
  }
}
