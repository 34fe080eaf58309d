// Train pressed while the engine loads: a change made meanwhile (a setting, data re-tokenized)
// is loaded before the run starts, so a run never trains on what the studio no longer shows.
// The engine worker is a stand-in that records requests and answers when told.
import { afterAll, beforeAll, beforeEach, expect, it, vi } from 'vitest';
import type { Dataset, ModelFiles } from '../io/types.ts';
import type { EngineEvent, EngineRequest } from '../worker/protocol.ts';
import { useConfig } from './config.ts';
import { scheduleReload, startTraining } from './engine.ts';
import { useFiles } from './files.ts';
import { useRun } from './run.ts';

const requests: EngineRequest[] = [];
let engine: StandInEngine;

class StandInEngine {
  onmessage: ((message: { data: EngineEvent }) => void) | null = null;
  onerror: unknown = null;
  constructor() {
    engine = this;
  }
  postMessage(request: EngineRequest) {
    requests.push(request);
  }
  answer(event: EngineEvent) {
    this.onmessage!({ data: event });
  }
  terminate() {}
}

beforeAll(() => {
  vi.stubGlobal('Worker', StandInEngine);
  vi.useFakeTimers();
});
afterAll(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const model = { name: 'tiny', files: {} } as unknown as ModelFiles;
const dataset = (name: string): Dataset => ({ task: 'classification', labelNames: ['a', 'b'], train: [{ text: 'x', label: 0 }], validation: [], name });
const sent = (type: EngineRequest['type']) => requests.filter((r) => r.type === type);

beforeEach(() => {
  requests.length = 0;
  useFiles.setState({ model, dataset: dataset('first') });
  useRun.setState({ state: 'idle', startWhenReady: false });
});

it('a setting changed after Train is loaded first; the run starts on it', async () => {
  startTraining();
  expect(sent('load')).toHaveLength(1);
  useConfig.getState().set('lr', 0.0123);
  scheduleReload(); // as the studio does on every settings change
  engine.answer({ type: 'state', state: 'ready' });
  expect(sent('start')).toHaveLength(0);
  await vi.advanceTimersByTimeAsync(1000);
  const loads = sent('load') as Extract<EngineRequest, { type: 'load' }>[];
  expect(loads).toHaveLength(2);
  expect(loads[1].config.lr).toBe(0.0123);
  // The model and data the engine was sent before go as 'held', not posted again.
  expect([loads[0].model, loads[0].dataset]).toEqual([model, useFiles.getState().dataset]);
  expect([loads[1].model, loads[1].dataset]).toEqual(['held', 'held']);
  engine.answer({ type: 'state', state: 'ready' });
  expect(sent('start')).toHaveLength(1);
});

it('data being re-tokenized when the load is ready: the run waits for it and starts on the new data', async () => {
  startTraining();
  useFiles.setState({ dataset: null });
  engine.answer({ type: 'state', state: 'ready' });
  expect(sent('start')).toHaveLength(0);
  const rebuilt = dataset('rebuilt');
  useFiles.setState({ dataset: rebuilt });
  scheduleReload();
  await vi.advanceTimersByTimeAsync(1000);
  const loads = sent('load') as Extract<EngineRequest, { type: 'load' }>[];
  expect(loads.at(-1)!.dataset).toBe(rebuilt);
  expect(loads.at(-1)!.model).toBe('held');
  engine.answer({ type: 'state', state: 'ready' });
  expect(sent('start')).toHaveLength(1);
});

it('nothing changed: the run starts when the load is ready', () => {
  startTraining();
  engine.answer({ type: 'state', state: 'ready' });
  expect(sent('start')).toHaveLength(1);
});
