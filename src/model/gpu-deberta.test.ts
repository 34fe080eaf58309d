// DeBERTa's disentangled attention through the whole GPU model: on the hf-tiny deberta-v3 folder
// against the float64 reference run with the GPU's own fp32 SVD factors (the kernels and their
// wiring) and against transformers (ref-grads.safetensors: the key bias's gradient is genuinely
// non-zero here, through the p2c term); then on each configuration the folder does not cover,
// against the reference.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { loadModel } from '../train/load.ts';
import { testGpu } from '../test/gpu.ts';
import type { ModelBatch } from './batch.ts';
import type { ModelConfig } from './config.ts';
import { GpuModel, type GpuModelOptions } from './gpu-model.ts';
import { buildReferenceModel, referenceGradients } from './reference.ts';
import { DEBERTA_DIR, DEBERTA_VARIANTS, debertaVariant } from './test-deberta.ts';
import { readFixtureBatch, readTensors } from './test-folders.ts';
import type { ModelWeights } from './weights.ts';

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  const diff = Array.from(ours, (g, i) => g - ref[i]);
  return norm(diff) / Math.max(norm(ref), floor);
}

// As for the BERT family (gpu-model.test.ts): fp32 against float64 on the same factors, a few
// hundred ops deep, ~1e-6; transformers' gradients also carry the fp32 SVD's error (≤ 1e-3).
const SAME_FACTORS_TOL = 2e-5;
const HF_GRAD_TOL = 1e-3;
const LOGIT_TOL = 2e-5;

const { batch, labels } = readFixtureBatch(DEBERTA_DIR);

/** One training step's loss, logits and gradients on the GPU, and the float64 reference's on the
 * GPU's own factors. */
async function run(config: ModelConfig, weights: ModelWeights, b: ModelBatch, y: number[], linearForms: GpuModelOptions['linearForms'] = 'auto') {
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: b.batch, maxSeq: b.seq, trains: () => true, factorOn: 'cpu', linearForms,
  });
  model.setBatch(b, y);
  submitPlan(device, model.trainPlan(b.batch, b.seq));
  const loss = (await readTensor(device, model.loss))[0];
  const logits = (await readTensor(device, model.logits)).subarray(0, b.batch * config.numLabels);
  const flat = await readTensor(device, model.gradsTensor);
  const grads = new Map(model.params.entries.map((e) => [e.name, flat.subarray(e.offset, e.offset + e.length)]));
  const reference = buildReferenceModel(config, weights);
  for (const [path, f] of await model.readFactors()) {
    const m = reference.modules.get(path)!;
    m.u = Float64Array.from(f.u);
    m.sigma = Float64Array.from(f.sigma);
    m.v = Float64Array.from(f.v);
  }
  return { loss, logits, grads, same: referenceGradients(reference, b, y) };
}

/** Without the p2c term the key bias's gradient is exactly zero again (softmax ignores a shift
 * shared by every key of a row, and c2p's q_i·b_k is one): both sides hold rounding noise, so it
 * is checked to be noise-sized (as gpu-model.test.ts does for the BERT family). */
function expectSameFactors(r: Awaited<ReturnType<typeof run>>, config: ModelConfig) {
  const names = [...r.grads.keys()];
  expect(new Set(names)).toEqual(new Set(r.same.grads.keys()));
  const zeroKeyBias = (name: string) => !config.relative?.p2c && name.endsWith('key_proj.bias');
  const largest = Math.max(...names.map((n) => norm(r.same.grads.get(n)!)));
  expect(relativeError(r.logits, r.same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
  for (const name of names) {
    if (zeroKeyBias(name)) expect(norm(r.grads.get(name)!), name).toBeLessThan(1e-5 * largest);
    else expect(relativeError(r.grads.get(name)!, r.same.grads.get(name)!, 1e-3 * largest), `${name} (same factors)`).toBeLessThan(SAME_FACTORS_TOL);
  }
}

describe.each(['auto', 'recomposed'] as const)('GPU model on hf-tiny/deberta-v3, %s linear forms', (linearForms) => {
  it('matches the float64 reference on its own factors, and transformers’ loss, logits and every gradient', async () => {
    const loaded = await loadModel(await readModelDir(DEBERTA_DIR), { task: 'classification', labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'] }, 0);
    expect(loaded.weights.initialised, 'the fixture carries its head').toEqual([]);
    const r = await run(loaded.config, loaded.weights, batch, labels, linearForms);
    expectSameFactors(r, loaded.config);
    const expected = readTensors(join(DEBERTA_DIR, 'ref-grads.safetensors'));
    expect(new Set(r.grads.keys())).toEqual(new Set([...expected.keys()].filter((k) => k !== 'loss' && k !== 'logits')));
    expect(relativeError(r.logits, expected.get('logits')!.data, 0)).toBeLessThan(LOGIT_TOL);
    expect(Math.abs(r.loss - expected.get('loss')!.data[0])).toBeLessThan(LOGIT_TOL * Math.max(1, expected.get('loss')!.data[0]));
    const largest = Math.max(...[...r.grads.keys()].map((n) => norm(expected.get(n)!.data)));
    for (const name of r.grads.keys()) expect(relativeError(r.grads.get(name)!, expected.get(name)!.data, 1e-3 * largest), name).toBeLessThan(HF_GRAD_TOL);
  });
});

describe('GPU model on DeBERTa configurations beyond the fixture, against the float64 reference', () => {
  it.each(DEBERTA_VARIANTS)('%s', async (_, overrides) => {
    const { config, weights } = debertaVariant(overrides, 7);
    expectSameFactors(await run(config, weights, batch, labels), config);
  });
});
