// Per-adapter choice of matmul kernel, by measurement: every product a plan built with the
// default tile is timed with each candidate kernel on this device, and the fastest is used from
// then on (matmul_tiles.ts keeps the choices). Every candidate sums over k in the same order with
// the same fma, so the choice changes speed only, never a bit of the result.
import type { Gpu } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { collectPlanBuffers } from '../gpu/plan-buffers.ts';
import { createTensor } from '../gpu/tensor.ts';
import { timeDispatches } from '../gpu/timing.ts';
import { blockMatmul } from './matmul.ts';
import { DEFAULT_TILE, MATMUL_TILES, setChosenKernel, unmeasuredProducts, type MatmulKernel, type ProductShape } from './matmul_tiles.ts';

export interface KernelTiming {
  kernel: MatmulKernel;
  /** Seconds per product (GPU time where timestamp queries work, else wall clock). */
  seconds: number;
}

export interface ProductTuning {
  shape: ProductShape;
  /** Empty when the product was too large to measure beside the model, or its operands did not
   * fit in the GPU's memory: it keeps the default. */
  timings: KernelTiming[];
  chosen: MatmulKernel;
}

export interface TuningOptions {
  candidates?: readonly MatmulKernel[];
  /** Products timed per candidate (after one untimed warm-up run). */
  repeats?: number;
  /** Products whose operands would take more than this many bytes are not measured. */
  maxBytes?: number;
}

export const TUNING_CANDIDATES: readonly MatmulKernel[] = [...MATMUL_TILES, 'direct'];

/** Measures every product used on this device that has no measured kernel yet, and keeps the
 * fastest for it. Resolves to what was measured (nothing when all are known already). */
export async function tuneMatmuls(gpu: Gpu, options: TuningOptions = {}): Promise<ProductTuning[]> {
  const results: ProductTuning[] = [];
  for (const shape of unmeasuredProducts(gpu.device)) results.push(await tuneProduct(gpu, shape, options));
  return results;
}

async function tuneProduct(gpu: Gpu, shape: ProductShape, options: TuningOptions): Promise<ProductTuning> {
  const { device } = gpu;
  const { m, n, k, blocks } = shape;
  const operands = [blocks * m * k, blocks * k * n, blocks * m * n];
  const floats = operands[0] + operands[1] + operands[2];
  const tooLarge = 4 * floats > (options.maxBytes ?? 256 * 2 ** 20) || operands.some((f) => 4 * f > device.limits.maxStorageBufferBindingSize);
  if (tooLarge || operands.includes(0)) {
    setChosenKernel(device, shape, DEFAULT_TILE);
    return { shape, timings: [], chosen: DEFAULT_TILE };
  }
  // Zero-filled operands: fp32 FMA throughput does not depend on the values. A GPU already
  // full with the model may refuse them: the product then keeps the default.
  device.pushErrorScope('out-of-memory');
  const [a, b, out] = operands.map((f) => createTensor(device, [f]));
  const refused = await device.popErrorScope();
  const repeats = options.repeats ?? 5;
  const timings: KernelTiming[] = [];
  const scratch = [a.buffer, b.buffer, out.buffer];
  try {
    if (refused) {
      setChosenKernel(device, shape, DEFAULT_TILE);
      return { shape, timings, chosen: DEFAULT_TILE };
    }
    for (const kernel of options.candidates ?? TUNING_CANDIDATES) {
      // The dispatch's uniforms are freed with the operands (collectPlanBuffers gathers them).
      const { value: dispatch, buffers } = collectPlanBuffers(device, () => blockMatmul(device, {
        label: `tuning ${m}×${n}×${k}`,
        m, n, k, blocks, heads: 1, transA: shape.transA, transB: shape.transB,
        ...(kernel === 'direct' ? { variant: 'direct' as const } : { tile: kernel }),
        a: [a, { batchStride: m * k, headStride: 0, ld: shape.transA ? m : k }],
        b: [b, { batchStride: k * n, headStride: 0, ld: shape.transB ? k : n }],
        out: [out, { batchStride: m * n, headStride: 0, ld: n }],
      }));
      scratch.push(...buffers);
      // The warm-up run also waits out the pipeline's compilation.
      runDispatches(device, [dispatch]);
      await device.queue.onSubmittedWorkDone();
      const { seconds } = await timeDispatches(gpu, [dispatch], repeats);
      timings.push({ kernel, seconds: seconds / repeats });
    }
  } finally {
    for (const buffer of scratch) buffer.destroy();
  }
  const chosen = timings.reduce((best, t) => (t.seconds < best.seconds ? t : best)).kernel;
  setChosenKernel(device, shape, chosen);
  return { shape, timings, chosen };
}
