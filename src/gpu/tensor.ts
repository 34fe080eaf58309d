// GPU tensors: a storage buffer with a row-major shape. Sizes are padded to 4 bytes and never
// zero (WebGPU refuses empty bindings), so a 0-element tensor still binds.
import { createBuffer, unowned } from './buffers.ts';

export type DType = 'f32' | 'u32' | 'i32';

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Where the tensor starts inside `buffer` (a view); 0 when absent. */
  readonly byteOffset?: number;
}

/** Storage bindings must start at a multiple of 256 bytes on every adapter (the largest
 * minStorageBufferOffsetAlignment WebGPU allows): views start on 64-element boundaries. */
export const VIEW_ALIGNMENT_ELEMENTS = 64;

/** The same storage read with a smaller shape (activation buffers sized for the largest batch). */
export function prefix(base: Tensor, shape: readonly number[]): Tensor {
  if (numel(shape) > numel(base.shape)) throw new Error(`prefix: [${shape.join(', ')}] does not fit in [${base.shape.join(', ')}]`);
  return { ...base, shape: [...shape] };
}

/** A tensor over part of another tensor's buffer (e.g. one Σ inside the flat parameter buffer). */
export function view(base: Tensor, elementOffset: number, shape: readonly number[]): Tensor {
  if (elementOffset % VIEW_ALIGNMENT_ELEMENTS !== 0) throw new Error(`view: offset ${elementOffset} is not a multiple of ${VIEW_ALIGNMENT_ELEMENTS} elements`);
  const byteOffset = (base.byteOffset ?? 0) + elementOffset * 4;
  if (byteOffset + numel(shape) * 4 > base.buffer.size) throw new Error(`view: [${shape.join(', ')}] at ${elementOffset} runs past the buffer`);
  return { buffer: base.buffer, shape: [...shape], dtype: base.dtype, byteOffset };
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function createTensor(device: GPUDevice, shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffer = createBuffer(device, { label, size: Math.max(4, numel(shape) * 4), usage });
  return { buffer, shape: [...shape], dtype };
}

type HostData = Float32Array | Float64Array | Uint32Array | Int32Array | readonly number[];

function toTyped(data: HostData, dtype: DType): Float32Array | Uint32Array | Int32Array {
  if (dtype === 'f32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (dtype === 'u32') return data instanceof Uint32Array ? data : Uint32Array.from(data);
  return data instanceof Int32Array ? data : Int32Array.from(data);
}

export function uploadTensor(device: GPUDevice, data: HostData, shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
  if (data.length !== numel(shape)) throw new Error(`uploadTensor: ${data.length} values for shape [${shape.join(', ')}]`);
  const tensor = createTensor(device, shape, dtype, label);
  writeTensor(device, tensor, data);
  return tensor;
}

export function writeTensor(device: GPUDevice, tensor: Tensor, data: HostData, elementOffset = 0): void {
  const typed = toTyped(data, tensor.dtype);
  const at = (tensor.byteOffset ?? 0) + elementOffset * 4;
  if (typed.length) device.queue.writeBuffer(tensor.buffer, at, typed.buffer, typed.byteOffset, typed.byteLength);
}

export function zeroTensor(device: GPUDevice, shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
  return createTensor(device, shape, dtype, label); // WebGPU zero-initialises new buffers
}

/** A uniform buffer of 32-bit fields, written once (per-plan parameters of a dispatch). */
export type Param = ['u32' | 'i32' | 'f32', number];

export function createParams(device: GPUDevice, fields: readonly Param[], label?: string): GPUBuffer {
  // Uniform structs round up to 16 bytes.
  const size = Math.max(16, Math.ceil((fields.length * 4) / 16) * 16);
  const data = new DataView(new ArrayBuffer(size));
  fields.forEach(([type, value], i) => {
    if (type === 'f32') data.setFloat32(i * 4, value, true);
    else if (type === 'i32') data.setInt32(i * 4, value, true);
    else data.setUint32(i * 4, value, true);
  });
  const buffer = createBuffer(device, { label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data.buffer);
  return buffer;
}

const placeholders = new WeakMap<GPUDevice, Tensor>();

/** A 1-element tensor bound where a kernel's optional input (bias, scale) is switched off; one
 * per device, owned by none of the plans that bind it. */
export function placeholder(device: GPUDevice): Tensor {
  let t = placeholders.get(device);
  if (!t) placeholders.set(device, (t = unowned(() => createTensor(device, [1], 'f32', 'placeholder'))));
  return t;
}
