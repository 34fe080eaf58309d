// A Dispatch is one compute dispatch with its bindings resolved: built once when a plan is made
// (shapes are fixed for a run), then encoded every step with no allocation.
import { getPipeline, type Constants } from './pipelines.ts';
import { numel, type Tensor } from './tensor.ts';

export interface Dispatch {
  readonly label: string;
  readonly pipeline: GPUComputePipeline;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: readonly [number, number, number];
  /** Floating-point operations it performs, where counted (products), for profiles. */
  readonly flops?: number;
}

export type Binding = GPUBuffer | Tensor | GPUBufferBinding;

export interface DispatchSpec {
  label: string;
  code: string;
  entryPoint?: string;
  constants?: Constants;
  /** Bindings of group 0 in binding order (0, 1, 2 …). */
  bindings: readonly Binding[];
  workgroups: readonly [number, number?, number?];
  flops?: number;
}

const MAX_WORKGROUPS_PER_DIM = 65535;

export function makeDispatch(device: GPUDevice, spec: DispatchSpec): Dispatch {
  const pipeline = getPipeline(device, spec.code, spec.entryPoint ?? 'main', spec.constants);
  const workgroups: [number, number, number] = [spec.workgroups[0], spec.workgroups[1] ?? 1, spec.workgroups[2] ?? 1];
  for (const count of workgroups) {
    if (count > MAX_WORKGROUPS_PER_DIM) throw new Error(`${spec.label}: ${count} workgroups in one dimension (limit ${MAX_WORKGROUPS_PER_DIM})`);
  }
  const bindGroup = device.createBindGroup({
    label: spec.label,
    layout: pipeline.getBindGroupLayout(0),
    entries: spec.bindings.map((binding, index) => ({ binding: index, resource: asResource(binding) })),
  });
  return { label: spec.label, pipeline, bindGroup, workgroups, ...(spec.flops !== undefined && { flops: spec.flops }) };
}

function asResource(binding: Binding): GPUBufferBinding {
  if ('buffer' in binding && 'shape' in binding) {
    return binding.byteOffset === undefined ? { buffer: binding.buffer } : { buffer: binding.buffer, offset: binding.byteOffset, size: Math.max(4, numel(binding.shape) * 4) };
  }
  if ('buffer' in binding) return binding;
  return { buffer: binding };
}

export function encodeDispatches(pass: GPUComputePassEncoder, dispatches: readonly Dispatch[]): void {
  for (const d of dispatches) {
    if (d.workgroups[0] === 0 || d.workgroups[1] === 0 || d.workgroups[2] === 0) continue;
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
  }
}

/** Encodes the dispatches in one compute pass and submits them. */
export function runDispatches(device: GPUDevice, dispatches: readonly Dispatch[]): void {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  encodeDispatches(pass, dispatches);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

export function ceilDiv(a: number, b: number): number {
  return Math.ceil(a / b);
}
