// The trainer end to end on a tiny real Hugging Face BERT (../shared/fixtures/hf-tiny/bert):
// the loss falls, a resumed run repeats the uninterrupted one exactly, AVF freezes what it
// says, and the exports round-trip.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { testGpu } from '../test/gpu.ts';
import type { Dataset, Example, ModelFiles } from '../io/types.ts';
import type { EngineEvent } from '../worker/protocol.ts';
import type { TrainConfig } from './types.ts';
import { decodeCheckpoint, encodeCheckpoint } from './checkpoint.ts';
import { defaultConfig } from './defaults.ts';
import { buildExport, readVectorsExport } from './exports.ts';
import { Trainer } from './trainer.ts';

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

async function trainer(dropout: number, overrides: Partial<TrainConfig>, events: EngineEvent[] = []): Promise<Trainer> {
  const { files, dataset } = await fixture(dropout);
  return Trainer.create({ gpu: await testGpu(), files, dataset, config: config(overrides), emit: (e) => events.push(e) });
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

  it('stops cleanly with a clear error when the loss stops being finite', async () => {
    const events: EngineEvent[] = [];
    const t = await trainer(0, {}, events);
    // A parameter that went bad (as after a blow-up): one NaN in the classifier.
    const tensors = new Map([...(await t.trainedTensors())].map(([name, v]) => [name, v.data]));
    tensors.get('classifier.weight')![0] = NaN;
    t.importVectors(tensors);
    await expect(t.train(() => false)).rejects.toThrow(/the loss became NaN at step 1: training stopped/);
    expect(t.step).toBe(1);
    const last = events.filter((e) => e.type === 'step').at(-1);
    expect(last?.type === 'step' && Number.isFinite(last.loss)).toBe(false);
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
