import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor, readTensorU32 } from '../gpu/readback.ts';
import { uploadTensor, writeTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { adamw, createAdamWHyper, writeAdamWHyper, type AdamWHyper } from './adamw.ts';
import { adamw as adamwRef } from './adamw.ref.ts';

// Five steps on |p| ≤ 1.1: each rounds p about twice (≤ 2·2⁻²⁴·1.1 ≈ 1.3e-7) and errs ~1e-6
// relative on an update of size ≤ lr = 0.01, so ≤ 7e-7 in all; m and v (≤ 1) round likewise.
// A frozen vector that moved, or a bias correction from the wrong step, errs by ≥ 1e-3.
const PARAM_TOL = { atol: 2e-6, rtol: 0 };
const MOMENT_TOL = { atol: 1e-6, rtol: 1e-6 };

describe('adamw', () => {
  it('matches its float64 reference over steps where vectors are frozen and released, each with its own step count, gradients scaled by clipping, and a vector without weight decay', async () => {
    const { device } = await testGpu();
    const lengths = [3, 1, 300, 17, 5];
    const vectorIndex = lengths.flatMap((length, vector) => Array<number>(length).fill(vector));
    const count = vectorIndex.length;
    // Vectors 1 and 2 have taken steps before (non-zero moments); vector 4 stays frozen (padding).
    let steps: Uint32Array = Uint32Array.from([0, 5, 2, 0, 7]);
    const started = (i: number) => steps[vectorIndex[i]] > 0;
    let params = f32(randomArray(count, 1));
    let m = f32(randomArray(count, 2, 0.1).map((x, i) => (started(i) ? x : 0)));
    let v = f32(randomArray(count, 3, 0.01).map((x, i) => (started(i) ? Math.abs(x) : 0)));
    const decays = [1, 1, 1, 0, 1];
    const frozenByStep = [
      [0, 0, 0, 0, 1],
      [0, 1, 0, 0, 1],
      [0, 1, 1, 0, 1],
      [0, 0, 1, 0, 1], // vector 1 released after two frozen steps
      [0, 0, 0, 0, 1],
    ];
    const hyper = (step: number): AdamWHyper => ({ lr: 0.01 * (1 - step / 10), beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });

    const gpu = {
      params: uploadTensor(device, params, [count]),
      grads: uploadTensor(device, new Float32Array(count), [count]),
      m: uploadTensor(device, m, [count]),
      v: uploadTensor(device, v, [count]),
      vectorIndex: uploadTensor(device, vectorIndex, [count], 'u32'),
      steps: uploadTensor(device, steps, [lengths.length], 'u32'),
      frozen: uploadTensor(device, frozenByStep[0], [lengths.length], 'u32'),
      hyper: createAdamWHyper(device, hyper(0)),
      gradFactor: uploadTensor(device, [1, 0], [2]),
      decays: uploadTensor(device, decays, [lengths.length], 'u32'),
    };
    // Vector 3 is a bias: no weight decay. Gradient clipping scales the gradients of two of the steps.
    const factors = [1, 0.25, 1, 0.5, 1];
    const dispatches = adamw(device, gpu); // built once, replayed every step as in training

    for (const [step, frozen] of frozenByStep.entries()) {
      const grads = f32(randomArray(count, 10 + step));
      writeTensor(device, gpu.grads, grads);
      writeTensor(device, gpu.frozen, frozen);
      writeAdamWHyper(device, gpu.hyper, hyper(step));
      writeTensor(device, gpu.gradFactor, [factors[step]]);
      const before = { params: await readTensor(device, gpu.params), m: await readTensor(device, gpu.m), v: await readTensor(device, gpu.v) };
      runDispatches(device, dispatches);
      const { lr, beta1, beta2, eps, weightDecay } = hyper(step);
      ({ params, m, v, steps } = adamwRef({ params, grads, m, v, vectorIndex, steps, frozen, lr, beta1, beta2, eps, weightDecay, gradFactor: factors[step], decays }));

      const after = { params: await readTensor(device, gpu.params), m: await readTensor(device, gpu.m), v: await readTensor(device, gpu.v) };
      const label = `step ${step}, frozen ${frozen.join('')}`;
      expect([...(await readTensorU32(device, gpu.steps))], `${label}: steps`).toEqual([...steps]);
      expectClose(after.params, params, PARAM_TOL, `${label}: params`);
      expectClose(after.m, m, MOMENT_TOL, `${label}: m`);
      expectClose(after.v, v, MOMENT_TOL, `${label}: v`);
      // Frozen means untouched, bit for bit (PyTorch skips a parameter without a gradient).
      for (let i = 0; i < count; i++) {
        if (!frozen[vectorIndex[i]]) continue;
        for (const key of ['params', 'm', 'v'] as const) expect(after[key][i], `${label}: frozen ${key}[${i}]`).toBe(before[key][i]);
      }
    }
  });
});
