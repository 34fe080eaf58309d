// Causal-LM logits split into row blocks (as when they exceed one storage binding) give the same
// logits, loss and gradients as one block: 3 × 48 = 144 rows in blocks of 64, 64 and 16, with the
// head trained (dW summed over the blocks), tied and untied.
import { describe, expect, it } from 'vitest';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { testGpu } from '../test/gpu.ts';
import type { TokenBatch } from './batch.ts';
import { GpuModel } from './gpu-model.ts';
import type { LmHeadBlock } from './gpu-lm-head.ts';
import { causalLmLabels } from './task.ts';
import { randomDecoder } from './test-decoders.ts';
import type { ModelWeights } from './weights.ts';

function batchOf(B: number, T: number, vocab: number): TokenBatch {
  const inputIds = new Uint32Array(B * T);
  const attentionMask = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    const length = T - 7 * b; // right padding of 0, 7 and 14 positions
    for (let t = 0; t < T; t++) {
      inputIds[b * T + t] = t < length ? (b * 31 + t * 17) % vocab : 2;
      attentionMask[b * T + t] = t < length ? 1 : 0;
    }
  }
  return { batch: B, seq: T, inputIds, attentionMask };
}

async function run(weights: ModelWeights, batch: TokenBatch, logitsBlockRows?: number) {
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, trainHead: true, factorOn: 'cpu', logitsBlockRows,
  });
  const head = (model as unknown as { head: LmHeadBlock }).head;
  model.setBatch(batch, causalLmLabels(batch.inputIds, batch.attentionMask));
  submitPlan(device, model.evalPlan(batch.batch, batch.seq));
  const parts = await Promise.all(head.logitsBlocks.map((b) => readTensor(device, b.logits)));
  const logits = Float32Array.from(parts.flatMap((p) => Array.from(p)));
  submitPlan(device, model.trainPlan(batch.batch, batch.seq));
  return { blocks: head.logitsBlocks.length, logits, loss: await readTensor(device, model.loss), grads: await readTensor(device, model.gradsTensor) };
}

function maxRelative(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
}

describe.each([['untied', {}], ['tied', { tie_word_embeddings: true }]])('LM logits in row blocks (%s head)', (_, overrides) => {
  it('match one block: logits, loss and every gradient', async () => {
    const { weights } = randomDecoder(overrides, 11);
    const batch = batchOf(3, 48, 40);
    const whole = await run(weights, batch);
    const split = await run(weights, batch, 64);
    expect([whole.blocks, split.blocks]).toEqual([1, 3]);
    // Each logit is the same dot product either way; the loss and dW only regroup fp32 sums.
    expect(maxRelative(split.logits, whole.logits)).toBeLessThan(1e-6);
    expect(Math.abs(split.loss[0] - whole.loss[0])).toBeLessThan(1e-6 * whole.loss[0]);
    expect(split.loss[1]).toBe(whole.loss[1]);
    expect(maxRelative(split.grads, whole.grads)).toBeLessThan(1e-5);
  });
});

it('refuses blocks that would misalign the hidden state’s views', async () => {
  const { device } = await testGpu();
  const { weights } = randomDecoder({}, 11);
  await expect(GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: 3, maxSeq: 48, trains: () => true, factorOn: 'cpu', logitsBlockRows: 40,
  })).rejects.toThrow('LM logits: blocks of 40 rows; they must be a positive multiple of 64');
});
