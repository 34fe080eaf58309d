// The trainer end to end on a tiny real Hugging Face BERT (../shared/fixtures/hf-tiny/bert):
// the loss falls, a resumed run repeats the uninterrupted one exactly, AVF freezes what it
// says, and the exports round-trip.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { isShared, recordBuffers } from '../test/buffer-ledger.ts';
import { testGpu } from '../test/gpu.ts';
import type { Dataset, Example, ModelFiles } from '../io/types.ts';
import type { EngineEvent } from '../worker/protocol.ts';
import type { TrainConfig } from './types.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { defaultConfig } from './defaults.ts';
import { moduleSpectrum } from './delta-spectrum.ts';
import { buildExport, readVectorsExport } from './exports.ts';
import { readTensor, readTensorU32 } from '../gpu/readback.ts';
import { adamw as adamwRef } from '../kernels/adamw.ref.ts';
import { gradNorm as gradNormRef } from '../kernels/grad_norm.ref.ts';
import { expectClose } from '../test/compare.ts';
import { learningRate } from './schedule.ts';
import { Trainer, type TrainerOptions } from './trainer.ts';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/bert');

async function fixture(dropout: number): Promise<{ files: ModelFiles; dataset: Dataset }> {
  const files = await readModelDir(FIXTURE);
  // The fixture was saved with dropout 0; a run with dropout exercises the GPU's seeded masks.
  const config = JSON.parse(new TextDecoder().decode(files.files['config.json']));
  Object.assign(config, { hidden_dropout_prob: dropout, attention_probs_dropout_prob: dropout, classifier_dropout: dropout });
  files.files['config.json'] = new TextEncoder().encode(JSON.stringify(config)).buffer as ArrayBuffer;
  const rows = (await readFile(join(FIXTURE, 'data.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Example);
  const dataset: Dataset = { task: 'classification', labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'], train: rows, validation: rows.slice(0, 6), name: 'hf-tiny' };
  return { files, dataset };
}

function config(overrides: Partial<TrainConfig>): TrainConfig {
  return defaultConfig(12, { batchSize: 4, epochs: 4, lr: 1e-2, lrSchedule: 'linear', seed: 7, maxLength: 32, ...overrides });
}

async function trainer(dropout: number, overrides: Partial<TrainConfig>, events: EngineEvent[] = [], engine?: TrainerOptions['engine']): Promise<Trainer> {
  const { files, dataset } = await fixture(dropout);
  return Trainer.create({ gpu: await testGpu(), files, dataset, config: config(overrides), emit: (e) => events.push(e), engine });
}

function losses(t: Trainer): number[] {
  return t.log.flatMap((r) => (r.type === 'step' ? [r.loss] : []));
}

describe('VectorFit trainer on a tiny BERT', () => {
  it('lowers the training loss', async () => {
    const t = await trainer(0, { epochs: 10, avf: { start: 100, interval: 1, count: 0, k: 0, beta: 0.99 } });
    await t.train(() => false);
    const l = losses(t);
    expect(l).toHaveLength(30);
    const first = (l[0] + l[1] + l[2]) / 3;
    const last = (l[27] + l[28] + l[29]) / 3;
    expect(last).toBeLessThan(0.7 * first);
  });

  it('warms the rate up from 0 as the Trainer does: the first update changes nothing', async () => {
    const t = await trainer(0, { lrSchedule: 'cosine', warmupRatio: 0.25 });
    const before = await t.trainedTensors();
    await t.train(() => t.step >= 1);
    const after = await t.trainedTensors();
    for (const [name, { data }] of before) expect(after.get(name)!.data, name).toEqual(data);
    await t.train(() => false);
    // 12 steps, 3 of them warm-up, then half a cosine down to the last step's rate.
    const rates = t.log.flatMap((r) => (r.type === 'step' ? [r.lr] : []));
    expect(rates).toEqual(Array.from({ length: 12 }, (_, i) => learningRate({ lr: 1e-2, lrSchedule: 'cosine', warmupRatio: 0.25 }, i + 1, 12)));
    expect(rates.slice(0, 4)).toEqual([0, 1e-2 * (1 / 3), 1e-2 * (2 / 3), 1e-2]);
  });

  it("clips each step's gradients to maxGradNorm as clip_grad_norm_ does before AdamW, and logs their norm", async () => {
    // A norm small enough that the clipped gradients (~1e-9) meet AdamW's eps: Adam is blind to
    // the gradients' scale far above it, so a larger one would hardly move the update.
    const maxGradNorm = 1e-7;
    const t = await trainer(0, { maxGradNorm, lrSchedule: 'constant' });
    const { device } = t.gpu;
    const before = await readTensor(device, t.model.paramsTensor);
    const frozen = await readTensorU32(device, t.optimizer.frozen);
    await t.train(() => t.step >= 1);
    const grads = await readTensor(device, t.model.gradsTensor);
    const after = await readTensor(device, t.model.paramsTensor);
    const { vectorIndex } = t.model.params;
    const clip = gradNormRef({ grads, vectorIndex, frozen, maxNorm: maxGradNorm });
    const logged = t.log.find((r) => r.type === 'step')!;
    expect(Math.abs(logged.type === 'step' ? logged.gradNorm! - clip.norm : NaN)).toBeLessThan(1e-5 * clip.norm);
    const zeros = new Float64Array(grads.length);
    const adam = (gradFactor: number) =>
      adamwRef({ params: Float64Array.from(before), grads: Float64Array.from(grads), m: zeros, v: zeros, vectorIndex, steps: new Uint32Array(frozen.length), frozen, lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradFactor }).params;
    // One update of at most lr = 0.01 on |p| ≲ 2: a few fp32 roundings (≤ 1e-6) apart.
    expectClose(after, adam(clip.factor), { atol: 2e-6, rtol: 0 }, 'clipped step');
    const unclipped = adam(1);
    expect(Math.max(...Array.from(after, (p, i) => Math.abs(p - unclipped[i])))).toBeGreaterThan(1e-3);
  });

  it('accumulating micro-batches trains as one batch of their size: two of 4 as one of 8', async () => {
    const settings = { epochs: 2, avf: { start: 100, interval: 1, count: 0, k: 0, beta: 0.99 } };
    const whole = await trainer(0, { ...settings, batchSize: 8 });
    const micro = await trainer(0, { ...settings, batchSize: 4, gradientAccumulation: 2 });
    // 12 rows: steps of 8 and 4 rows, the second one a single micro-batch.
    expect([whole.totalSteps, micro.totalSteps]).toEqual([4, 4]);
    await whole.train(() => false);
    await micro.train(() => false);
    // The same sums in other orders (means over 4 and 8 rows, a weighted sum in fp32): a few ulp.
    const [a, b] = [losses(whole), losses(micro)];
    expect(b).toHaveLength(4);
    b.forEach((loss, i) => expect(Math.abs(loss - a[i]), `step ${i + 1}: ${loss} against ${a[i]}`).toBeLessThan(1e-6));
    // Every parameter within a few ulp (measured ≤ 2.4e-7), but the key biases: softmax is
    // blind to a shift of a row's scores, so their true gradient is 0 and fp32 leaves rounding
    // noise, which AdamW normalises into steps of ±lr whatever the summation order.
    const [got, want] = [await micro.trainedTensors(), await whole.trainedTensors()];
    for (const [name, { data }] of want) {
      if (name.endsWith('attention.self.key.bias')) continue;
      expectClose(got.get(name)!.data, data, { atol: 1e-6, rtol: 0 }, name);
    }
  });

  it('refuses a run the GPU has no memory for, by the estimate, and frees what it made', async () => {
    const gpu = await testGpu();
    const { device } = gpu;
    // The driver's answer to a GPU too small: an out-of-memory error in the scope, no exception.
    const pop = device.popErrorScope.bind(device);
    device.popErrorScope = async () => {
      device.popErrorScope = pop;
      await pop();
      return { message: 'Out of memory (test)' } as GPUError;
    };
    const ledger = recordBuffers(device);
    const failed = await trainer(0, { batchSize: 4 }).then(
      () => 'trained',
      (error: Error) => error.message,
    );
    ledger.stop();
    expect(failed).toMatch(/^The GPU ran out of memory setting up the run \(Out of memory \(test\)\)\. The run needs about [\d.]+ \w+ of GPU memory at 128 tokens per batch .*Lower the batch size \(gradient accumulation keeps the effective batch\) or the max length\.$/);
    expect(ledger.live()).toEqual([]);
    expect(ledger.entries.length).toBeGreaterThan(10);
  });

  it('stops the run at a step after WebGPU reported an error, naming it', async () => {
    const t = await trainer(0, {});
    await t.train(() => t.step >= 1);
    const { gpu } = t;
    // A call WebGPU refuses (MAP_READ goes with COPY_DST only): an event, and no exception.
    gpu.device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    const stopped = await t.train(() => false).then(
      () => 'trained on',
      (error: Error) => error.message,
    );
    expect(stopped).toMatch(/^WebGPU reported an error by step [23], so the run stopped: .*usage/i);
    expect(t.step).toBeLessThan(t.totalSteps);
    gpu.errors.splice(0);
  });

  it("applies weight decay to Σ and the head's weights but spares every bias, as Hugging Face's Trainer does", async () => {
    const settings = { epochs: 1, avf: { start: 100, interval: 1, count: 0, k: 0, beta: 0.99 } };
    const plain = await trainer(0, settings);
    const decayed = await trainer(0, { ...settings, weightDecay: 0.5 });
    // One step: its gradients come before any decay, so they are the same in both runs.
    await plain.train(() => plain.step >= 1);
    await decayed.train(() => decayed.step >= 1);
    const [a, b] = [await plain.trainedTensors(), await decayed.trainedTensors()];
    for (const [name, { data }] of a) {
      // A bias steps exactly as without decay; anything else shrinks by lr·wd besides.
      if (name.endsWith('.bias')) expect(b.get(name)!.data, name).toEqual(data);
      else expect(b.get(name)!.data, name).not.toEqual(data);
    }
  });

  it('stops cleanly with a clear error when the loss stops being finite', async () => {
    const events: EngineEvent[] = [];
    const t = await trainer(0, {}, events);
    // A parameter that went bad (as after a blow-up): one NaN in the classifier.
    const tensors = new Map([...(await t.trainedTensors())].map(([name, v]) => [name, v.data]));
    tensors.get('classifier.weight')![0] = NaN;
    t.importVectors(tensors);
    await expect(t.train(() => false)).rejects.toThrow(/the loss became NaN at step 1: training diverged and stopped/);
    expect(t.step).toBe(1);
    const last = events.filter((e) => e.type === 'step').at(-1);
    expect(last?.type === 'step' && Number.isFinite(last.loss)).toBe(false);
  });

  it('an absurd learning rate stops the run at the step where Σ turns NaN behind a finite loss; checkpoints and exports stay finite', async () => {
    // At lr 1e30 step 2's loss is a finite ~1e30 while its update makes Σ NaN: only the check of
    // the parameters catches it.
    const events: EngineEvent[] = [];
    const t = await trainer(0, { lr: 1e30, lrSchedule: 'constant' }, events);
    await t.train(() => t.step >= 1);
    const finiteSnapshot = await t.snapshot();
    await expect(t.train(() => false)).rejects.toThrow(/\.sigma\[\d+\] became NaN or infinite in the update at step 2: training diverged/);
    expect(t.step).toBe(2);
    const last = events.filter((e) => e.type === 'step').at(-1);
    expect(last?.type === 'step' && Number.isFinite(last.loss)).toBe(true);
    // No eval or strength of the diverged step reaches the studio.
    expect(events.some((e) => (e.type === 'eval' || e.type === 'strength') && e.step === 2)).toBe(false);
    await expect(t.snapshot()).rejects.toThrow(/at step 2: training diverged/);
    await expect(buildExport(t, 'vectors')).rejects.toThrow(/vectors export refused: \S+\[\d+\] is NaN/);
    await expect(buildExport(t, 'merged')).rejects.toThrow(/merged export refused: \S+ is NaN/);
    // The finite checkpoint brings the run back, and its exports are finite.
    t.restore(finiteSnapshot);
    const [vectors] = await buildExport(t, 'vectors');
    for (const [name, data] of readVectorsExport(vectors.bytes)) expect(data.every(Number.isFinite), name).toBe(true);
  });

  it('stops when an AdamW moment overflows even though the parameters stay finite', async () => {
    // v = ∞ makes the update m/(√v + ε) = 0: the parameter stays finite, the optimizer is broken.
    const t = await trainer(0, {});
    await t.train(() => t.step >= 1);
    const state = await t.optimizer.readState();
    const entry = t.model.params.entries.find((e) => e.name.endsWith('.sigma'))!;
    state.v[entry.offset + 2] = Infinity;
    t.optimizer.writeState(state);
    await expect(t.train(() => false)).rejects.toThrow(`the AdamW second moment of ${entry.name}[2] became NaN or infinite in the update at step 2`);
    expect((await t.trainedTensors()).get(entry.name)!.data.every(Number.isFinite)).toBe(true);
  });

  it('keeps the best checkpoint by the watched metric, stops after `patience` evaluations without improvement, and exports the best', async () => {
    const events: EngineEvent[] = [];
    const settings = { epochs: 10, evalEvery: 1, patience: 2, metric: 'loss', lr: 0.3, lrSchedule: 'constant' as const };
    const t = await trainer(0, settings, events);
    await t.train(() => false);
    const evals = t.log.flatMap((r) => (r.type === 'eval' ? [{ step: r.step, loss: r.metrics.loss }] : []));
    const stop = t.log.find((r) => r.type === 'early-stop');
    // lr 0.3 overshoots: the validation loss stops improving long before the 30 steps end.
    expect(t.stoppedEarly).toBe(true);
    expect(stop).toMatchObject({ type: 'early-stop', metric: 'loss' });
    expect(t.step).toBeLessThan(t.totalSteps);
    const bestLoss = Math.min(...evals.map((e) => e.loss));
    const bestStep = evals.find((e) => e.loss === bestLoss)!.step;
    expect(t.best).toMatchObject({ step: bestStep, value: bestLoss });
    expect(stop).toMatchObject({ step: t.step, bestStep, best: bestLoss });
    // Exactly `patience` evaluations came after the best, none better.
    expect(evals.filter((e) => e.step > bestStep)).toHaveLength(2);
    expect(events.filter((e) => e.type === 'earlyStop')).toHaveLength(1);
    expect(events.flatMap((e) => (e.type === 'best' ? [e.step] : [])).at(-1)).toBe(bestStep);

    // The best export, imported onto the base model, evaluates to the best checkpoint's metrics;
    // the trainer itself keeps its last parameters.
    const lastLogits = await t.logits(t.dataset.validation);
    const [vectors, adapterConfig] = await buildExport(t, 'vectors', { which: 'best' });
    expect(JSON.parse(new TextDecoder().decode(adapterConfig.bytes))).toMatchObject({ training: { steps: bestStep }, metrics: { loss: bestLoss }, watched_metric: 'loss' });
    expect(Array.from(await t.logits(t.dataset.validation))).toEqual(Array.from(lastLogits));
    const fresh = await trainer(0, settings);
    fresh.importVectors(readVectorsExport(vectors.bytes));
    expect(await fresh.evaluate()).toEqual(t.best!.metrics);

    // The checkpoint carries the best and the stop, so a restored run knows both.
    const restored = await trainer(0, settings);
    restored.restore(decodeCheckpoint(encodeCheckpoint({ snapshot: await t.snapshot(), config: t.config, modelName: 'bert', datasetName: 'hf-tiny' })).snapshot);
    expect(restored.finished).toBe(true);
    expect(restored.best?.step).toBe(bestStep);
    expect(Array.from(restored.best!.params)).toEqual(Array.from(t.best!.params));
  });

  it('refuses a metric the task does not have', async () => {
    await expect(trainer(0, { metric: 'pearson' })).rejects.toThrow(/metric pearson is not a classification metric: choose one of accuracy, macro_f1, mcc, loss/);
  });

  it('reports ΔW’s spectrum live (throttled) with the strength, equal to |Σ − Σ₀| of the trained vectors, and exports it with the log', async () => {
    const events: EngineEvent[] = [];
    const t = await trainer(0, { epochs: 1 }, events);
    await t.train(() => false);
    const spectra = events.filter((e) => e.type === 'deltaSpectrum');
    const strengths = events.filter((e) => e.type === 'strength');
    // At most once a second, always beside a strength event, and at the last step.
    expect(spectra.length).toBeGreaterThan(0);
    for (const e of spectra) expect(strengths.map((x) => x.step)).toContain(e.step);
    const last = spectra.at(-1)!;
    if (last.type !== 'deltaSpectrum') throw new Error('unreachable');
    expect(last.step).toBe(3);
    expect(last.modules).toHaveLength(12);
    expect(last.layers.map((l) => Object.keys(l.change).sort())).toEqual([0, 1].map(() => ['f1', 'f2', 'k', 'o', 'q', 'v']));
    const { params, initial } = await t.snapshot();
    const tensors = await t.trainedTensors();
    const start = (name: string) => t.model.params.entries.find((e) => e.name === name)!.offset;
    for (const m of last.modules) {
      const sigma = tensors.get(`${m.path}.sigma`)!.data;
      const o = start(`${m.path}.sigma`);
      const expected = moduleSpectrum({ ...m, sigma, initial: Array.from(sigma, (_, i) => initial[o + i]) });
      expect(Array.from(m.values), m.path).toEqual(Array.from(expected.values));
      expect(m.effectiveRank).toBe(expected.effectiveRank);
      expect(m.effectiveRank, m.path).toBeGreaterThan(1);
      expect(params[o]).toBe(sigma[0]);
    }
    const files = await buildExport(t, 'log');
    const json = JSON.parse(new TextDecoder().decode(files.find((f) => f.name === 'delta-spectrum.json')!.bytes));
    expect(json.modules.map((m: { path: string }) => m.path)).toEqual(last.modules.map((m) => m.path));
  });

  it('resumed from a checkpoint, repeats the uninterrupted run’s loss trajectory exactly (dropout on)', async () => {
    const settings = { avf: { start: 3, interval: 2, count: 3, k: 4, beta: 0.99 } };
    const straight = await trainer(0.1, settings);
    await straight.train(() => false);

    const first = await trainer(0.1, settings);
    await first.train(() => first.step >= 5);
    const bytes = encodeCheckpoint({ snapshot: await first.snapshot(), config: first.config, modelName: 'bert', datasetName: 'hf-tiny' });
    const resumed = await trainer(0.1, settings);
    resumed.restore(decodeCheckpoint(bytes).snapshot);
    await resumed.train(() => false);

    expect(losses(straight)).toHaveLength(12);
    expect(losses(resumed)).toEqual(losses(straight));
    expect(Array.from((await resumed.snapshot()).params)).toEqual(Array.from((await straight.snapshot()).params));
  });

  it('AVF freezes the top-k vectors at AVF steps, and a frozen vector does not move', async () => {
    const events: EngineEvent[] = [];
    const t = await trainer(0, { avf: { start: 2, interval: 3, count: 2, k: 3, beta: 0.99 } }, events);
    await t.train(() => t.step >= 2);
    expect(events.filter((e) => e.type === 'avf')).toHaveLength(1);
    const frozen = t.frozenVectorNames();
    expect(frozen).toHaveLength(3);
    const before = await t.trainedTensors();
    await t.train(() => t.step >= 4);
    const after = await t.trainedTensors();
    for (const name of frozen) expect(Array.from(after.get(name)!.data), name).toEqual(Array.from(before.get(name)!.data));
    const moving = [...before.keys()].find((n) => !frozen.includes(n) && n.endsWith('.sigma'))!;
    expect(Array.from(after.get(moving)!.data)).not.toEqual(Array.from(before.get(moving)!.data));
    await t.train(() => false);
    expect(events.flatMap((e) => (e.type === 'avf' ? [e.step] : []))).toEqual([2, 5]);
  });

  it('skipping the dΣ and db of modules AVF froze whole changes no loss and no parameter (dropout on, both forms)', async () => {
    const settings = { avf: { start: 2, interval: 2, count: 3, k: 8, beta: 0.99 } };
    for (const linearForms of ['factored', 'recomposed'] as const) {
      const skipping = await trainer(0.1, settings, [], { linearForms });
      await skipping.train(() => false);
      const frozen = new Set(skipping.frozenVectorNames());
      const whole = [...frozen].filter((n) => n.endsWith('.sigma') && frozen.has(n.replace(/\.sigma$/, '.bias')));
      expect(whole.length, 'AVF froze some module’s Σ and bias both').toBeGreaterThan(0);
      const computing = await trainer(0.1, settings, [], { linearForms, skipFrozenModules: false });
      await computing.train(() => false);
      // The skipping trainer did re-plan: its train plan has fewer dispatches.
      const { maxBatch, maxSeq } = skipping.model.options;
      expect(skipping.model.trainPlan(maxBatch, maxSeq).length).toBeLessThan(computing.model.trainPlan(maxBatch, maxSeq).length);
      expect(losses(skipping)).toHaveLength(12);
      expect(losses(skipping), linearForms).toEqual(losses(computing));
      expect(Array.from((await skipping.snapshot()).params), linearForms).toEqual(Array.from((await computing.snapshot()).params));
    }
  });

  it('the head variant trains the head alone: every Σ and bias keeps its initial value', async () => {
    const t = await trainer(0.1, { variant: 'head', epochs: 2 });
    expect(t.summary().trainableParameters).toBe(32 * 32 + 32 + 3 * 32 + 3);
    const before = await t.trainedTensors();
    await t.train(() => false);
    const after = await t.trainedTensors();
    for (const [name, { data }] of after) {
      const head = name.startsWith('bert.pooler') || name.startsWith('classifier');
      if (head) expect(Array.from(data), name).not.toEqual(Array.from(before.get(name)!.data));
      else expect(Array.from(data), name).toEqual(Array.from(before.get(name)!.data));
    }
  });

  it('exported vectors imported onto the same base restore the trained model exactly', async () => {
    const t = await trainer(0, { epochs: 2 });
    await t.train(() => false);
    const [vectors, adapterConfig] = await buildExport(t, 'vectors');
    expect(JSON.parse(new TextDecoder().decode(adapterConfig.bytes))).toMatchObject({ method: 'vectorfit', variant: 'vectorfit', base_model: 'bert' });
    const rows = t.dataset.train;
    const trained = await t.logits(rows);
    const fresh = await trainer(0, { epochs: 2 });
    expect(Array.from(await fresh.logits(rows))).not.toEqual(Array.from(trained));
    fresh.importVectors(readVectorsExport(vectors.bytes));
    expect(Array.from(await fresh.logits(rows))).toEqual(Array.from(trained));
  });

  it('the merged model, loaded as a plain Hugging Face folder, gives the factored model’s logits', async () => {
    const t = await trainer(0, { epochs: 2 });
    await t.train(() => false);
    const merged = await buildExport(t, 'merged');
    expect(merged.map((f) => f.name)).toEqual(expect.arrayContaining(['model.safetensors', 'config.json', 'vocab.txt']));
    const mergedConfig = JSON.parse(new TextDecoder().decode(merged.find((f) => f.name === 'config.json')!.bytes));
    expect(mergedConfig).toMatchObject({ architectures: ['BertForSequenceClassification'], num_labels: 3 });
    const { dataset } = await fixture(0);
    const reloaded = await Trainer.create({
      gpu: await testGpu(),
      files: { name: 'merged', files: Object.fromEntries(merged.map((f) => [f.name, f.bytes])) },
      dataset,
      config: config({ epochs: 1 }),
      emit: () => {},
    });
    const rows = t.dataset.train;
    const a = await t.logits(rows);
    const b = await reloaded.logits(rows);
    // W' = U·diag(Σ)·Vᵀ is recomposed and factored again in fp32: ~1e-6 relative per weight.
    const scale = Math.max(...Array.from(a, Math.abs));
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `logit ${i}`).toBeLessThan(1e-4 * scale);
  });
});

// The engine builds a trainer per load: the one it replaces must give its GPU memory back (JS
// garbage collection does not weigh GPU memory), and what is shared device-wide must survive.
it('destroy() frees every buffer the trainer created, keeps the shared ones, and a fresh trainer then trains the same run', async () => {
  const { device } = await testGpu();
  const ledger = recordBuffers(device);
  let first: Trainer;
  try {
    first = await trainer(0, { epochs: 2, avf: { start: 1, interval: 1, count: 2, k: 2, beta: 0.99 } });
    // Steps with AVF re-plans, evaluations, a prediction and a merged export: plans, scratch
    // and temporaries of every kind.
    await first.train(() => false);
    await first.exclusive(() => first.predict('a b c'));
    await first.exclusive(() => buildExport(first, 'merged'));
    expect(first.allocatedBytes).toBeGreaterThan(0);
    expect(ledger.live().length).toBeGreaterThan(0);
    await first.destroy();
    expect(ledger.live()).toEqual([]);
    expect(ledger.entries.filter(isShared).filter((e) => e.destroyed)).toEqual([]);
    await expect(first.exclusive(async () => 0)).rejects.toThrow(/unloaded/);
  } finally {
    ledger.stop();
  }
  const next = await trainer(0, { epochs: 2, avf: { start: 1, interval: 1, count: 2, k: 2, beta: 0.99 } });
  await next.train(() => false);
  expect(losses(next)).toEqual(losses(first));
});
