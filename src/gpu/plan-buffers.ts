// The buffers a plan's builders create (uniforms, partial sums) belong to that plan alone: they
// are collected while it is built, so that a superseded plan (a re-plan at an AVF step) can free
// them instead of leaking a set per re-plan.
import { GpuBuffers } from './buffers.ts';

export interface PlanBuffers<T> {
  value: T;
  buffers: GPUBuffer[];
}

/** Runs `build` (synchronous), collecting every buffer it creates on `device`. */
export function collectPlanBuffers<T>(device: GPUDevice, build: () => T): PlanBuffers<T> {
  const owner = new GpuBuffers(device);
  const value = owner.collect(build);
  return { value, buffers: owner.buffers };
}
