import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { spanLoss } from './span_loss.ts';
import { spanLoss as spanLossRef } from './span_loss.ref.ts';

// Per row: a max and a Σexp over ≤ seq terms (threads add ⌈seq/256⌉ in turn, then a tree of 8
// levels: ≤ (seq/256 + 8)·2⁻²⁴ relative), exp and log a few ulp on |l − m| ≤ 2·scale, and a sum of
// ≤ batch row losses O(3). dLogits = (p − onehot)/(2·count): p's relative error, the target's
// p − 1 cancelling to an ulp of 1.
const lossTol = { atol: 3e-6, rtol: 3e-6 };
const gradTol = (count: number) => ({ atol: 4e-7 / count, rtol: 3e-6 });

interface Case {
  batch: number;
  seq: number;
  /** Tokens of each row (the rest is padding). */
  lengths: number[];
  /** Start and end of each row (−100 or a padded position: not counted). */
  spans: [number, number][];
}

async function check(c: Case, seed = 1) {
  const { device } = await testGpu();
  const { batch, seq } = c;
  const logits = f32(randomArray(2 * batch * seq, seed, 3));
  const mask = Uint32Array.from({ length: batch * seq }, (_, i) => Number(i % seq < c.lengths[Math.floor(i / seq)]));
  const labels = Int32Array.from(c.spans.flat());
  const loss = createTensor(device, [1]);
  const dLogits = createTensor(device, [batch * seq, 2]);
  runDispatches(device, [spanLoss(device, {
    logits: uploadTensor(device, logits, [batch * seq, 2]), labels: uploadTensor(device, labels, [2 * batch], 'i32'),
    mask: uploadTensor(device, mask, [batch * seq], 'u32'), loss, dLogits, batch, seq,
  })]);
  const ref = spanLossRef({ logits, labels, mask, batch, seq });
  const label = JSON.stringify(c);
  expectClose(await readTensor(device, loss), [ref.loss], lossTol, `${label} loss`);
  expectClose(await readTensor(device, dLogits), ref.dLogits, gradTol(Math.max(1, batch)), `${label} dLogits`);
  return ref;
}

describe('spanLoss matches its float64 reference', () => {
  it('on one unpadded row (batch 1), the answer at CLS', () => check({ batch: 1, seq: 5, lengths: [5], spans: [[0, 0]] }));
  it('on padded rows of a length past the workgroup (300), spans at the ends of the rows', () =>
    check({ batch: 3, seq: 300, lengths: [300, 17, 259], spans: [[299, 299], [3, 16], [1, 258]] }));
  it('with uncounted labels: −100, a padded position, and a row whose end alone counts', async () => {
    const ref = await check({ batch: 4, seq: 7, lengths: [7, 3, 5, 6], spans: [[IGNORE_INDEX, IGNORE_INDEX], [2, 4], [1, 3], [5, 6]] });
    expect(ref.loss).toBeGreaterThan(0);
  });
  it('on a batch with nothing counted: loss 0 and zero gradients, no NaN', async () => {
    const ref = await check({ batch: 2, seq: 3, lengths: [3, 0], spans: [[IGNORE_INDEX, IGNORE_INDEX], [0, 1]] });
    expect(ref.loss).toBe(0);
  });
});

describe('the span loss reference', () => {
  it('is the mean of the start and end cross-entropies over the row tokens (uniform logits: log of the length)', () => {
    const { loss } = spanLossRef({ logits: new Float64Array(2 * 2 * 4), labels: [0, 3, 1, 1], mask: [1, 1, 1, 1, 1, 1, 0, 0], batch: 2, seq: 4 });
    expect(loss).toBeCloseTo((Math.log(4) + Math.log(2)) / 2, 14);
  });

  it('has dLogits equal to central differences of its loss, none at padding', () => {
    const c = { batch: 3, seq: 5, labels: [1, 3, 0, 0, 2, 4], mask: [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1] };
    const logits = randomArray(2 * 15, 3, 2);
    const ref = spanLossRef({ ...c, logits });
    const h = 1e-6;
    const numeric = logits.map((_, i) => {
      const [plus, minus] = [Float64Array.from(logits), Float64Array.from(logits)];
      plus[i] += h;
      minus[i] -= h;
      return (spanLossRef({ ...c, logits: plus }).loss - spanLossRef({ ...c, logits: minus }).loss) / (2 * h);
    });
    expectClose(ref.dLogits, numeric, { atol: 1e-9, rtol: 1e-6 }, 'dLogits');
    expect(ref.dLogits.slice(2 * 8, 2 * 10)).toEqual(new Float64Array(4));
  });
});

describe('spanLoss', () => {
  it('refuses tensors of the wrong size or type', async () => {
    const { device } = await testGpu();
    const t = (n: number, dtype: 'f32' | 'i32' | 'u32' = 'f32') => createTensor(device, [n], dtype);
    const ok = { logits: t(12), labels: t(4, 'i32'), mask: t(6, 'u32'), loss: t(1), dLogits: t(12), batch: 2, seq: 3 };
    expect(() => spanLoss(device, ok)).not.toThrow();
    expect(() => spanLoss(device, { ...ok, logits: t(6) })).toThrow(/logits has 6 elements, expected 12/);
    expect(() => spanLoss(device, { ...ok, labels: t(4, 'u32') })).toThrow(/labels is u32, expected i32/);
    expect(() => spanLoss(device, { ...ok, mask: t(5, 'u32') })).toThrow(/mask has 5 elements, expected 6/);
  });
});
