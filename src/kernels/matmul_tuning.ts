// Per-adapter choice of matmul kernel, by measurement: every product a plan built with the
// default tile is timed with each candidate kernel on this device, and the fastest is used from
// then on (matmul_tiles.ts keeps the choices). Every candidate sums over k in the same order with
// the same fma, so the choice changes speed only, never a bit of the result. All candidates'
// pipelines are compiled together first, and the winners' pipelines for the plans' operand flags
// together last: a real driver spends tens to hundreds of ms on each, may compile them on several
// threads, and may refuse one (registers, shared memory), which then drops out of the choice
// instead of failing the training's start.
import type { Gpu } from '../gpu/device.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { collectPlanBuffers } from '../gpu/plan-buffers.ts';
import { createTensor } from '../gpu/tensor.ts';
import { timeDispatches } from '../gpu/timing.ts';
import { preparePipelines } from '../gpu/pipelines.ts';
import { blockMatmul, matmulPipeline } from './matmul.ts';
import { DEFAULT_TILE, MATMUL_TILES, productFlags, setChosenKernel, unmeasuredProducts, type MatmulKernel, type OperandFlags, type ProductShape } from './matmul_tiles.ts';

export interface KernelTiming {
  kernel: MatmulKernel;
  /** Seconds per product (GPU time where timestamp queries work, else wall clock). */
  seconds: number;
}

export interface KernelRefusal {
  kernel: MatmulKernel;
  /** The driver's reason for refusing the kernel's pipeline. */
  reason: string;
}

export interface ProductTuning {
  shape: ProductShape;
  /** Empty when the product was too large to measure beside the model, its operands did not fit
   * in the GPU's memory, or the driver refused every candidate: it keeps the default. */
  timings: KernelTiming[];
  /** Candidates whose pipeline the driver refused to compile, for the timing (not measured) or
   * for the plan's operand flags after winning (the next fastest took its place): never chosen. */
  refused: KernelRefusal[];
  chosen: MatmulKernel;
}

export interface TuningOptions {
  candidates?: readonly MatmulKernel[];
  /** Products timed per candidate (after one untimed warm-up run). */
  repeats?: number;
  /** Products whose operands would take more than this many bytes are not measured. */
  maxBytes?: number;
  /** Called after each product (measured or left at the default): done of total. */
  onProduct?: (done: number, total: number) => void;
}

export const TUNING_CANDIDATES: readonly MatmulKernel[] = [...MATMUL_TILES, 'direct'];

/** Measures every product used on this device that has no measured kernel yet, and keeps the
 * fastest for it. Resolves to what was measured (nothing when all are known already). */
export async function tuneMatmuls(gpu: Gpu, options: TuningOptions = {}): Promise<ProductTuning[]> {
  const { device } = gpu;
  const candidates = options.candidates ?? TUNING_CANDIDATES;
  const shapes = unmeasuredProducts(device);
  const uses = new Map(shapes.map((shape) => [shape, productFlags(device, shape)]));
  const measured = shapes.filter((shape) => measurable(device, shape, options));
  // Every candidate for every transposition the measured products use, compiled at once.
  const transKey = (s: { transA: boolean; transB: boolean }) => `${s.transA},${s.transB}`;
  const transpositions = new Map(measured.map((s) => [transKey(s), { transA: s.transA, transB: s.transB }]));
  const errors = new Map(await Promise.all([...transpositions].map(async ([key, t]) => [key, await preparePipelines(device, candidates.map((kernel) => matmulPipeline(kernel, t)))] as const)));
  const results: ProductTuning[] = [];
  for (const shape of shapes) {
    if (!measured.includes(shape)) {
      setChosenKernel(device, shape, DEFAULT_TILE);
      results.push({ shape, timings: [], refused: [], chosen: DEFAULT_TILE });
    } else {
      const refusals = errors.get(transKey(shape))!;
      const refused = candidates.flatMap((kernel, i) => (refusals[i] ? [{ kernel, reason: reasonOf(refusals[i]) }] : []));
      const compiled = candidates.filter((_, i) => !refusals[i]);
      results.push({ ...(await tuneProduct(gpu, shape, compiled, options)), refused });
    }
    options.onProduct?.(results.length, shapes.length);
  }
  await compileForPlans(device, results.filter((r) => r.timings.length), uses);
  return results;
}

/** The plans are rebuilt on the winners with their own operand flags (bias, accumulation …):
 * those pipelines compile here, all at once, and a winner the driver refuses one of them for
 * gives way to the next fastest candidate. */
async function compileForPlans(device: GPUDevice, results: ProductTuning[], uses: Map<ProductShape, OperandFlags[]>): Promise<void> {
  const runnersUp = new Map(results.map((r) => [r, [...r.timings].sort((a, b) => a.seconds - b.seconds).map((t) => t.kernel).filter((k) => k !== r.chosen)]));
  let pending = results;
  while (pending.length) {
    const errors = await Promise.all(pending.map((r) => preparePipelines(device, uses.get(r.shape)!.map((flags) => matmulPipeline(r.chosen, r.shape, flags)))));
    pending = pending.filter((r, i) => {
      const error = errors[i].find((e) => e !== undefined);
      if (!error) return false;
      r.refused.push({ kernel: r.chosen, reason: reasonOf(error) });
      const next = runnersUp.get(r)!.shift();
      r.chosen = next ?? DEFAULT_TILE;
      setChosenKernel(device, r.shape, r.chosen);
      return next !== undefined;
    });
  }
}

/** Whether the product's operands fit the measuring budget and a binding. */
function measurable(device: GPUDevice, { m, n, k, blocks }: ProductShape, options: TuningOptions): boolean {
  const operands = [blocks * m * k, blocks * k * n, blocks * m * n];
  const floats = operands[0] + operands[1] + operands[2];
  const tooLarge = 4 * floats > (options.maxBytes ?? 256 * 2 ** 20) || operands.some((f) => 4 * f > device.limits.maxStorageBufferBindingSize);
  return !tooLarge && !operands.includes(0);
}

function reasonOf(error: Error): string {
  const reason = (error as Partial<GPUPipelineError>).reason;
  return reason ? `${reason}: ${error.message}` : error.message;
}

/** Times the product with each candidate (their pipelines compiled) and keeps the fastest. */
async function tuneProduct(gpu: Gpu, shape: ProductShape, candidates: readonly MatmulKernel[], options: TuningOptions): Promise<Omit<ProductTuning, 'refused'>> {
  const { device } = gpu;
  const { m, n, k, blocks } = shape;
  const keepDefault = () => {
    setChosenKernel(device, shape, DEFAULT_TILE);
    return { shape, timings: [], chosen: DEFAULT_TILE };
  };
  if (!candidates.length) return keepDefault();
  // Zero-filled operands: fp32 FMA throughput does not depend on the values. A GPU already
  // full with the model may refuse them: the product then keeps the default.
  device.pushErrorScope('out-of-memory');
  const [a, b, out] = [blocks * m * k, blocks * k * n, blocks * m * n].map((f) => createTensor(device, [f]));
  const outOfMemory = await device.popErrorScope();
  const repeats = options.repeats ?? 5;
  const timings: KernelTiming[] = [];
  const scratch = [a.buffer, b.buffer, out.buffer];
  try {
    if (outOfMemory) return keepDefault();
    for (const kernel of candidates) {
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
      runDispatches(device, [dispatch]); // warm-up
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
