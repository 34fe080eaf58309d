import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../io/safetensors.ts';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { causalLmLoss, checkCausalLmLabels, type CausalLmLossVariant } from './causal_lm_loss.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { causalLmLoss as causalLmLossRef } from './causal_lm_loss.ref.ts';
import { MAX_ROW_WORKGROUPS } from './grid.ts';

// A row's loss is log Σexp(l − m) − (l[t] − m). Σexp: the workgroup variant's threads each add
// ⌈vocab/256⌉ terms in turn, then a tree of 8 levels; the per-row variant adds blocks of 256 in
// turn and merges the vocab/256 blocks: ≤ (vocab/256 + 8)·2⁻²⁴ and ≤ (min(vocab, 256) +
// vocab/256)·2⁻²⁴ relative in the worst case (log turns that into the same absolute error).
// Besides: exp's error on arguments |l − m| ≤ 2·scale (≈ 2·scale·2⁻²⁴ + a few ulp) and log's few
// ulp, 2e-6 absolute for scale 3. The mean adds ≤ 1027 row losses O(3) in fp32
// (~(rows/256 + 8)·2⁻²⁴ relative). dLogits = (p − onehot)/count: p carries the Σexp relative
// error, p − 1 for the target cancels (an ulp of 1), all divided by count. Seen (vocab 300 and
// 151,936, both variants): ≤ 6e-7 on losses, ≤ 1.2e-6 relative on dLogits.
const sumError = (vocab: number, variant: CausalLmLossVariant) =>
  (variant === 'rows' ? Math.min(vocab, 256) + vocab / 256 : vocab / 256 + 8) * 2 ** -24;
const lossTol = (vocab: number, variant: CausalLmLossVariant) => ({ atol: 2e-6 + sumError(vocab, variant), rtol: 4e-6 });
const gradTol = (vocab: number, variant: CausalLmLossVariant, count: number) => ({ atol: 3e-7 / Math.max(count, 1), rtol: 2e-6 + sumError(vocab, variant) });

interface Case {
  batch: number;
  seq: number;
  vocab: number;
  /** Real tokens per row; the rest is padding labelled −100. */
  lengths: number[];
  /** Positions per row labelled −100 at the front (a prompt with loss on the completion only). */
  prompt?: number;
  gradient?: boolean;
  variant: CausalLmLossVariant;
  /** The logits in separate tensors starting at these rows (the first is 0). */
  blocks?: number[];
  /** false: token classification, position t scored against label t. */
  shift?: boolean;
}

function inputs(c: Omit<Case, 'variant'>, seed: number) {
  const logits = f32(randomArray(c.batch * c.seq * c.vocab, seed, 3));
  const labels = Int32Array.from({ length: c.batch * c.seq }, (_, i) => {
    const t = i % c.seq;
    const real = t < c.lengths[Math.floor(i / c.seq)] && t >= (c.prompt ?? 0);
    // Ids cover 0 and vocab − 1.
    return real ? (i === 1 ? c.vocab - 1 : (i * 7919) % c.vocab) : IGNORE_INDEX;
  });
  return { logits, labels };
}

async function check(c: Case, seed = 1) {
  const { device } = await testGpu();
  const { batch, seq, vocab } = c;
  const rows = batch * seq;
  const { logits, labels } = inputs(c, seed);
  const starts = c.blocks ?? [0];
  const blocks = starts.map((firstRow, i) => {
    const end = i + 1 < starts.length ? starts[i + 1] : rows;
    return { firstRow, logits: uploadTensor(device, logits.subarray(firstRow * vocab, end * vocab), [end - firstRow, vocab]) };
  });
  const rowLoss = createTensor(device, [rows]);
  const loss = createTensor(device, [2]);
  runDispatches(device, causalLmLoss(device, {
    logits: c.blocks ? blocks : blocks[0].logits, labels: uploadTensor(device, labels, [rows], 'i32'), rowLoss, loss, batch, seq, vocab,
    gradient: c.gradient, variant: c.variant, shift: c.shift,
  }));
  const ref = causalLmLossRef({ logits, labels, batch, seq, vocab, shift: c.shift });
  const label = JSON.stringify(c);
  const [mean, count] = await readTensor(device, loss);
  expectClose([mean], [ref.loss], lossTol(vocab, c.variant), `${label} loss`);
  expect(count, `${label} count`).toBe(ref.count);
  expectClose(await readTensor(device, rowLoss), ref.rowLoss, lossTol(vocab, c.variant), `${label} rowLoss`);
  const after = new Float64Array(rows * vocab);
  for (const b of blocks) after.set(await readTensor(device, b.logits), b.firstRow * vocab);
  if (c.gradient === false) expectClose(after, logits, { atol: 0, rtol: 0 }, `${label} logits untouched`);
  else expectClose(after, ref.dLogits, gradTol(vocab, c.variant, ref.count), `${label} dLogits`);
  return ref;
}

