// Grids shared by the kernels that loop instead of assuming one workgroup per item, so any size
// fits WebGPU's 65535 workgroups per dimension while the GPU still gets plenty of parallelism.
import { ceilDiv } from '../gpu/dispatch.ts';

/** Threads per workgroup of the element-wise (grid-stride) kernels. */
export const ELEMENTWISE_WORKGROUP = 256;
// 4096 × 256 threads fill any current GPU several times over; beyond that, each thread loops.
const MAX_ELEMENTWISE_WORKGROUPS = 4096;

/** Grid for a grid-stride kernel over n elements (the shader strides by num_workgroups·256). */
export function gridStride(n: number): [number] {
  return [Math.min(ceilDiv(n, ELEMENTWISE_WORKGROUP), MAX_ELEMENTWISE_WORKGROUPS)];
}

// 1024 workgroups of 256 threads are about what an H100 holds resident at once; past that a
// workgroup takes several rows in turn (rows wg.x, wg.x + num_workgroups.x, …).
export const MAX_ROW_WORKGROUPS = 1024;

/** Grid of a kernel with one workgroup per row, capped at MAX_ROW_WORKGROUPS. */
export function rowGrid(rows: number): [number] {
  return [Math.min(rows, MAX_ROW_WORKGROUPS)];
}
