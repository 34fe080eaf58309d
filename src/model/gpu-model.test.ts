// The whole factored model on the GPU, on every tiny Hugging Face folder of ../shared, checked
// twice: (1) against the float64 reference model run with the GPU's own fp32 SVD factors — this
// isolates the kernels and the model's wiring; (2) against what transformers computed in float64
// (ref-grads.safetensors), which also includes the fp32 SVD.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDatasetFile, readModelDir } from '../cli/files.ts';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { uploadTensor } from '../gpu/tensor.ts';
import { acquireNodeGpu } from '../gpu/node.ts';
import { MATMUL_TILES } from '../kernels/matmul_tiles.ts';
import { svd } from '../kernels/svd.ts';
import { loadModel, type LoadedModel, textModel } from '../train/load.ts';
import { testGpu } from '../test/gpu.ts';
import type { ModelBatch } from './batch.ts';
import { GpuModel } from './gpu-model.ts';
import { buildReferenceModel, referenceGradients } from './reference.ts';
import { DEMO_MODEL, HF_TINY, SHARED, readFixtureBatch, readTensors, readVitBatch } from './test-folders.ts';

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  const diff = Array.from(ours, (g, i) => g - ref[i]);
  return norm(diff) / Math.max(norm(ref), floor);
}

/** The float64 reference model's loss, logits and gradients on the GPU model's own fp32 SVD factors. */
async function sameFactorReference(model: GpuModel, loaded: LoadedModel, batch: ModelBatch, labels: number[]) {
  const reference = buildReferenceModel(loaded.config, loaded.weights);
  for (const [path, f] of await model.readFactors()) {
    const m = reference.modules.get(path)!;
    m.u = Float64Array.from(f.u);
    m.sigma = Float64Array.from(f.sigma);
    m.v = Float64Array.from(f.v);
  }
  return referenceGradients(reference, batch, labels);
}

// (1) Same factors: every op is fp32 against float64 on ≤ 64-wide reductions, a few hundred
// ops deep: ~1e-6 relative. 2e-5 leaves a margin while a wrong term is off by O(1).
const SAME_FACTORS_TOL = 2e-5;
// Gradients that are not exactly zero but small are measured against max(their norm, 1e-3 × the
// largest gradient norm), as the fixture's README advises.
// (2) Against transformers: the fp32 Jacobi SVD leaves each singular pair (u_i, v_i) off by
// ~ε·σ_max/gap_i, and dΣ_i = u_iᵀ·G·v_i takes that error times ‖G‖/|dΣ_i|: on these random
// tiny weights (close singular values, gradients mostly off the diagonal of UᵀGV) that reaches a
// few 1e-4. Logits depend on U·diag(Σ)·Vᵀ only, which the SVD reconstructs to ~1e-6.
const HF_GRAD_TOL = 1e-3;
const LOGIT_TOL = 2e-5;

// Each folder with the default ('auto') linear forms; bert also with each form forced everywhere
// (the recomposed W' path must meet the same bounds as the factored one).
const CASES: [string, 'auto' | 'factored' | 'recomposed'][] = [
  ...['bert', 'bert-regression', 'roberta', 'distilbert'].map((f): [string, 'auto'] => [f, 'auto']),
  ['bert', 'factored'],
  ['bert', 'recomposed'],
];