describe.each(['workgroup', 'rows'] as const)('causalLmLoss (%s) matches its float64 reference', (variant) => {
  it('on one short row (batch 1) with no padding', () => check({ variant, batch: 1, seq: 5, vocab: 7, lengths: [5] }));
  it('on padded rows, one of them empty, a vocabulary not a multiple of the workgroup', () =>
    check({ variant, batch: 3, seq: 6, vocab: 300, lengths: [6, 2, 0] }));
  it('with a prompt masked out (loss on the completion only)', () => check({ variant, batch: 2, seq: 9, vocab: 33, lengths: [9, 7], prompt: 3 }));
  it("on Qwen2's vocabulary of 151,936", () => check({ variant, batch: 1, seq: 3, vocab: 151936, lengths: [3] }));
  // The per-row variant's grid caps at 1024 workgroups of 64: past 65,536 rows, too slow here.
  if (variant === 'workgroup') {
    it('past the grid cap of 1024 workgroups, where a workgroup takes several rows', () =>
      check({ variant, batch: 1, seq: MAX_ROW_WORKGROUPS + 3, vocab: 2, lengths: [MAX_ROW_WORKGROUPS] }));
  }
  it('without the gradient (evaluation), leaving the logits as they are', () => check({ variant, batch: 2, seq: 4, vocab: 11, lengths: [4, 3], gradient: false }));
  it('on logits split into blocks of rows (larger than one binding), a block boundary inside a sequence', () =>
    check({ variant, batch: 3, seq: 5, vocab: 260, lengths: [5, 4, 2], prompt: 1, blocks: [0, 3, 4, 11] }));
  it('unshifted (token classification): 9 classes, padded rows, a batch of 1 and a first sub-token pattern', async () => {
    await check({ variant, batch: 3, seq: 7, vocab: 9, lengths: [7, 3, 1], prompt: 1, shift: false });
    await check({ variant, batch: 1, seq: 5, vocab: 2, lengths: [5], shift: false });
  });
  it('unshifted, on logits split into blocks of rows', () =>
    check({ variant, batch: 2, seq: 5, vocab: 13, lengths: [5, 4], blocks: [0, 4, 7], shift: false }));
  it('on a batch with nothing to predict: loss 0 and zero gradients, no NaN', async () => {
    const ref = await check({ variant, batch: 2, seq: 3, vocab: 5, lengths: [1, 0] });
    expect([ref.loss, ref.count]).toEqual([0, 0]);
  });
});

describe('causalLmLoss', () => {
  it('refuses tensors of the wrong size or label type', async () => {
    const { device } = await testGpu();
    const t = (n: number, dtype: 'f32' | 'i32' = 'f32') => createTensor(device, [n], dtype);
    expect(() => causalLmLoss(device, { logits: t(10), labels: t(2, 'i32'), rowLoss: t(2), loss: t(2), batch: 1, seq: 2, vocab: 4 })).toThrow(/block of 10 elements is not whole rows of 4/);
    expect(() => causalLmLoss(device, { logits: t(12), labels: t(2, 'i32'), rowLoss: t(2), loss: t(2), batch: 1, seq: 2, vocab: 4 })).toThrow(/cover 3 rows, expected 2/);
    const split = [{ logits: t(4), firstRow: 0 }, { logits: t(4), firstRow: 2 }];
    expect(() => causalLmLoss(device, { logits: split, labels: t(3, 'i32'), rowLoss: t(3), loss: t(2), batch: 1, seq: 3, vocab: 4 })).toThrow(/block starts at row 2, expected 1/);
    expect(() => causalLmLoss(device, { logits: t(8), labels: t(2), rowLoss: t(2), loss: t(2), batch: 1, seq: 2, vocab: 4 })).toThrow(/labels are f32, expected i32/);
    expect(() => causalLmLoss(device, { logits: t(8), labels: t(2, 'i32'), rowLoss: t(2), loss: t(1), batch: 1, seq: 2, vocab: 4 })).toThrow(/loss has 1 elements, expected 2/);
  });
});

