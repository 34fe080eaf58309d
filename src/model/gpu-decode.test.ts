// Generation with the KV cache against the float64 reference re-run on the growing sequence (no
// cache): on transformers' llama fixture and on the demo LLM, greedy tokens equal and each
// step's logits close; base and fine-tuned decoders read the initial and the trained Σ.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeTensor } from '../gpu/tensor.ts';
import { seededRandom } from '../util/random.ts';
import { GREEDY, generate } from '../train/sampling.ts';
import { recordBuffers } from '../test/buffer-ledger.ts';
import { testGpu } from '../test/gpu.ts';
import { GpuDecoder } from './gpu-decode.ts';
import { GpuModel } from './gpu-model.ts';
import { buildReferenceModel, referenceLogits, type ReferenceModel } from './reference.ts';
import { HF_TINY, loadFolderWeights } from './test-folders.ts';

const DEMO_LLM = join(import.meta.dirname, '../../public/demo-llm');

// Same factors, fp32 against float64 through a few hundred ops (as gpu-decoder.test.ts's
// SAME_FACTORS_TOL for the training forward); relative to the logits' norm.
const LOGIT_TOL = 2e-5;

function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (ours[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

async function load(dir: string) {
  const { device } = await testGpu();
  const { config, weights } = loadFolderWeights(dir);
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 1, maxSeq: 4, trains: () => true, factorOn: 'cpu' });
  const reference = buildReferenceModel(config, weights);
  for (const [path, f] of await model.readFactors()) {
    const m = reference.modules.get(path)!;
    m.u = Float64Array.from(f.u);
    m.sigma = Float64Array.from(f.sigma);
    m.v = Float64Array.from(f.v);
  }
  return { device, model, reference, vocab: config.vocabSize };
}