describe.each(CASES)('GPU model on hf-tiny/%s, %s linear forms', (folder, linearForms) => {
  it('matches the float64 reference on its own factors, and transformers’ loss, logits and gradients', async () => {
    const dir = join(HF_TINY, folder);
    const { batch, labels } = readFixtureBatch(dir);
    const expected = readTensors(join(dir, 'ref-grads.safetensors'));
    const regression = folder.includes('regression');
    const dataset = { task: regression ? ('regression' as const) : ('classification' as const), labelNames: regression ? [] : ['LABEL_0', 'LABEL_1', 'LABEL_2'] };
    const loaded = await loadModel(await readModelDir(dir), dataset, 0);
    expect(loaded.weights.initialised, 'the fixture carries its head').toEqual([]);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true,
      // The WGSL SVD is slow on SwiftShader: one folder runs it end to end, the rest factor on
      // the CPU (svd.test.ts checks the WGSL SVD itself).
      factorOn: folder === 'bert' && linearForms === 'auto' ? 'gpu' : 'cpu',
      linearForms,
    });
    if (linearForms !== 'auto') expect(new Set(model.linearForms.values())).toEqual(new Set([linearForms]));
    for (const [path, report] of model.svdReports) expect(report.reconstruction, `SVD of ${path}`).toBeLessThan(1e-5);
    model.setBatch(batch, labels);
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const loss = (await readTensor(device, model.loss))[0];
    const logits = (await readTensor(device, model.logits)).subarray(0, expected.get('logits')!.data.length);
    const grads = await readTensor(device, model.gradsTensor);
    const ours = (name: string) => {
      const e = model.params.entries.find((x) => x.name === name)!;
      return grads.subarray(e.offset, e.offset + e.length);
    };
    const all = model.params.entries.map((e) => e.name);
    expect(new Set(all)).toEqual(new Set([...expected.keys()].filter((k) => k !== 'loss' && k !== 'logits')));
    // The key bias's gradient is exactly zero (softmax ignores a shift shared by every key of a
    // row): what both sides hold is rounding noise, so it is checked to be noise-sized in
    // absolute terms (fp32 sums of O(‖G‖) terms: ~1e-7·‖G‖ each) and left out of the relative
    // comparisons below.
    const keyBiases = model.params.entries.filter((e) => e.role === 'bias' && e.module === 'k').map((e) => e.name);
    const names = all.filter((n) => !keyBiases.includes(n));

    // (1) The reference model with the GPU's factors.
    const same = await sameFactorReference(model, loaded, batch, labels);
    const sameLargest = Math.max(...names.map((n) => norm(same.grads.get(n)!)));
    for (const name of keyBiases) expect(norm(ours(name)), name).toBeLessThan(1e-5 * sameLargest);
    expect(relativeError(logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
    for (const name of names) expect(relativeError(ours(name), same.grads.get(name)!, 1e-3 * sameLargest), `${name} (same factors)`).toBeLessThan(SAME_FACTORS_TOL);

    // (2) transformers, float64.
    expect(relativeError(logits, expected.get('logits')!.data, 0)).toBeLessThan(LOGIT_TOL);
    expect(Math.abs(loss - expected.get('loss')!.data[0])).toBeLessThan(LOGIT_TOL * Math.max(1, expected.get('loss')!.data[0]));
    const largest = Math.max(...names.map((n) => norm(expected.get(n)!.data)));
    for (const name of names) expect(relativeError(ours(name), expected.get(name)!.data, 1e-3 * largest), name).toBeLessThan(HF_GRAD_TOL);
  });
});

