// The engine behind the worker, driven through its typed protocol exactly as the studio drives
// it (requests in, events out), on the tiny Hugging Face BERT.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageData, readModelDir } from '../cli/files.ts';
import { decodeImageNode } from '../io/images/decode-node.ts';
import { parseTable } from '../io/dataset.ts';
import { decodeCheckpoint } from '../train/checkpoint.ts';
import { causalLmReader } from '../train/load.ts';
import { defaultConfig } from '../train/defaults.ts';
import type { Gpu } from '../gpu/device.ts';
import { acquireNodeGpu } from '../gpu/node.ts';
import { recordBuffers } from '../test/buffer-ledger.ts';
import { testGpu } from '../test/gpu.ts';
import { Engine } from './engine.ts';
import type { Dataset, Example } from '../io/types.ts';
import { eventTransferables, type EngineEvent, type EngineRequest, type EngineState } from './protocol.ts';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/bert');

async function setup(acquireGpu: () => Promise<Gpu> = testGpu) {
  const events: EngineEvent[] = [];
  const saved = new Map<string, Uint8Array>();
  const savedSteps: number[] = [];
  const engine = new Engine({
    acquireGpu,
    store: {
      save: async (name, bytes) => {
        saved.set(name, bytes);
        savedSteps.push(decodeCheckpoint(bytes).snapshot.step);
      },
      load: async (name) => saved.get(name) ?? null,
    },
    post: (event) => {
      // Handed over as the worker posts it: what it transfers is gone from the engine's side.
      const e = structuredClone(event, { transfer: eventTransferables(event) });
      events.push(e);
      onEvent?.(e);
    },
  });
  let onEvent: ((e: EngineEvent) => void) | undefined;
  const rows = (await readFile(join(FIXTURE, 'data.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Example);
  const dataset: Dataset = { task: 'classification', labelNames: ['a', 'b', 'c'], train: rows, validation: rows.slice(0, 4), name: 'hf-tiny' };
  const load = {
    type: 'load' as const,
    model: await readModelDir(FIXTURE),
    dataset,
    config: defaultConfig(rows.length, { batchSize: 6, epochs: 2, lr: 1e-2, maxLength: 16, avf: { start: 1, interval: 1, count: 2, k: 2, beta: 0.99 } }),
  };
  const states = () => events.flatMap((e) => (e.type === 'state' ? [e.state] : []));
  const waitFor = async (state: EngineState) => {
    for (let i = 0; i < 600 && !states().includes(state); i++) await new Promise((r) => setTimeout(r, 100));
    expect(states()).toContain(state);
  };
  const watch = (f: (e: EngineEvent) => void) => (onEvent = f);
  return { engine, events, load, states, waitFor, saved, savedSteps, watch };
}

describe('the engine protocol', () => {
  it('loads, trains to the end with step, strength, AVF and eval events and a checkpoint per epoch, exports and predicts', async () => {
    const { engine, events, load, states, waitFor, savedSteps } = await setup();
    await engine.handle(load);
    expect(states()).toEqual(['loading', 'ready']);
    const model = events.find((e) => e.type === 'model');
    expect(model).toMatchObject({ type: 'model', totalSteps: 4, summary: { modelType: 'bert', layers: 2, numLabels: 3 } });

    await engine.handle({ type: 'start' });
    await waitFor('finished');
    const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
    expect(steps).toEqual([1, 2, 3, 4]);
    expect(events.filter((e) => e.type === 'avf').map((e) => (e.type === 'avf' ? e.step : 0))).toEqual([1, 2]);
    const strength = events.filter((e) => e.type === 'strength').at(-1);
    expect(strength).toMatchObject({ type: 'strength', layers: 2 });
    expect(strength?.type === 'strength' && strength.values.length).toBe(24);
    expect(events.filter((e) => e.type === 'deltaSpectrum').at(-1)).toMatchObject({ type: 'deltaSpectrum', step: 4, layers: [{ layer: 0 }, { layer: 1 }] });
    expect(events.filter((e) => e.type === 'eval')).toHaveLength(2);
    expect(savedSteps).toEqual([2, 4]);

    await engine.handle({ type: 'export', kind: 'vectors' });
    const exported = events.find((e) => e.type === 'export');
    expect(exported?.type === 'export' && exported.files.map((f) => f.name)).toEqual(['vectorfit_vectors.safetensors', 'adapter_config.json']);

    await engine.handle({ type: 'predict', id: 7, text: 'lozi rumi vodo kavo' });
    const prediction = events.find((e) => e.type === 'prediction');
    expect(prediction).toMatchObject({ type: 'prediction', id: 7 });
    expect(prediction?.type === 'prediction' && prediction.tuned.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('pauses between steps, saves a checkpoint, and resumes from it after a stop', async () => {
    const { engine, events, load, states, waitFor, saved } = await setup();
    await engine.handle(load);
    await engine.handle({ type: 'start' });
    await engine.handle({ type: 'pause' });
    expect(states().at(-1)).toBe('paused');
    expect(saved.has('latest.safetensors')).toBe(true);
    const pausedAt = events.filter((e) => e.type === 'step').length;
    expect(pausedAt).toBeLessThan(4);
    await engine.handle({ type: 'stop' });
    expect(states().at(-1)).toBe('stopped');
    await engine.handle({ type: 'restore' });
    expect(states().at(-1)).toBe('paused');
    await engine.handle({ type: 'resume' });
    await waitFor('finished');
    const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
    expect(steps.at(-1)).toBe(4);
    expect(new Set(steps).size).toBe(4);
  });

  it('stops a diverging run (lr 1e30) naming the step, keeps the last finite checkpoint and refuses to export NaN', async () => {
    const { engine, events, load, states, waitFor, saved, savedSteps } = await setup();
    // One step per epoch, so a checkpoint is saved (step 1) before step 2 diverges.
    const config = { ...(load as Extract<EngineRequest, { type: 'load' }>).config, batchSize: 12, epochs: 3, lr: 1e30, lrSchedule: 'constant' as const };
    await engine.handle({ ...load, config } as EngineRequest);
    await engine.handle({ type: 'start' });
    await waitFor('stopped');
    const errors = events.flatMap((e) => (e.type === 'error' ? [e.message] : []));
    expect(errors).toEqual([expect.stringMatching(/at step 2: training diverged.*The last checkpoint \(step 1\) is finite and kept/)]);
    expect(savedSteps).toEqual([1]);
    const checkpoint = decodeCheckpoint(saved.get('latest.safetensors')!).snapshot;
    for (const data of [checkpoint.params, checkpoint.m, checkpoint.v]) expect(Array.from(data).every(Number.isFinite)).toBe(true);

    await engine.handle({ type: 'export', kind: 'merged' });
    expect(events.filter((e) => e.type === 'export')).toHaveLength(0);
    expect(events.at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/^merged export refused: \S+ is NaN/) });

    await engine.handle({ type: 'restore' });
    expect(states().at(-1)).toBe('paused');
    await engine.handle({ type: 'export', kind: 'vectors' });
    const exported = events.find((e) => e.type === 'export');
    expect(exported?.type === 'export' && exported.files.length).toBe(2);
  });

  it('stops early on the watched metric, then exports the best checkpoint and a LoRA adapter on request', async () => {
    const { engine, events, load, waitFor } = await setup();
    const config = { ...(load as Extract<EngineRequest, { type: 'load' }>).config, epochs: 10, evalEvery: 1, patience: 1, metric: 'loss', lr: 0.3, lrSchedule: 'constant' as const };
    await engine.handle({ ...load, config } as EngineRequest);
    await engine.handle({ type: 'start' });
    await waitFor('finished');
    const stop = events.find((e) => e.type === 'earlyStop');
    const bests = events.flatMap((e) => (e.type === 'best' ? [e.step] : []));
    expect(stop).toMatchObject({ type: 'earlyStop', metric: 'loss', bestStep: bests.at(-1) });
    expect(events.filter((e) => e.type === 'step').length).toBeLessThan(20);

    await engine.handle({ type: 'export', kind: 'vectors', which: 'best' });
    const best = events.find((e) => e.type === 'export');
    expect(best).toMatchObject({ type: 'export', kind: 'vectors', which: 'best' });
    const adapter = best?.type === 'export' ? JSON.parse(new TextDecoder().decode(best.files[1].bytes)) : null;
    expect(adapter.training.steps).toBe(bests.at(-1));

    await engine.handle({ type: 'export', kind: 'lora', rank: 3 });
    const lora = events.filter((e) => e.type === 'export').at(-1);
    expect(lora?.type === 'export' && lora.files.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json', 'lora_report.json']);
    expect(events.some((e) => e.type === 'error')).toBe(false);
  });

  it('reports a bad model file by name and stays usable', async () => {
    const { engine, events, load, states } = await setup();
    const files = { ...load.model.files, 'model.safetensors': new Uint8Array([1, 2, 3]).buffer };
    await engine.handle({ ...load, model: { name: 'broken', files } } as EngineRequest);
    const error = events.find((e) => e.type === 'error');
    expect(error?.type === 'error' && error.message).toMatch(/model\.safetensors/);
    expect(states().at(-1)).toBe('error');
    await engine.handle(load);
    expect(states().at(-1)).toBe('ready');
  });

  it("a load refers to the model and dataset the last one sent ('held'): new settings train on them, on the same SVD factors", async () => {
    const fresh = await setup();
    await fresh.engine.handle({ type: 'load', model: 'held', dataset: 'held', config: fresh.load.config });
    const refused = fresh.events.find((e) => e.type === 'error');
    expect(refused?.type === 'error' && refused.message).toBe('The engine holds no model to load again: send it with the load.');

    const { engine, events, load, states, waitFor } = await setup();
    await engine.handle(load);
    // An export hands its files to the page: the held model's own files must stay whole.
    await engine.handle({ type: 'export', kind: 'merged' });
    expect(events.some((e) => e.type === 'export')).toBe(true);
    const factoring = () => events.filter((e) => e.type === 'progress' && e.phase === 'factoring').length;
    const svds = factoring();
    expect(svds).toBeGreaterThan(0);
    await engine.handle({ type: 'load', model: 'held', dataset: 'held', config: { ...load.config, epochs: 1 } });
    expect(states().at(-1)).toBe('ready');
    // The same model files: the SVD factors of the load before are reused, not computed again.
    expect(factoring()).toBe(svds);
    await engine.handle({ type: 'start' });
    await waitFor('finished');
    // hf-tiny's rows in batches of 6, one epoch now.
    const steps = events.flatMap((e) => (e.type === 'step' ? [e.step] : []));
    expect(Math.max(...steps)).toBe(Math.ceil(load.dataset.train.length / 6));
    expect(events.some((e) => e.type === 'error')).toBe(false);
  });

  it('frees the replaced trainer’s GPU buffers on a reload (after an export in flight), and the next loads train', async () => {
    const { device } = await testGpu();
    const { engine, events, load, states, watch } = await setup();
    const finished = async (count: number) => {
      for (let i = 0; i < 600 && states().filter((s) => s === 'finished').length < count; i++) await new Promise((r) => setTimeout(r, 100));
      expect(states().filter((s) => s === 'finished')).toHaveLength(count);
    };
    const ledger = recordBuffers(device);
    try {
      await engine.handle(load);
      const first = ledger.entries.length;
      expect(ledger.live().length).toBeGreaterThan(0);
      // New settings on the same files (the new model copies the old one's factors), while an
      // export still reads the old one: it finishes, then the old trainer is freed whole.
      const exporting = engine.handle({ type: 'export', kind: 'merged' });
      await engine.handle({ type: 'load', model: 'held', dataset: 'held', config: { ...load.config, epochs: 1 } });
      await exporting;
      expect(events.filter((e) => e.type === 'export')).toHaveLength(1);
      expect(ledger.live(0, first)).toEqual([]);
      await engine.handle({ type: 'start' });
      await finished(1);

      // Other model files (another copy): the old trainer is freed before the new one is built.
      const second = ledger.entries.length;
      expect(ledger.live(first, second).length).toBeGreaterThan(0);
      const other = { ...load, model: await readModelDir(FIXTURE), config: { ...load.config, epochs: 1 } };
      let aliveWhenFactoring: string[] | undefined;
      watch((e) => {
        if (e.type === 'progress' && e.phase === 'factoring') aliveWhenFactoring ??= ledger.live(0, second);
      });
      await engine.handle(other);
      expect(aliveWhenFactoring).toEqual([]);
      expect(ledger.live(0, second)).toEqual([]);
      await engine.handle({ type: 'start' });
      await finished(2);
    } finally {
      ledger.stop();
    }
    expect(events.some((e) => e.type === 'error')).toBe(false);
  });

  it('after a lost device, restores onto a new device from the last checkpoint and finishes as an uninterrupted run', async () => {
    const losses = (events: EngineEvent[]) => events.flatMap((e) => (e.type === 'step' ? [e.loss] : []));
    const straight = await setup();
    await straight.engine.handle(straight.load);
    await straight.engine.handle({ type: 'start' });
    await straight.waitFor('finished');

    // Dawn cannot lose a device on demand: the first device's `lost` promise is ours to resolve,
    // and the device is destroyed with it, as a real loss leaves it.
    let loseDevice = (_info: GPUDeviceLostInfo) => {};
    const devices: GPUDevice[] = [];
    const acquire = async () => {
      const gpu = await acquireNodeGpu();
      if (!devices.length) Object.defineProperty(gpu.device, 'lost', { value: new Promise<GPUDeviceLostInfo>((resolve) => (loseDevice = resolve)) });
      devices.push(gpu.device);
      return gpu;
    };
    const run = await setup(acquire);
    run.watch((e) => {
      if (e.type === 'step' && e.step === 3 && devices.length === 1) {
        loseDevice({ reason: 'unknown', message: 'simulated loss' } as GPUDeviceLostInfo);
        devices[0].destroy();
      }
    });
    await run.engine.handle(run.load);
    await run.engine.handle({ type: 'start' });
    await run.waitFor('error');
    // The cut-short step settles without a second message or another state.
    await new Promise((r) => setTimeout(r, 500));
    const errors = run.events.flatMap((e) => (e.type === 'error' ? [e.message] : []));
    expect(errors).toEqual([expect.stringMatching(/GPU device was lost \(simulated loss\)\. Choose "Resume from checkpoint"/)]);
    expect(run.states().at(-1)).toBe('error');
    expect(run.savedSteps).toEqual([2]);

    await run.engine.handle({ type: 'restore' });
    expect(devices).toHaveLength(2);
    expect(run.states().at(-1)).toBe('paused');
    await run.engine.handle({ type: 'resume' });
    await run.waitFor('finished');
    // Step 3 ran on the lost device; from the checkpoint, steps 3 and 4 run again as they did
    // in the uninterrupted run.
    expect(losses(run.events).slice(-2)).toEqual(losses(straight.events).slice(2));
  });
});

describe('the engine protocol with a causal LM', () => {
  it('loads the demo LLM with prompt/completion rows, trains, reports loss and perplexity, and exports a LlamaForCausalLM', async () => {
    const { engine, events, load, states, waitFor } = await setup();
    const demo = join(import.meta.dirname, '../../public/demo-llm');
    const model = await readModelDir(demo);
    const name = 'sst2-causal-train-512.jsonl';
    const bytes = await readFile(join(demo, name));
    const rows = causalLmReader(model)!(await parseTable(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name), name).examples;
    const dataset: Dataset = { task: 'causal-lm', labelNames: [], train: rows.slice(0, 8), validation: rows.slice(8, 12), name };
    await engine.handle({ ...load, model, dataset, config: defaultConfig(8, { variant: 'sigma', batchSize: 4, epochs: 1, lr: 1e-2, maxLength: 64 }) } as EngineRequest);
    expect(states()).toEqual(['loading', 'ready']);
    expect(events.find((e) => e.type === 'progress' && e.message.startsWith('The run needs about'))).toBeDefined();
    await engine.handle({ type: 'start' });
    await waitFor('finished');
    expect(events.flatMap((e) => (e.type === 'step' ? [e.step] : []))).toEqual([1, 2]);
    const evals = events.flatMap((e) => (e.type === 'eval' ? [e.metrics] : []));
    expect(evals).toHaveLength(1);
    expect(evals[0].perplexity).toBeCloseTo(Math.exp(evals[0].loss), 8);
    const strength = events.filter((e) => e.type === 'strength').at(-1);
    expect(strength?.type === 'strength' && strength.rows.map((r) => r.module)).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);

    await engine.handle({ type: 'export', kind: 'merged' });
    const exported = events.find((e) => e.type === 'export');
    const config = exported?.type === 'export' && exported.files.find((f) => f.name === 'config.json');
    expect(config && JSON.parse(new TextDecoder().decode(config.bytes)).architectures).toEqual(['LlamaForCausalLM']);
  });
});

describe('the engine protocol with an image model', () => {
  it('loads the hf-tiny ViT with image rows, trains with strength and AVF events, predicts a dropped PNG, and exports a ViT folder', async () => {
    const vit = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/vit');
    const events: EngineEvent[] = [];
    const engine = new Engine({ acquireGpu: testGpu, store: { save: async () => {}, load: async () => null }, post: (e) => events.push(e), decodeImage: decodeImageNode });
    // What the studio sends: rows whose image bytes travel with them (structured-cloneable).
    const data = await readImageData(join(vit, 'data.jsonl'));
    const dataset: Dataset = { task: 'classification', labelNames: data.labelNames, train: data.examples, validation: data.examples.slice(0, 6), name: 'data.jsonl' };
    const config = defaultConfig(12, { batchSize: 6, epochs: 2, lr: 5e-2, avf: { start: 1, interval: 1, count: 2, k: 2, beta: 0.99 } });
    await engine.handle({ type: 'load', model: await readModelDir(vit), dataset, config });
    expect(events.find((e) => e.type === 'model')).toMatchObject({ summary: { modelType: 'vit', input: 'pixels', numLabels: 3 }, totalSteps: 4 });
    await engine.handle({ type: 'start' });
    for (let i = 0; i < 600 && !events.some((e) => e.type === 'state' && e.state === 'finished'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(events.filter((e) => e.type === 'step')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'avf').length).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === 'eval').at(-1)).toMatchObject({ metrics: { accuracy: expect.any(Number) } });
    const strength = events.filter((e) => e.type === 'strength').at(-1);
    expect(strength?.type === 'strength' && Math.max(...strength.values)).toBeGreaterThan(0);

    const png = new Uint8Array(await readFile(join(vit, 'images/5.png')));
    await engine.handle({ type: 'predictImage', id: 3, image: { path: 'dropped.png', bytes: png } });
    const prediction = events.find((e) => e.type === 'prediction');
    expect(prediction).toMatchObject({ type: 'prediction', id: 3 });
    if (prediction?.type !== 'prediction') throw new Error('no prediction');
    expect(prediction.tuned.scores.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(prediction.tuned.scores).not.toEqual(prediction.base.scores);

    await engine.handle({ type: 'predictImage', id: 4, image: { path: 'broken.png', bytes: png.subarray(0, 40) } });
    expect(events.filter((e) => e.type === 'error').at(-1)).toMatchObject({ message: expect.stringMatching(/^broken\.png: /) });
    await engine.handle({ type: 'predict', id: 5, text: 'a cat' });
    expect(events.filter((e) => e.type === 'error').at(-1)).toMatchObject({ message: 'vit is an image model: it predicts on images, not text' });

    await engine.handle({ type: 'export', kind: 'merged' });
    const exported = events.find((e) => e.type === 'export');
    expect(exported?.type === 'export' && exported.files.map((f) => f.name).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
  });
});
