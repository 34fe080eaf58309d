import { describe, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { add, scaleAdd } from './elementwise.ts';
import { add as addRef, scaleAdd as scaleAddRef } from './elementwise.ref.ts';

// One or two fp32 roundings of sums of values ≤ 1e3 in magnitude: 2 ulp relative, and an
// absolute floor for sums that cancel to nearly zero (ulp of the operands, ~6e-5 at 1e3).
const TOL = { atol: 2e-4, rtol: 2.5e-7 };

async function check(n: number, accumulate: boolean, scale = 1) {
  const { device } = await testGpu();
  const a = f32(randomArray(n, 1, scale));
  const b = f32(randomArray(n, 2, scale));
  const out0 = f32(randomArray(n, 3, scale));
  const out = uploadTensor(device, out0, [n]);
  runDispatches(device, [add(device, { a: uploadTensor(device, a, [n]), b: uploadTensor(device, b, [n]), out, n, accumulate })]);
  expectClose(await readTensor(device, out), addRef({ a, b, out: out0, n, accumulate }), TOL, `add n=${n} accumulate=${accumulate}`);
}

describe('add matches its float64 reference', () => {
  it('on one element', () => check(1, false));
  it('on a length that is not a multiple of the workgroup', () => check(1000, false, 1e3));
  it('accumulating into out', () => check(777, true));
  it('past the grid cap, where each thread strides over several elements', () => check(4096 * 256 * 2 + 5, true));
});

// w·x rounds once, the add once more: 2 ulp relative, and the operands' ulp where a sum cancels.
async function checkScaleAdd(n: number, weight: number, accumulate: boolean) {
  const { device } = await testGpu();
  const x = f32(randomArray(n, 4, 10));
  const out0 = f32(randomArray(n, 5));
  const out = uploadTensor(device, out0, [n]);
  runDispatches(device, [scaleAdd(device, { x: uploadTensor(device, x, [n]), weight: uploadTensor(device, [weight], [1]), out, n, accumulate })]);
  expectClose(await readTensor(device, out), scaleAddRef({ x, weight: Math.fround(weight), out: out0, n, accumulate }), { atol: 2e-6, rtol: 2.5e-7 }, `scaleAdd n=${n} w=${weight} accumulate=${accumulate}`);
}

describe('scaleAdd matches its float64 reference', () => {
  it('writing w·x over what out held', () => checkScaleAdd(1000, 0.3, false));
  it('accumulating w·x into out', () => checkScaleAdd(777, 0.7, true));
  it('past the grid cap', () => checkScaleAdd(4096 * 256 * 2 + 5, 1 / 3, true));
});