describe('GPU model on hf-tiny/vit (patch embeddings, pre-norm, CLS head)', () => {
  const dir = join(HF_TINY, 'vit');
  const load = async () => loadModel(await readModelDir(dir), { task: 'classification', labelNames: ['0', '1', '2'] }, 0);

  it('matches the float64 reference on its own factors, and transformers’ loss, logits and gradients', async () => {
    const { batch, labels } = readVitBatch(dir);
    const expected = readTensors(join(dir, 'ref-grads.safetensors'));
    const loaded = await load();
    expect(loaded.weights.initialised, 'the fixture carries its head').toEqual([]);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu' });
    model.setBatch(batch, labels);
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const loss = (await readTensor(device, model.loss))[0];
    const logits = (await readTensor(device, model.logits)).subarray(0, batch.batch * 3);
    const grads = await readTensor(device, model.gradsTensor);
    const ours = (name: string) => {
      const e = model.params.entries.find((x) => x.name === name)!;
      return grads.subarray(e.offset, e.offset + e.length);
    };
    const all = model.params.entries.map((e) => e.name);
    expect(new Set(all)).toEqual(new Set([...expected.keys()].filter((k) => !['loss', 'logits', 'pixel_values'].includes(k))));
    // As for the text folders: the key bias's gradient is rounding noise on both sides.
    const keyBiases = model.params.entries.filter((e) => e.role === 'bias' && e.module === 'k').map((e) => e.name);
    const names = all.filter((n) => !keyBiases.includes(n));
    const same = await sameFactorReference(model, loaded, batch, labels);
    const sameLargest = Math.max(...names.map((n) => norm(same.grads.get(n)!)));
    for (const name of keyBiases) expect(norm(ours(name)), name).toBeLessThan(1e-5 * sameLargest);
    expect(relativeError(logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
    for (const name of names) expect(relativeError(ours(name), same.grads.get(name)!, 1e-3 * sameLargest), `${name} (same factors)`).toBeLessThan(SAME_FACTORS_TOL);
    expect(relativeError(logits, expected.get('logits')!.data, 0)).toBeLessThan(LOGIT_TOL);
    expect(Math.abs(loss - expected.get('loss')!.data[0])).toBeLessThan(LOGIT_TOL * Math.max(1, expected.get('loss')!.data[0]));
    const largest = Math.max(...names.map((n) => norm(expected.get(n)!.data)));
    for (const name of names) expect(relativeError(ours(name), expected.get(name)!.data, 1e-3 * largest), name).toBeLessThan(HF_GRAD_TOL);
  });

  it('with dropout on (patch tokens, attention, outputs), has gradients equal to central differences of its dropout-mode loss', async () => {
    const { batch, labels } = readVitBatch(dir);
    const loaded = await load();
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0.2, attention: 0.2, classifier: 0.2 }, { maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu' });
    model.setBatch(batch, labels);
    device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(4321));
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const grads = await readTensor(device, model.gradsTensor);
    const params = await readTensor(device, model.paramsTensor);
    const noDropout = await (async () => {
      submitPlan(device, model.lossPlan(batch.batch, batch.seq, false));
      return (await readTensor(device, model.loss))[0];
    })();
    const lossAt = async (index: number, value: number) => {
      device.queue.writeBuffer(model.paramsTensor.buffer, index * 4, Float32Array.of(value));
      submitPlan(device, model.lossPlan(batch.batch, batch.seq, true));
      return (await readTensor(device, model.loss))[0];
    };
    // The masks are really drawn: the training-mode loss differs from the evaluation one.
    expect(Math.abs((await lossAt(0, params[0])) - noDropout)).toBeGreaterThan(1e-3);
    const entries = model.params.entries.filter((e) => /layer\.0\.attention\.attention\.query|layer\.1\.attention\.output|layer\.1\.output\.dense|layer\.0\.intermediate|classifier\.weight/.test(e.name));
    for (const entry of entries) {
      let index = entry.offset;
      for (let i = entry.offset; i < entry.offset + entry.length; i++) if (Math.abs(grads[i]) > Math.abs(grads[index])) index = i;
      // As for BERT above: fp32 losses over 2h = 2e-2 and an O(h²) truncation.
      const h = 1e-2;
      const fd = ((await lossAt(index, params[index] + h)) - (await lossAt(index, params[index] - h))) / (2 * h);
      await lossAt(index, params[index]);
      expect(Math.abs(fd - grads[index]), `${entry.name}[${index - entry.offset}]: fd ${fd}, gradient ${grads[index]}`).toBeLessThan(2e-2 * Math.abs(grads[index]) + 1e-4);
    }
  });
});

// The hf-tiny folders are narrow (hidden 32, 4 heads of 8, ≤ 16 positions); the real model
// has heads of 64 and SST-2 batches reach past one 64-wide tile.
it('matches the float64 reference on the demo BERT with a real SST-2 batch (32 rows, 72 positions)', async () => {
  const data = await readDatasetFile(join(SHARED, 'data/glue/SST-2/train.tsv'), {});
  const examples = [...data.examples.slice(0, 2000)].sort((a, b) => b.text.length - a.text.length).slice(0, 32);
  const labels = examples.map((e) => e.label);
  const loaded = await loadModel(await readModelDir(DEMO_MODEL), { task: 'classification', labelNames: data.labelNames }, 42);
  const batch = textModel(loaded, 'the test').tokenizer.encodeBatch(examples, { maxLength: 66, padToMultipleOf: 72 });
  expect(batch.seq).toBe(72);
  const { device } = await testGpu();
  const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
  });
  model.setBatch(batch, labels);
  submitPlan(device, model.trainPlan(batch.batch, batch.seq));
  const logits = (await readTensor(device, model.logits)).subarray(0, batch.batch * 2);
  const grads = await readTensor(device, model.gradsTensor);
  const same = await sameFactorReference(model, loaded, batch, labels);
  expect(relativeError(logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
  const keyBias = (e: { role: string; module?: string }) => e.role === 'bias' && e.module === 'k';
  const entries = model.params.entries.filter((e) => !keyBias(e));
  const largest = Math.max(...entries.map((e) => norm(same.grads.get(e.name)!)));
  for (const e of model.params.entries.filter(keyBias)) expect(norm(grads.subarray(e.offset, e.offset + e.length)), e.name).toBeLessThan(1e-5 * largest);
  for (const e of entries) {
    expect(relativeError(grads.subarray(e.offset, e.offset + e.length), same.grads.get(e.name)!, 1e-3 * largest), e.name).toBeLessThan(SAME_FACTORS_TOL);
  }
});

describe('GPU model with dropout on', () => {
  it('has gradients equal to central differences of its dropout-mode loss (same masks)', async () => {
    const dir = join(HF_TINY, 'bert');
    const { batch, labels } = readFixtureBatch(dir);
    const loaded = await loadModel(await readModelDir(dir), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0.2, attention: 0.2, classifier: 0.2 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
    });
    model.setBatch(batch, labels);
    device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(1234));
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const grads = await readTensor(device, model.gradsTensor);
    const params = await readTensor(device, model.paramsTensor);
    const lossAt = async (index: number, value: number) => {
      device.queue.writeBuffer(model.paramsTensor.buffer, index * 4, Float32Array.of(value));
      submitPlan(device, model.lossPlan(batch.batch, batch.seq, true));
      return (await readTensor(device, model.loss))[0];
    };
    // The largest-gradient entry of every kind of tensor: each dropout site (embeddings,
    // attention probabilities, attention output, FFN output, classifier) sits on some path.
    const entries = model.params.entries.filter((e) => /layer\.0\.attention\.self\.query|layer\.1\.attention\.output|layer\.1\.output\.dense|layer\.0\.intermediate|classifier\.weight|pooler\.dense\.bias/.test(e.name));
    for (const entry of entries) {
      let index = entry.offset;
      for (let i = entry.offset; i < entry.offset + entry.length; i++) if (Math.abs(grads[i]) > Math.abs(grads[index])) index = i;
      // fp32 losses (~1e-7 relative) over 2h = 2e-2, and an O(h²) truncation: ~1e-5 absolute.
      const h = 1e-2;
      const fd = ((await lossAt(index, params[index] + h)) - (await lossAt(index, params[index] - h))) / (2 * h);
      await lossAt(index, params[index]);
      expect(Math.abs(fd - grads[index]), `${entry.name}[${index - entry.offset}]: fd ${fd}, gradient ${grads[index]}`).toBeLessThan(2e-2 * Math.abs(grads[index]) + 1e-4);
    }
  });
});

