// The factored decoder on the GPU (Llama family): on transformers' llama folder against the
// float64 reference run with the GPU's own fp32 factors and against transformers' figures, and
// on tiny random decoders (Qwen2 biases, a tied head, one KV head, head_dim ≠ hidden/heads with
// llama3 rope scaling) against the reference on the same factors.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { testGpu } from '../test/gpu.ts';
import type { TokenBatch } from './batch.ts';
import type { ModelConfig } from './config.ts';
import { GpuModel, type GpuModelOptions } from './gpu-model.ts';
import { buildReferenceModel, referenceGradients } from './reference.ts';
import { causalLmLabels } from './task.ts';
import { DECODER_VARIANTS, PRE_LAYERNORM_DECODER, randomDecoder, smallDecoderBatch } from './test-decoders.ts';
import { HF_TINY, loadFolderWeights, readLlamaBatch, readTensors } from './test-folders.ts';
import type { ModelWeights } from './weights.ts';

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  expect(ours.length).toBe(ref.length);
  return norm(Array.from(ours, (g, i) => g - ref[i])) / Math.max(norm(ref), floor);
}

/** The GPU model's logits (evaluation plan), then its training step's loss and gradients, and
 * the float64 reference's on the GPU's own factors. */
async function runBoth(config: ModelConfig, weights: ModelWeights, batch: TokenBatch, trainHead: boolean, linearForms: GpuModelOptions['linearForms'] = 'auto') {
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, trainHead, factorOn: 'cpu', linearForms,
  });
  if (linearForms !== 'auto') expect(new Set(model.linearForms.values())).toEqual(new Set([linearForms]));
  const labels = causalLmLabels(batch.inputIds, batch.attentionMask);
  model.setBatch(batch, labels);
  const vocab = config.vocabSize;
  const N = batch.batch * batch.seq;
  submitPlan(device, model.evalPlan(batch.batch, batch.seq));
  const logits = (await readTensor(device, model.logits)).slice(0, N * vocab);
  submitPlan(device, model.trainPlan(batch.batch, batch.seq));
  const loss = (await readTensor(device, model.loss))[0];
  const all = await readTensor(device, model.gradsTensor);
  const grads = new Map(model.params.entries.map((e) => [e.name, all.slice(e.offset, e.offset + e.length)]));

  const reference = buildReferenceModel(config, weights);
  for (const [path, f] of await model.readFactors()) {
    const m = reference.modules.get(path)!;
    m.u = Float64Array.from(f.u);
    m.sigma = Float64Array.from(f.sigma);
    m.v = Float64Array.from(f.v);
  }
  return { gpu: { loss, logits, grads }, same: referenceGradients(reference, batch, labels) };
}

// Same factors: fp32 against float64 through RMSNorm, rotary and a few hundred ops on ≤ 64-wide
// reductions (the vocabulary's softmax: 350): ~1e-6 relative; 2e-5 as for the BERT family.
const SAME_FACTORS_TOL = 2e-5;
// Against transformers: the fp32 SVD's singular pairs (see gpu-model.test.ts) limit dΣ to a few
// 1e-4; logits depend on U·diag(Σ)·Vᵀ only.
const HF_GRAD_TOL = 1e-3;
const LOGIT_TOL = 2e-5;

describe.each(['auto', 'factored', 'recomposed'] as const)('GPU decoder on hf-tiny/llama, %s linear forms', (linearForms) => {
  it('matches the float64 reference on its own factors, and transformers’ loss, logits, Σ and lm_head gradients', async () => {
    const dir = join(HF_TINY, 'llama');
    const { config, weights } = loadFolderWeights(dir);
    const batch = readLlamaBatch(dir);
    const { gpu, same } = await runBoth(config, weights, batch, true, linearForms);
    const expected = readTensors(join(dir, 'ref-grads.safetensors'));
    const names = [...gpu.grads.keys()];
    expect(new Set(names)).toEqual(new Set([...expected.keys()].filter((k) => k !== 'loss' && k !== 'logits')));

    const sameLargest = Math.max(...names.map((n) => norm(same.grads.get(n)!)));
    expect(relativeError(gpu.logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
    expect(Math.abs(gpu.loss - same.loss) / same.loss).toBeLessThan(SAME_FACTORS_TOL);
    for (const name of names) expect(relativeError(gpu.grads.get(name)!, same.grads.get(name)!, 1e-3 * sameLargest), `${name} (same factors)`).toBeLessThan(SAME_FACTORS_TOL);

    const loss = expected.get('loss')!.data[0];
    expect(relativeError(gpu.logits, expected.get('logits')!.data, 0)).toBeLessThan(LOGIT_TOL);
    expect(Math.abs(gpu.loss - loss) / loss).toBeLessThan(LOGIT_TOL);
    const largest = Math.max(...names.map((n) => norm(expected.get(n)!.data)));
    for (const name of names) expect(relativeError(gpu.grads.get(name)!, expected.get(name)!.data, 1e-3 * largest), name).toBeLessThan(HF_GRAD_TOL);
  });
});

describe.each(DECODER_VARIANTS)('GPU decoder: %s', (_, overrides) => {
  it('leaves the head out of the trainable set by default', async () => {
    const { config, weights } = randomDecoder(overrides, 11);
    const { gpu } = await runBoth(config, weights, smallDecoderBatch(), false);
    const names = [...gpu.grads.keys()];
    expect(names.filter((n) => !n.endsWith('.sigma') && !n.endsWith('.bias'))).toEqual([]);
    expect(names.length).toBe(config.layers * (7 + config.biases.length));
  });

  it.each(['auto', 'recomposed'] as const)('matches the float64 reference on its own factors, the trained head included (a tied one through both uses), %s linear forms', async (linearForms) => {
    const { config, weights } = randomDecoder(overrides, 11);
    const { gpu, same } = await runBoth(config, weights, smallDecoderBatch(), true, linearForms);
    const names = [...gpu.grads.keys()];
    expect(new Set(names)).toEqual(new Set(same.grads.keys()));
    const largest = Math.max(...names.map((n) => norm(same.grads.get(n)!)));
    expect(relativeError(gpu.logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
    expect(Math.abs(gpu.loss - same.loss) / same.loss).toBeLessThan(SAME_FACTORS_TOL);
    for (const name of names) expect(relativeError(gpu.grads.get(name)!, same.grads.get(name)!, 1e-3 * largest), name).toBeLessThan(SAME_FACTORS_TOL);
  });
});

it('runs pre-norm LayerNorm layers (the ViT/GPT-2 placement) as the float64 reference does', async () => {
  const { config, weights } = randomDecoder({}, 13, PRE_LAYERNORM_DECODER);
  expect(weights.layout.layers[0].attentionNorm).toMatchObject({ kind: 'layernorm', bias: 'model.layers.0.input_layernorm.bias' });
  const { gpu, same } = await runBoth(config, weights, smallDecoderBatch(), true);
  const names = [...gpu.grads.keys()];
  const largest = Math.max(...names.map((n) => norm(same.grads.get(n)!)));
  expect(relativeError(gpu.logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
  for (const name of names) expect(relativeError(gpu.grads.get(name)!, same.grads.get(name)!, 1e-3 * largest), name).toBeLessThan(SAME_FACTORS_TOL);
});