/** The reference's logits for the token after `tokens`: the full forward, last row. */
function nextReference(reference: ReferenceModel, tokens: readonly number[], vocab: number): Float64Array {
  const seq = tokens.length;
  const logits = referenceLogits(reference, { batch: 1, seq, inputIds: Uint32Array.from(tokens), attentionMask: new Uint32Array(seq).fill(1) });
  return logits.slice((seq - 1) * vocab, seq * vocab);
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Greedy generation with the cache, each step checked against the reference without one. */
async function checkGreedy(decoder: GpuDecoder, reference: ReferenceModel, prompt: number[], newTokens: number, vocab: number) {
  const steps: { tokens: number[]; logits: Float32Array }[] = [];
  const nextLogits = async (tokens: readonly number[]) => {
    const logits = await decoder.nextLogits(tokens);
    steps.push({ tokens: [...tokens], logits });
    return logits;
  };
  const generated: number[] = [];
  for await (const token of generate(prompt, nextLogits, { ...GREEDY, maxNewTokens: newTokens, eosIds: [], seed: 1 })) generated.push(token);
  expect(generated.length).toBe(newTokens);
  const expected: number[] = [];
  for (const step of steps) {
    const ref = nextReference(reference, step.tokens, vocab);
    expect(relativeError(step.logits, ref), `logits after ${step.tokens.length} tokens`).toBeLessThan(LOGIT_TOL);
    expected.push(argmax(ref));
  }
  expect(generated).toEqual(expected);
  expect(decoder.cachedTokens).toBe(prompt.length + newTokens - 1);
  return generated;
}

describe('GPU generation with a KV cache', () => {
  it('on hf-tiny/llama: greedy tokens equal the reference re-run on the growing sequence', async () => {
    const { model, reference, vocab } = await load(join(HF_TINY, 'llama'));
    const decoder = new GpuDecoder(model, { capacity: 16, weights: 'tuned' });
    await checkGreedy(decoder, reference, [0, 17, 101, 5, 230], 8, vocab);
    // A fresh prompt after reset, of another length (a second prefill plan).
    decoder.reset();
    await checkGreedy(decoder, reference, [0, 44], 5, vocab);
    // A prompt longer than one pass: prefilled in chunks of 2 (the last one partial).
    const chunked = new GpuDecoder(model, { capacity: 16, weights: 'tuned', chunk: 2 });
    await checkGreedy(chunked, reference, [0, 17, 101, 5, 230], 4, vocab);
  });

  it('on public/demo-llm (tied head, 3 layers, GQA 4/2)', async () => {
    const { model, reference, vocab } = await load(DEMO_LLM);
    const decoder = new GpuDecoder(model, { capacity: 24, weights: 'tuned' });
    await checkGreedy(decoder, reference, [0, 210, 1033, 48, 7, 391], 10, vocab);
  });

  it('base reads the initial Σ, tuned the trained one', async () => {
    const { device, model, reference, vocab } = await load(join(HF_TINY, 'llama'));
    const base = new GpuDecoder(model, { capacity: 8, weights: 'base' });
    const tuned = new GpuDecoder(model, { capacity: 8, weights: 'tuned' });
    // "Training": every Σ scaled by a random factor in [0.5, 1.5), written into the live parameters.
    const random = seededRandom(3);
    const trained = buildTrained(reference, random);
    for (const e of model.params.entries) {
      if (e.role !== 'sigma') continue;
      const path = e.name.replace(/\.sigma$/, '');
      writeTensor(device, { buffer: model.paramsTensor.buffer, shape: [e.length], dtype: 'f32', byteOffset: e.offset * 4 }, trained.modules.get(path)!.sigma);
    }
    const prompt = [0, 9, 77, 3];
    const tunedLogits = await tuned.feed(prompt);
    const baseLogits = await base.feed(prompt);
    const refTuned = nextReference(trained, prompt, vocab);
    const refBase = nextReference(reference, prompt, vocab);
    expect(relativeError(tunedLogits, refTuned)).toBeLessThan(LOGIT_TOL);
    expect(relativeError(baseLogits, refBase)).toBeLessThan(LOGIT_TOL);
    // The two differ by far more than the tolerance: the test sees which Σ each read.
    expect(relativeError(refTuned, refBase)).toBeGreaterThan(100 * LOGIT_TOL);
  });

  it('refuses a sequence past its capacity and tokens outside the vocabulary', async () => {
    const { model } = await load(join(HF_TINY, 'llama'));
    const decoder = new GpuDecoder(model, { capacity: 3, weights: 'tuned' });
    await expect(decoder.feed([0, 1, 2, 3])).rejects.toThrow(/reach 4 tokens; this decoder's cache holds 3/);
    await expect(decoder.feed([0, 350])).rejects.toThrow(/token id 350 is outside the vocabulary \(350\)/);
    await decoder.feed([0, 1]);
    await expect(decoder.nextLogits([0, 2, 5])).rejects.toThrow(/do not extend what the cache holds/);
  });

  it('destroy() frees its cache, activations and plans, and leaves the model whole', async () => {
    const { device, model } = await load(join(HF_TINY, 'llama'));
    const ledger = recordBuffers(device);
    try {
      const decoder = new GpuDecoder(model, { capacity: 8, chunk: 2, weights: 'tuned' });
      const logits = await decoder.feed([0, 9, 77]);
      await decoder.feed([5]);
      expect(ledger.live().length).toBeGreaterThan(0);
      decoder.destroy();
      expect(ledger.live()).toEqual([]);
      // Another decoder over the same model gives the same logits.
      const again = new GpuDecoder(model, { capacity: 8, chunk: 2, weights: 'tuned' });
      expect(Array.from(await again.feed([0, 9, 77]))).toEqual(Array.from(logits));
      again.destroy();
    } finally {
      ledger.stop();
    }
    model.destroy();
  });
});

function buildTrained(reference: ReferenceModel, random: () => number): ReferenceModel {
  const modules = new Map([...reference.modules].map(([path, m]) => [path, { ...m, sigma: m.sigma.map((s) => Math.fround(s * (0.5 + random()))) }]));
  return { ...reference, modules };
}