describe('GPU model, frozen modules', () => {
  it.each(['factored', 'recomposed'] as const)('skips dΣ and db of a module whose Σ and bias are both frozen, and nothing else (%s form)', async (linearForms) => {
    const dir = join(HF_TINY, 'bert');
    const { batch, labels } = readFixtureBatch(dir);
    const loaded = await loadModel(await readModelDir(dir), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0.1, attention: 0.1, classifier: 0.1 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu', linearForms,
    });
    model.setBatch(batch, labels);
    device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(99));
    const step = async () => {
      submitPlan(device, model.trainPlan(batch.batch, batch.seq));
      return readTensor(device, model.gradsTensor);
    };
    const full = await step();
    const query = 'bert.encoder.layer.0.attention.self.query';
    const key = 'bert.encoder.layer.1.attention.self.key';
    const plan = model.trainPlan(batch.batch, batch.seq);
    // query: Σ and bias frozen (skipped); key: only Σ frozen (still computed in full).
    model.setFrozenVectors([`${query}.sigma`, `${query}.bias`, `${key}.sigma`]);
    expect(model.trainPlan(batch.batch, batch.seq)).not.toBe(plan);
    const sentinel = 7;
    device.queue.writeBuffer(model.gradsTensor.buffer, 0, new Float32Array(model.params.size).fill(sentinel));
    const skipped = await step();
    for (const e of model.params.entries) {
      const ours = Array.from(skipped.subarray(e.offset, e.offset + e.length));
      if (e.name.startsWith(`${query}.`)) expect(ours, e.name).toEqual(new Array(e.length).fill(sentinel));
      else expect(ours, e.name).toEqual(Array.from(full.subarray(e.offset, e.offset + e.length)));
    }
    // The same set again keeps the plan; releasing the module computes its gradients again.
    const replanned = model.trainPlan(batch.batch, batch.seq);
    model.setFrozenVectors([`${key}.sigma`, `${query}.bias`, `${query}.sigma`]);
    expect(model.trainPlan(batch.batch, batch.seq)).toBe(replanned);
    model.setFrozenVectors([]);
    const released = await step();
    // Entry by entry: the padding between entries is never written and still holds the sentinel.
    for (const e of model.params.entries) expect(Array.from(released.subarray(e.offset, e.offset + e.length)), e.name).toEqual(Array.from(full.subarray(e.offset, e.offset + e.length)));
  });
});

