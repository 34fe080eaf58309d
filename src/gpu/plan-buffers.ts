// The buffers a plan's builders create (uniforms, partial sums) belong to that plan alone: they
// are collected while it is built, so that a superseded plan (a re-plan at an AVF step) can free
// them instead of leaking a set per re-plan.
import { placeholder } from './tensor.ts';

export interface PlanBuffers<T> {
  value: T;
  buffers: GPUBuffer[];
}

/** Runs `build`, collecting every buffer it creates on `device`. */
export function collectPlanBuffers<T>(device: GPUDevice, build: () => T): PlanBuffers<T> {
  // The shared placeholder outlives any one plan: make sure it exists before collecting.
  placeholder(device);
  const buffers: GPUBuffer[] = [];
  const hadOwn = Object.prototype.hasOwnProperty.call(device, 'createBuffer');
  const original = device.createBuffer;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = original.call(device, descriptor);
    buffers.push(buffer);
    return buffer;
  };
  try {
    return { value: build(), buffers };
  } finally {
    if (hadOwn) device.createBuffer = original;
    else delete (device as { createBuffer?: unknown }).createBuffer;
  }
}
