import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { mseLoss, softmaxCrossEntropy } from './loss.ts';
import { mseLoss as mseLossRef, softmaxCrossEntropy as softmaxCrossEntropyRef } from './loss.ref.ts';

// Cross-entropy: logits − max is exact (Sterbenz) or one rounding; exp, log and the division are
// a few ulp each (~1e-6 relative with room for exp's argument-dependent error); the mean adds
// ≤ rows = 37 row losses in fp32 (~rows·2⁻²⁴ relative). dLogits = (p − onehot)/rows: an absolute
// floor of a few ulp of 1, divided by rows, where p − 1 cancels.
const CE_LOSS_TOL = { atol: 2e-6, rtol: 4e-6 };
const ceGradTol = (rows: number) => ({ atol: 3e-7 / rows, rtol: 4e-6 });
// MSE: pred − target rounds to 2⁻²⁴ of the operands (|·| ≤ 1, so ≤ 2⁻²³ absolute); the loss is
// a strided + tree sum of ≤ 1000 squares (~(rows/256 + 8)·2⁻²⁴ relative).
const MSE_LOSS_TOL = { atol: 0, rtol: 2e-6 };
const mseGradTol = (rows: number) => ({ atol: 3e-7 / rows, rtol: 3e-7 });

async function checkCrossEntropy(rows: number, classes: number, { offset = 0, scale = 3 } = {}) {
  const { device } = await testGpu();
  const logits = f32(randomArray(rows * classes, rows + classes, scale).map((v) => v + offset));
  // Labels cover the first and the last class.
  const labels = Array.from({ length: rows }, (_, r) => (r === 0 ? classes - 1 : (r * 5) % classes));
  const loss = createTensor(device, [1]);
  const dLogits = createTensor(device, [rows, classes]);
  runDispatches(device, [
    softmaxCrossEntropy(device, {
      logits: uploadTensor(device, logits, [rows, classes]), labels: uploadTensor(device, labels, [rows], 'u32'),
      loss, dLogits, rows, classes,
    }),
  ]);
  const ref = softmaxCrossEntropyRef({ logits, labels, rows, classes });
  const label = `cross-entropy ${rows}×${classes} offset ${offset} scale ${scale}`;
  expectClose(await readTensor(device, loss), [ref.loss], CE_LOSS_TOL, `${label} loss`);
  expectClose(await readTensor(device, dLogits), ref.dLogits, ceGradTol(rows), `${label} dLogits`);
}

async function checkMse(rows: number) {
  const { device } = await testGpu();
  const pred = f32(randomArray(rows, 11));
  const target = f32(randomArray(rows, 12));
  const loss = createTensor(device, [1]);
  const dPred = createTensor(device, [rows]);
  runDispatches(device, [mseLoss(device, { pred: uploadTensor(device, pred, [rows]), target: uploadTensor(device, target, [rows]), loss, dPred, rows })]);
  const ref = mseLossRef({ pred, target, rows });
  expectClose(await readTensor(device, loss), [ref.loss], MSE_LOSS_TOL, `mse ${rows} loss`);
  expectClose(await readTensor(device, dPred), ref.dPred, mseGradTol(rows), `mse ${rows} dPred`);
}

describe('softmaxCrossEntropy matches its float64 reference', () => {
  it('on one row of two classes', () => checkCrossEntropy(1, 2));
  it('on a batch of 37 rows of 3 classes', () => checkCrossEntropy(37, 3));
  it('on more classes than the workgroup has threads', () => checkCrossEntropy(5, 300));
  it('on logits offset by 1000 and spread over ±80 (stable softmax: no overflow, no NaN)', () => checkCrossEntropy(9, 7, { offset: 1000, scale: 80 }));
});

describe('mseLoss matches its float64 reference', () => {
  it('on one row', () => checkMse(1));
  it('on more rows than the workgroup has threads', () => checkMse(300));
  it('on a batch of 1000 rows', () => checkMse(1000));
});

describe('the loss references', () => {
  const h = 1e-6;
  const fd = { atol: 1e-8, rtol: 1e-6 }; // central differences: O(h²) truncation, ~1e-16/h rounding
  const numeric = (v: Float64Array, f: (p: Float64Array) => number) =>
    v.map((_, i) => {
      const plus = Float64Array.from(v);
      const minus = Float64Array.from(v);
      plus[i] += h;
      minus[i] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    });

  it('cross-entropy has the gradient of its loss (central differences)', () => {
    const rows = 4;
    const classes = 5;
    const logits = randomArray(rows * classes, 21, 3);
    const labels = [4, 0, 2, 2];
    const { loss, dLogits } = softmaxCrossEntropyRef({ logits, labels, rows, classes });
    expect(loss).toBeGreaterThan(0);
    expectClose(dLogits, numeric(logits, (l) => softmaxCrossEntropyRef({ logits: l, labels, rows, classes }).loss), fd, 'dLogits');
  });

  it('mse has the gradient of its loss (central differences)', () => {
    const pred = randomArray(6, 22);
    const target = randomArray(6, 23);
    const { dPred } = mseLossRef({ pred, target, rows: 6 });
    expectClose(dPred, numeric(pred, (p) => mseLossRef({ pred: p, target, rows: 6 }).loss), fd, 'dPred');
  });
});