it('factors on the GPU (svdBatch, one layer at a time) exactly as the per-matrix SVD does', async () => {
  const dir = join(HF_TINY, 'distilbert');
  const loaded = await loadModel(await readModelDir(dir), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
  const { device } = await testGpu();
  const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: 1, maxSeq: 8, trains: () => true, factorOn: 'gpu',
  });
  const factors = await model.readFactors();
  for (const m of loaded.weights.layout.layers.flatMap((l) => l.modules)) {
    const w = uploadTensor(device, loaded.weights.tensors.get(m.weight)!.data, [m.dOut, m.dIn]);
    const alone = await svd(device, { w, rows: m.dOut, cols: m.dIn });
    const ours = factors.get(m.path)!;
    expect(Array.from(ours.u), `${m.path} U`).toEqual(Array.from(await readTensor(device, alone.u)));
    expect(Array.from(ours.sigma), `${m.path} Σ`).toEqual(Array.from(await readTensor(device, alone.s)));
    expect(Array.from(ours.v), `${m.path} V`).toEqual(Array.from(await readTensor(device, alone.v)));
    for (const t of [w, alone.u, alone.s, alone.v]) t.buffer.destroy();
  }
});

// The engine reloads with new settings on the same model: the new model takes the old one's
// factors instead of running the SVD again, and starts exactly where a fresh load would.
it('copies U, V and the initial Σ of a model of the same weights instead of factoring again', async () => {
  const loaded = await loadModel(await readModelDir(join(HF_TINY, 'distilbert')), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
  const { device } = await testGpu();
  const dropout = { hidden: 0, attention: 0, classifier: 0 };
  let factored = 0;
  const options = { trains: () => true, factorOn: 'cpu' as const, onFactored: () => factored++ };
  const first = await GpuModel.create(device, loaded.weights, dropout, { ...options, maxBatch: 2, maxSeq: 8 });
  const svds = factored;
  expect(svds).toBeGreaterThan(0);
  // Another shape, as new settings give; the trained Σ of the first must not leak into the second.
  device.queue.writeBuffer(first.paramsTensor.buffer, 0, new Float32Array(first.params.size).fill(7));
  const again = await GpuModel.create(device, loaded.weights, dropout, { ...options, maxBatch: 3, maxSeq: 16, factorsFrom: first });
  expect(factored).toBe(svds);
  const fresh = await GpuModel.create(device, loaded.weights, dropout, { ...options, maxBatch: 3, maxSeq: 16 });
  const [copied, expected] = [await again.readFactors(), await fresh.readFactors()];
  for (const [path, f] of expected) {
    for (const key of ['u', 'sigma', 'v'] as const) expect(Array.from(copied.get(path)![key]), `${path} ${key}`).toEqual(Array.from(f[key]));
  }
  expect(Array.from(await readTensor(device, again.initialTensor))).toEqual(Array.from(await readTensor(device, fresh.initialTensor)));
  expect(again.svdReports).toEqual(fresh.svdReports);

  // Other modules (another architecture): factored afresh.
  const bert = await loadModel(await readModelDir(join(HF_TINY, 'bert')), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
  const other = await GpuModel.create(device, bert.weights, dropout, { ...options, maxBatch: 2, maxSeq: 8, factorsFrom: first });
  expect(factored).toBeGreaterThan(svds);

  // The engine frees the old model once the new one is built: the copies are the new one's own.
  first.destroy();
  const after = await again.readFactors();
  for (const [path, f] of expected) expect(Array.from(after.get(path)!.u), `${path} u`).toEqual(Array.from(f.u));
  await expect(GpuModel.create(device, loaded.weights, dropout, { ...options, maxBatch: 2, maxSeq: 8, factorsFrom: first })).rejects.toThrow(/destroyed/);
  for (const model of [again, fresh, other]) model.destroy();
});

// A GPU measures each product's matmul kernel before the first step (matmul_tuning.ts). Forced on
// SwiftShader with a tile as the only candidate, every product of the plan moves from the
// software kernel to a tile: loss and gradients must not change by a bit.
it('gives bit-identical loss and gradients once its matmul kernels are measured and swapped', async () => {
  const dir = join(HF_TINY, 'bert');
  const { batch, labels } = readFixtureBatch(dir);
  const loaded = await loadModel(await readModelDir(dir), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
  // Its own device: the measured choices stay with a device, and other tests keep theirs.
  const gpu = await acquireNodeGpu();
  const { device } = gpu;
  const model = await GpuModel.create(device, loaded.weights, { hidden: 0.1, attention: 0.1, classifier: 0.1 }, {
    maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
  });
  model.setBatch(batch, labels);
  device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(5));
  const step = async () => {
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    return { loss: await readTensor(device, model.loss), grads: await readTensor(device, model.gradsTensor) };
  };
  const before = await step();
  const plan = model.trainPlan(batch.batch, batch.seq);
  expect(await model.tuneMatmuls(gpu)).toEqual([]); // software: nothing unless asked
  const progress: [number, number][] = [];
  const tuned = await model.tuneMatmuls(gpu, { onSoftware: true, candidates: [MATMUL_TILES[5]], repeats: 1, onProduct: (done, total) => progress.push([done, total]) });
  expect(tuned.length).toBeGreaterThan(5);
  expect(progress).toEqual(tuned.map((_, i) => [i + 1, tuned.length]));
  expect(tuned.every((t) => t.chosen !== 'direct')).toBe(true);
  expect(model.trainPlan(batch.batch, batch.seq)).not.toBe(plan);
  const after = await step();
  expect(after.loss).toEqual(before.loss);
  expect(after.grads).toEqual(before.grads);
  // Everything is measured now: a second pass measures nothing and keeps the plan.
  const replanned = model.trainPlan(batch.batch, batch.seq);
  expect(await model.tuneMatmuls(gpu, { onSoftware: true })).toEqual([]);
  expect(model.trainPlan(batch.batch, batch.seq)).toBe(replanned);
  device.destroy();
});
