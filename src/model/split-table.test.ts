// The word table and LM head held in row chunks (as when larger than one storage binding, forced
// here by tableChunkBytes) against the same model with whole tables: hf-tiny/llama's 350 × 32
// tables in chunks of 128, 128 and 94 rows, with the head frozen (the studio's run) and trained
// (untied lm_head, and a tied head whose gradient comes through both uses of the table).
//
// What is bit-equal and why: the lookup copies rows, each logit is the same dot product over the
// hidden width (only the vocabulary columns it lands in are chunked), the loss reads the same
// logits, and the trained table's gradient rows are the same sums over tokens. What is not: the
// hidden state's gradient dLogits · W sums over the vocabulary, which a split table takes chunk by
// chunk (128 + 128 + 94 terms added as three partial sums), so every gradient below the head is
// the unsplit one up to fp32 regrouping: a sum of n terms regrouped moves by at most ~n·2⁻²⁴ of
// Σ|terms| (2·10⁻⁵ for n = 350), typically √n·2⁻²⁴ (1·10⁻⁶); the backward is linear in that
// gradient, so the same relative bound holds for Σ and the head, with 1e-5 of the largest.
import { describe, expect, it } from 'vitest';
import { encodeDispatches } from '../gpu/dispatch.ts';
import { encodePlan, submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { testGpu } from '../test/gpu.ts';
import { GREEDY, generate } from '../train/sampling.ts';
import { Optimizer } from '../train/optimizer.ts';
import { tokenEmbeddings } from './architectures.ts';
import type { TokenBatch } from './batch.ts';
import { GpuDecoder } from './gpu-decode.ts';
import { GpuModel } from './gpu-model.ts';
import { GpuMemoryError } from './memory.ts';
import { chunkRanges, readSplitTable } from './split-table.ts';
import { causalLmLabels } from './task.ts';
import { randomDecoder } from './test-decoders.ts';
import { HF_TINY, loadFolderWeights, readLlamaBatch } from './test-folders.ts';
import type { ModelWeights } from './weights.ts';

const HIDDEN = 32;
const VOCAB = 350;
/** 128 rows of 32 fp32 per chunk: 350 rows make chunks of 128, 128 and 94. */
const CHUNK_BYTES = 128 * HIDDEN * 4;
const REGROUPED = 1e-5;
const STEPS = 3;

const { weights: llama } = loadFolderWeights(`${HF_TINY}/llama`);
const tied = randomDecoder({ tie_word_embeddings: true, vocab_size: VOCAB }, 5).weights;

function maxRelative(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / scale;
}

/** Logits, loss and gradients of one batch, then the loss of each of a few AdamW steps and the
 * parameters after them, then greedy generation from the trained and the initial parameters. */
async function run(weights: ModelWeights, batch: TokenBatch, trainHead: boolean, tableChunkBytes?: number) {
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, trainHead, factorOn: 'cpu', tableChunkBytes,
  });
  const { word, lmHead } = model.decodeWeights();
  const tables = { word: await readSplitTable(device, word), lmHead: await readSplitTable(device, lmHead) };
  model.setBatch(batch, causalLmLabels(batch.inputIds, batch.attentionMask));
  submitPlan(device, model.evalPlan(batch.batch, batch.seq));
  const logits = await readTensor(device, model.logits);
  submitPlan(device, model.trainPlan(batch.batch, batch.seq));
  const loss = await readTensor(device, model.loss);
  const grads = await readTensor(device, model.gradsTensor);
  const prompt = [0, 17, 93, 240, 5];
  const greedy = async (side: 'base' | 'tuned') => {
    const decoder = new GpuDecoder(model, { capacity: 16, weights: side, chunk: 3 });
    const steps: Float32Array[] = [];
    const tokens: number[] = [];
    const next = async (t: readonly number[]) => {
      const l = await decoder.nextLogits(t);
      steps.push(l);
      return l;
    };
    for await (const token of generate(prompt, next, { ...GREEDY, maxNewTokens: 6, eosIds: [], seed: 1 })) tokens.push(token);
    decoder.destroy();
    return { tokens, logits: Float32Array.from(steps.flatMap((s) => [...s])) };
  };
  const before = await greedy('tuned');
  const optimizer = new Optimizer(model, { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  const losses: number[] = [];
  for (let step = 0; step < STEPS; step++) {
    const encoder = device.createCommandEncoder();
    encodePlan(encoder, model.trainPlan(batch.batch, batch.seq));
    const pass = encoder.beginComputePass();
    encodeDispatches(pass, optimizer.update);
    pass.end();
    device.queue.submit([encoder.finish()]);
    losses.push((await readTensor(device, model.loss))[0]);
  }
  const params = await readTensor(device, model.paramsTensor);
  return {
    chunks: [word.chunks.map((c) => c.rows), lmHead.chunks.map((c) => c.rows)],
    ...tables,
    head: model.params.entries.find((e) => e.role === 'head'),
    logits, loss, grads, losses, params,
    before, base: await greedy('base'), tuned: await greedy('tuned'),
  };
}

describe.each([
  ['hf-tiny/llama, head frozen', llama, false],
  ['hf-tiny/llama, untied lm_head trained', llama, true],
  ['a tied head trained (the table through both uses)', tied, true],
])('word table and LM head in row chunks (%s)', (_, weights, trainHead) => {
  it('give the unsplit logits, loss, gradients, training steps and greedy generation', async () => {
    const batch = readLlamaBatch();
    const whole = await run(weights, batch, trainHead);
    const split = await run(weights, batch, trainHead, CHUNK_BYTES);
    expect(whole.chunks).toEqual([[VOCAB], [VOCAB]]);
    expect(split.chunks).toEqual([[128, 128, 94], [128, 128, 94]]);
    // Uploaded (or viewed in the flat parameters) chunk by chunk, read back whole: the checkpoint's.
    const key = tokenEmbeddings(weights.layout, 'the test').word.key;
    expect(split.word).toEqual(weights.tensors.get(key)!.data);
    expect(split.lmHead).toEqual(weights.tensors.get(weights.layout.head[0].linear.weight)!.data);
    // Forward: bit-equal.
    expect(split.logits).toEqual(whole.logits);
    expect(split.loss).toEqual(whole.loss);
    // Backward: the vocabulary sum of the hidden gradient regrouped (see the top).
    expect(maxRelative(split.grads, whole.grads)).toBeLessThan(REGROUPED);
    if (trainHead) {
      // The head's gradient is there, and its rows are not all in one chunk.
      const entry = split.head!;
      const head = (g: Float32Array) => g.subarray(entry.offset, entry.offset + entry.length);
      expect(maxRelative(head(split.grads), head(whole.grads))).toBeLessThan(REGROUPED);
      const rowNorm = (g: Float32Array, first: number, rows: number) => head(g).subarray(first * HIDDEN, (first + rows) * HIDDEN).reduce((s, x) => s + Math.abs(x), 0);
      for (const { first, rows } of chunkRanges(VOCAB, HIDDEN, CHUNK_BYTES)) expect(rowNorm(split.grads, first, rows), `head gradient rows ${first}…`).toBeGreaterThan(0);
    }
    // A few AdamW steps on those gradients: the losses and parameters stay together.
    for (let s = 0; s < STEPS; s++) expect(Math.abs(split.losses[s] - whole.losses[s]), `loss of step ${s + 1}`).toBeLessThan(REGROUPED * whole.losses[s]);
    expect(split.losses[STEPS - 1]).toBeLessThan(split.losses[0]);
    expect(maxRelative(split.params, whole.params)).toBeLessThan(REGROUPED);
    // Generation reads the chunks too: from the initial parameters bit-equal, from the trained
    // ones the same greedy tokens with logits as close as the parameters. The base decoder reads
    // the initial values (a trained table's chunks included) after training.
    expect(split.before).toEqual(whole.before);
    expect(split.base).toEqual(split.before);
    expect(split.tuned.tokens).toEqual(whole.tuned.tokens);
    expect(maxRelative(split.tuned.logits, whole.tuned.logits)).toBeLessThan(REGROUPED);
  });
});

it('splits tables into aligned chunks within the limit, or says it cannot', () => {
  expect(chunkRanges(350, 32, 350 * 32 * 4)).toEqual([{ first: 0, rows: 350 }]);
  expect(chunkRanges(350, 32, 350 * 32 * 4 - 1)).toEqual([{ first: 0, rows: 320 }, { first: 320, rows: 30 }]);
  // Qwen2.5-0.5B's embedding (544 MB) within a 128 MiB binding: 37,440 rows a chunk (a multiple of 64).
  const qwen = chunkRanges(151936, 896, 2 ** 27);
  expect(qwen.map((c) => c.rows)).toEqual([37440, 37440, 37440, 37440, 2176]);
  expect(() => chunkRanges(100, 1024, 64 * 1024 * 4 - 4)).toThrow('a table of 100 rows of 1024 values cannot be split within 262140 bytes per buffer: 64 rows (the smallest aligned chunk) need 262144');
});

it('refuses a trained head that makes the flat parameters larger than one binding', async () => {
  // The optimizer binds the flat parameters whole; the check runs before the device is used.
  const limits = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 32 * 1024 };
  const device = { limits } as unknown as GPUDevice;
  const create = (trainHead: boolean) => GpuModel.create(device, llama, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 1, maxSeq: 4, trains: () => true, trainHead, factorOn: 'cpu' });
  await expect(create(true)).rejects.toThrow(GpuMemoryError);
  await expect(create(true)).rejects.toThrow("The trainable parameters (47.3 KiB, the LM head included) are bound whole by the optimizer: they exceed the adapter's 32.0 KiB per storage binding by 15.3 KiB; leave the LM head frozen");
});