describe("transformers' causal-LM loss on hf-tiny/llama", () => {
  // The fixture's logits (float64) and the loss LlamaForCausalLM computed from them (in float32,
  // as transformers always does: ~1e-6 accurate); labels are the input ids with padding −100.
  const dir = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/llama');
  const ref = JSON.parse(readFileSync(join(dir, 'ref-batch.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][] };
  const tensors = readSafetensors(readFileSync(join(dir, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors;
  const [batch, seq, vocab] = tensors.get('logits')!.shape;
  const logits = Float64Array.from(tensors.get('logits')!.data);
  const expected = tensors.get('loss')!.data[0];
  const labels = Int32Array.from(ref.input_ids.flat().map((id, i) => (ref.attention_mask.flat()[i] ? id : IGNORE_INDEX)));

  it('is what the float64 reference computes (float32 rounding of transformers: 2e-6)', () => {
    expect(Math.abs(causalLmLossRef({ logits, labels, batch, seq, vocab }).loss - expected)).toBeLessThan(2e-6);
  });

  it.each(['workgroup', 'rows'] as const)('is what the %s kernel computes from the float32 logits', async (variant) => {
    const { device } = await testGpu();
    const loss = createTensor(device, [2]);
    runDispatches(device, causalLmLoss(device, {
      logits: uploadTensor(device, logits, [batch * seq, vocab]), labels: uploadTensor(device, labels, [batch * seq], 'i32'),
      rowLoss: createTensor(device, [batch * seq]), loss, batch, seq, vocab, variant,
    }));
    // Both sides round the logits to float32 and then differ by their own roundings (lossTol).
    expectClose((await readTensor(device, loss)).subarray(0, 1), [expected], lossTol(vocab, variant), 'loss');
  });
});

describe('checkCausalLmLabels', () => {
  it('accepts token ids and −100, and names the first label that is neither', () => {
    expect(() => checkCausalLmLabels([0, 4, IGNORE_INDEX], 5, 'batch 3')).not.toThrow();
    expect(() => checkCausalLmLabels([0, 5, 1], 5, 'batch 3')).toThrow('batch 3: label 5 at position 1 is neither a token id below the vocabulary size 5 nor -100');
    expect(() => checkCausalLmLabels([-1], 5, 'batch 3')).toThrow(/label -1 at position 0/);
  });
});

describe('the causal-LM loss reference', () => {
  it('shifts the labels: position t predicts label t + 1 of its row, the last position nothing', () => {
    // Logits all 0: every counted position costs log V, so the mean is log V however many count.
    const vocab = 4;
    const { loss, count, rowLoss } = causalLmLossRef({ logits: new Float64Array(6 * vocab), labels: [9, 1, 2, IGNORE_INDEX, 3, 0], batch: 2, seq: 3, vocab });
    // Row 0 predicts labels 1, 2 (the out-of-range 9 at position 0 is never a target); row 1
    // predicts 3 from position 3 and 0 from position 4.
    expectClose(rowLoss, [Math.log(4), Math.log(4), 0, Math.log(4), Math.log(4), 0], { atol: 1e-15, rtol: 0 }, 'rowLoss');
    expect(loss).toBeCloseTo(Math.log(4), 15);
    expect(count).toBe(4);
  });

  it('unshifted: position t is scored against label t, the last position too', () => {
    const vocab = 4;
    const { loss, count, rowLoss } = causalLmLossRef({ logits: new Float64Array(6 * vocab), labels: [IGNORE_INDEX, 1, 2, 3, IGNORE_INDEX, 0], batch: 2, seq: 3, vocab, shift: false });
    expectClose(rowLoss, [0, Math.log(4), Math.log(4), Math.log(4), 0, Math.log(4)], { atol: 1e-15, rtol: 0 }, 'rowLoss');
    expect(loss).toBeCloseTo(Math.log(4), 15);
    expect(count).toBe(4);
  });

  it('has dLogits equal to central differences of its loss', () => {
    const c = { batch: 2, seq: 4, vocab: 5, lengths: [4, 2] };
    const { logits, labels } = inputs(c, 4);
    const ref = causalLmLossRef({ ...c, logits, labels });
    const h = 1e-6;
    const numeric = logits.map((_, i) => {
      const [plus, minus] = [Float64Array.from(logits), Float64Array.from(logits)];
      plus[i] += h;
      minus[i] -= h;
      return (causalLmLossRef({ ...c, logits: plus, labels }).loss - causalLmLossRef({ ...c, logits: minus, labels }).loss) / (2 * h);
    });
    expectClose(ref.dLogits, numeric, { atol: 1e-9, rtol: 1e-6 }, 'dLogits');
  });
});
