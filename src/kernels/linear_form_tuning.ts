// The per-module form by measurement (issue #16): FLOPs (chooseLinearForm) say which form does
// less arithmetic, but a GPU runs a skinny n×r product at another rate than a square one, so on
// a GPU each distinct module shape runs one forward + backward in both forms — their products on
// the matmul kernels measured for them — and the faster form is kept. Both forms compute the same
// function and gradients (linear_forms.test.ts); only speed and memory differ.
import type { Gpu } from '../gpu/device.ts';
import { runDispatches, type Dispatch } from '../gpu/dispatch.ts';
import { collectPlanBuffers } from '../gpu/plan-buffers.ts';
import { createTensor, type Tensor } from '../gpu/tensor.ts';
import { timeDispatches } from '../gpu/timing.ts';
import { factoredLinearBackward, factoredLinearForward } from './factored_linear.ts';
import { chooseLinearForm, recomposedLinearBackward, recomposedLinearForward, type LinearForm } from './linear_forms.ts';
import { tuneMatmuls, type TuningOptions } from './matmul_tuning.ts';

export interface LinearShape {
  dIn: number;
  dOut: number;
  tokens: number;
  /** Σ is trained: the backward computes dΣ. */
  needsSigmaGrad: boolean;
}

export interface FormMeasurement {
  shape: LinearShape;
  /** Seconds of one forward + backward; absent when the shape was too large to measure beside
   * the model (the FLOP count then decides). */
  factoredSeconds?: number;
  recomposedSeconds?: number;
  form: LinearForm;
}

export function linearShapeKey(s: LinearShape): string {
  return `${s.dIn}→${s.dOut} × ${s.tokens}${s.needsSigmaGrad ? '' : ' (Σ frozen)'}`;
}

/** Measures each distinct shape once; resolves to the chosen form by linearShapeKey. */
export interface FormMeasureOptions {
  repeats?: number;
  /** Shapes whose tensors would take more than this many bytes are not measured. */
  maxBytes?: number;
  /** How the products' matmul kernels are measured first (matmul_tuning.ts). */
  tuning?: TuningOptions;
}

export async function measureLinearForms(gpu: Gpu, shapes: readonly LinearShape[], options: FormMeasureOptions = {}): Promise<Map<string, FormMeasurement>> {
  const measured = new Map<string, FormMeasurement>();
  for (const shape of shapes) {
    const key = linearShapeKey(shape);
    if (!measured.has(key)) measured.set(key, await measureShape(gpu, shape, options));
  }
  return measured;
}

async function measureShape(gpu: Gpu, shape: LinearShape, options: FormMeasureOptions): Promise<FormMeasurement> {
  const repeats = options.repeats ?? 5;
  const maxBytes = options.maxBytes ?? 512 * 2 ** 20;
  const { device } = gpu;
  const { dIn, dOut, tokens: n, needsSigmaGrad } = shape;
  const r = Math.min(dIn, dOut);
  const byFlops = (): FormMeasurement => ({ shape, form: chooseLinearForm(dIn, dOut, n, needsSigmaGrad).form });
  const sizes = {
    x: n * dIn, g: n * dOut, y: n * dOut, dx: n * dIn, t: n * r, h: n * r, u: dOut * r, v: dIn * r, sigma: r, bias: dOut,
    dSigma: r, dBias: dOut, w: dOut * dIn, gradW: dOut * dIn, projected: dOut * r,
  };
  const floats = Object.values(sizes).reduce((a, b) => a + b, 0);
  if (4 * floats > maxBytes || Object.values(sizes).some((f) => 4 * f > device.limits.maxStorageBufferBindingSize)) return byFlops();
  device.pushErrorScope('out-of-memory');
  const t = Object.fromEntries(Object.entries(sizes).map(([name, f]) => [name, createTensor(device, [f])])) as Record<keyof typeof sizes, Tensor>;
  const refused = await device.popErrorScope();
  const scratch = Object.values(t).map((tensor) => tensor.buffer);
  try {
    if (refused) return byFlops();
    const dims = { n, dIn, dOut, r };
    const dSigma = needsSigmaGrad ? t.dSigma : undefined;
    // What the builders allocate (uniforms, partial sums) is freed with the tensors.
    const collected = (build: () => Dispatch[]) => () => {
      const { value, buffers } = collectPlanBuffers(device, build);
      scratch.push(...buffers);
      return value;
    };
    const forms: Record<LinearForm, () => Dispatch[]> = {
      factored: collected(() => [
        ...factoredLinearForward(device, { ...dims, x: t.x, u: t.u, sigma: t.sigma, v: t.v, bias: t.bias, t: t.t, y: t.y }),
        ...factoredLinearBackward(device, { ...dims, g: t.g, t: t.t, u: t.u, sigma: t.sigma, v: t.v, h: t.h, dSigma, dBias: t.dBias, dx: t.dx }),
      ]),
      recomposed: collected(() => [
        ...recomposedLinearForward(device, { ...dims, x: t.x, u: t.u, sigma: t.sigma, v: t.v, bias: t.bias, w: t.w, y: t.y }),
        ...recomposedLinearBackward(device, { ...dims, g: t.g, x: t.x, u: t.u, v: t.v, w: t.w, gradW: t.gradW, projected: t.projected, dSigma, dBias: t.dBias, dx: t.dx }),
      ]),
    };
    // Build once so the matmul tuner learns these products, then again on the measured kernels.
    for (const build of Object.values(forms)) build();
    await tuneMatmuls(gpu, options.tuning);
    const seconds = async (form: LinearForm) => {
      const dispatches = forms[form]();
      runDispatches(device, dispatches); // warm-up: compiles what the tuner did not
      await device.queue.onSubmittedWorkDone();
      return (await timeDispatches(gpu, dispatches, repeats)).seconds / repeats;
    };
    const factoredSeconds = await seconds('factored');
    const recomposedSeconds = await seconds('recomposed');
    return { shape, factoredSeconds, recomposedSeconds, form: recomposedSeconds < factoredSeconds ? 'recomposed' : 'factored' };
  } finally {
    for (const buffer of scratch) buffer.destroy();
  }
}
