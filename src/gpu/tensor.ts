// GPU tensors: a storage buffer with a row-major shape. Sizes are padded to 4 bytes and never
// zero (WebGPU refuses empty bindings), so a 0-element tensor still binds.

export type DType = 'f32' | 'u32' | 'i32';

export interface Tensor {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function createTensor(device: GPUDevice, shape: readonly number[], dtype: DType = 'f32', label?: string): Tensor {
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffer = device.createBuffer({ label, size: Math.max(4, numel(shape) * 4), usage });
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
  if (typed.length) device.queue.writeBuffer(tensor.buffer, elementOffset * 4, typed.buffer, typed.byteOffset, typed.byteLength);
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
  const buffer = device.createBuffer({ label, size, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data.buffer);
  return buffer;
}

const placeholders = new WeakMap<GPUDevice, Tensor>();

/** A 1-element tensor bound where a kernel's optional input (bias, scale) is switched off. */
export function placeholder(device: GPUDevice): Tensor {
  let t = placeholders.get(device);
  if (!t) placeholders.set(device, (t = createTensor(device, [1], 'f32', 'placeholder')));
  return t;
}
