// The peer every benchmark compares against: TensorFlow.js's WebGPU backend on the SAME device
// (one adapter, one queue), so a ratio measures the kernels and nothing else.
import { register } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
import type { Gpu } from '../src/gpu/device.ts';
import { nodeGpu } from '../src/gpu/node.ts';

export type Tf = typeof TF;

// tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does, and
// it is not a dependency): the training peer imports them from tfjs-core's ES modules, whose
// `…/gradients` imports name gradients.js but resolve to the gradients/ folder in Node. Both
// copies share the engine and the registries through globalThis, as tfjs allows.
const GRADIENTS_HOOK = `export async function resolve(specifier, context, next) {
  const inCore = context.parentURL?.includes('/@tensorflow/tfjs-core/dist/');
  return next(inCore && /^(\\.\\.?\\/)+gradients$/.test(specifier) ? specifier + '.js' : specifier, context);
}`;

export async function tfOnDevice(gpu: Gpu): Promise<Tf> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  g.navigator ??= {};
  g.navigator.gpu ??= await nodeGpu(); // the backend refuses to start without navigator.gpu
  const tf = await import('@tensorflow/tfjs-core');
  register(`data:text/javascript,${encodeURIComponent(GRADIENTS_HOOK)}`);
  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const { WebGPUBackend } = await import('@tensorflow/tfjs-backend-webgpu');
  // Its kernels are registered under the name 'webgpu': replace that backend's factory with
  // one built on our device.
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(gpu.device as never, { vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture } as never));
  await tf.setBackend('webgpu');
  await tf.ready();
  return tf;
}

/** Median seconds of `run` over `repeats` timed calls after one warm-up. */
export async function median(repeats: number, run: () => Promise<void>): Promise<number> {
  await run();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await run();
    times.push((performance.now() - start) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

export function formatRow(cells: (string | number)[], widths: number[]): string {
  return cells.map((c, i) => String(c).padStart(widths[i])).join('  ');
}

export type TfTensor = ReturnType<Tf['zeros']>;
export type TfVariable = ReturnType<Tf['variable']>;
export type TfScalar = ReturnType<Tf['scalar']>;

/** The peer's training step: TF.js's Adam (β 0.9/0.999, ε 1e-8, as ours) minimising `loss` over
 * `variables`; `kept` are the peer's frozen tensors, freed with it. */
export interface TfTrainer {
  /** The loss before any update (the forward alone). */
  loss(): Promise<number>;
  step(): Promise<number>;
  dispose(): void;
}

export function tfAdamTrainer(tf: Tf, loss: () => TfScalar, variables: TfVariable[], kept: TfTensor[]): TfTrainer {
  const adam = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const read = async (value: TfScalar) => {
    const [result] = await value.data();
    value.dispose();
    return result;
  };
  return {
    loss: () => read(tf.tidy(loss)),
    step: () => read(tf.tidy(() => adam.minimize(loss, true, variables)!)),
    dispose: () => {
      adam.dispose();
      for (const t of [...kept, ...variables]) t.dispose();
    },
  };
}
