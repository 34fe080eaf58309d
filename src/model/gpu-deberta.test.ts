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
import { relativeScratchSize } from '../kernels/relative_attention.ts';
import { estimateTrainingMemory, relativeTensors } from './memory.ts';
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
async function run(config: ModelConfig, weights: ModelWeights, b: ModelBatch, y: number[], linearForms: GpuModelOptions['linearForms'] = 'auto', relativeScratchBytes?: number) {
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: b.batch, maxSeq: b.seq, trains: () => true, factorOn: 'cpu', linearForms, relativeScratchBytes,
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

it('runs the relative terms in batch chunks (5, 5 and 2 of the 12 rows) with the unsplit logits, and gradients that match the reference', async () => {
  const loaded = await loadModel(await readModelDir(DEBERTA_DIR), { task: 'classification', labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'] }, 0);
  const { heads } = loaded.weights.layout;
  const positions = loaded.config.relative!.positions;
  const row = 4 * relativeScratchSize({ batch: 1, seq: batch.seq, heads, positions });
  const whole = await run(loaded.config, loaded.weights, batch, labels);
  const split = await run(loaded.config, loaded.weights, batch, labels, 'auto', 5 * row + row / 2);
  // The forward computes every element as unsplit; the backward's dPositions sums per chunk.
  expect(Array.from(split.logits)).toEqual(Array.from(whole.logits));
  expect(split.loss).toBe(whole.loss);
  expectSameFactors(split, loaded.config);
});

describe('GPU model on DeBERTa configurations beyond the fixture, against the float64 reference', () => {
  it.each(DEBERTA_VARIANTS)('%s', async (_, overrides) => {
    const { config, weights } = debertaVariant(overrides, 7);
    expectSameFactors(await run(config, weights, batch, labels), config);
  });
});

it('the memory estimate of a DeBERTa run is close to what the GPU model allocates (no shared key: pk and pq)', async () => {
  const { device } = await testGpu();
  const { weights } = debertaVariant({ share_att_key: false }, 3);
  const create = device.createBuffer;
  const live: [string, number][] = [];
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create.call(device, descriptor);
    const entry: [string, number] = [descriptor.label ?? '', descriptor.size];
    live.push(entry);
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      live.splice(live.indexOf(entry), 1);
      destroy.call(buffer);
    };
    return buffer;
  };
  try {
    await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 4, maxSeq: 32, trains: () => true, factorOn: 'cpu' });
  } finally {
    device.createBuffer = create;
  }
  const allocated = live.reduce((n, [, size]) => n + size, 0);
  // The optimizer's two moments are not allocated here: 2/5 of the vectors item. Counted:
  // 1,292,412 bytes allocated, 1,390,292 estimated (7.6% over: the estimate is per-layer generous).
  const estimate = estimateTrainingMemory(weights.layout, 4, 32);
  const vectors = estimate.items.find((i) => i.what === 'trainable vectors ×5')!.bytes;
  expect(Math.abs(estimate.total - 0.4 * vectors - allocated) / allocated).toBeLessThan(0.1);
  // The relative attention's own tensors, exactly (less the norm's statistics, 2 × 32 floats).
  const relative = live.filter(([label]) => /relative|position (keys|queries)|dPos|rel_embeddings|encoder\.LayerNorm/.test(label));
  const { frozen, perLayer, scratch } = relativeTensors(weights.layout, 4, 32);
  const counted = [...frozen, ...perLayer(0), ...perLayer(1), ...scratch].reduce((n, t) => n + 4 * t.elements, 0);
  expect(relative.reduce((n, [, size]) => n + size, 0) - 2 * 4 * 32).toBe(counted);
});

describe('GPU DeBERTa in training mode', () => {
  it('has gradients equal to central differences of its dropout-mode loss (same masks, the relative embeddings’ included)', async () => {
    const loaded = await loadModel(await readModelDir(DEBERTA_DIR), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0.2, attention: 0.2, classifier: 0.2 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
    });
    model.setBatch(batch, labels);
    device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(4321));
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const grads = await readTensor(device, model.gradsTensor);
    const params = await readTensor(device, model.paramsTensor);
    const lossAt = async (index: number, value: number) => {
      device.queue.writeBuffer(model.paramsTensor.buffer, index * 4, Float32Array.of(value));
      submitPlan(device, model.lossPlan(batch.batch, batch.seq, true));
      return (await readTensor(device, model.loss))[0];
    };
    // q and k act on the (dropped-out) relative embeddings too; the rest covers the other sites.
    const entries = model.params.entries.filter((e) => /layer\.0\.attention\.self\.(query|key)_proj|layer\.1\.attention\.self\.key_proj\.bias|layer\.1\.output\.dense\.sigma|classifier\.weight|pooler\.dense\.bias/.test(e.name));
    expect(entries).toHaveLength(8);
    for (const entry of entries) {
      let index = entry.offset;
      for (let i = entry.offset; i < entry.offset + entry.length; i++) if (Math.abs(grads[i]) > Math.abs(grads[index])) index = i;
      // As for BERT (gpu-model.test.ts): fp32 losses over 2h = 2e-2 and an O(h²) truncation.
      const h = 1e-2;
      const fd = ((await lossAt(index, params[index] + h)) - (await lossAt(index, params[index] - h))) / (2 * h);
      await lossAt(index, params[index]);
      expect(Math.abs(fd - grads[index]), `${entry.name}[${index - entry.offset}]: fd ${fd}, gradient ${grads[index]}`).toBeLessThan(2e-2 * Math.abs(grads[index]) + 1e-4);
    }
  });

  it('skips dΣ and db of a frozen module on both its paths (tokens and relative embeddings), and nothing else', async () => {
    const loaded = await loadModel(await readModelDir(DEBERTA_DIR), { task: 'classification', labelNames: ['a', 'b', 'c'] }, 0);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
    });
    model.setBatch(batch, labels);
    const step = async () => {
      submitPlan(device, model.trainPlan(batch.batch, batch.seq));
      return readTensor(device, model.gradsTensor);
    };
    const full = await step();
    const key = 'deberta.encoder.layer.0.attention.self.key_proj';
    model.setFrozenVectors([`${key}.sigma`, `${key}.bias`]);
    const sentinel = 7;
    device.queue.writeBuffer(model.gradsTensor.buffer, 0, new Float32Array(model.params.size).fill(sentinel));
    const skipped = await step();
    for (const e of model.params.entries) {
      const ours = Array.from(skipped.subarray(e.offset, e.offset + e.length));
      if (e.name.startsWith(`${key}.`)) expect(ours, e.name).toEqual(new Array(e.length).fill(sentinel));
      else expect(ours, e.name).toEqual(Array.from(full.subarray(e.offset, e.offset + e.length)));
    }
  });
});
