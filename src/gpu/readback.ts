// Reading GPU buffers back to the host. Each read waits for the queue: keep them off the hot
// path (one small read per step at most; strength and metrics are throttled).
import { createBuffer, unowned } from './buffers.ts';
import { numel, type Tensor } from './tensor.ts';

// Staging buffers are pooled per device (owned by no model): a step's readback allocates nothing.
const pools = new WeakMap<GPUDevice, GPUBuffer[]>();

function takeStaging(device: GPUDevice, size: number): GPUBuffer {
  let pool = pools.get(device);
  if (!pool) pools.set(device, (pool = []));
  const index = pool.findIndex((b) => b.size >= size && b.size <= 4 * size + 4096);
  if (index >= 0) return pool.splice(index, 1)[0];
  return unowned(() => createBuffer(device, { label: 'staging', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }));
}

export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteLength: number, byteOffset = 0): Promise<ArrayBuffer> {
  const size = Math.max(4, Math.ceil(byteLength / 4) * 4);
  const staging = takeStaging(device, size);
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, byteOffset, staging, 0, size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ, 0, size);
  const copy = staging.getMappedRange(0, size).slice(0, byteLength);
  staging.unmap();
  pools.get(device)!.push(staging);
  return copy;
}

export async function readTensor(device: GPUDevice, tensor: Tensor): Promise<Float32Array> {
  if (tensor.dtype !== 'f32') throw new Error(`readTensor: ${tensor.dtype} tensor, use readTensorU32`);
  return new Float32Array(await readBuffer(device, tensor.buffer, numel(tensor.shape) * 4, tensor.byteOffset));
}

export async function readTensorU32(device: GPUDevice, tensor: Tensor): Promise<Uint32Array> {
  return new Uint32Array(await readBuffer(device, tensor.buffer, numel(tensor.shape) * 4, tensor.byteOffset));
}
