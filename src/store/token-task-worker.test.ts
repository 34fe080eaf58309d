// The files store with the tokenizing worker (token-task.worker.ts) run in this process behind a
// stand-in Worker: every message goes through structuredClone as postMessage's would, so what is
// sent must clone; the model's weights stay behind, each file's data is sent once, and the newest
// build wins.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Dataset } from '../io/types.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';
import type { TokenTaskEvent, TokenTaskRequest } from './token-task.worker.ts';
import { dropped, modelFolder } from './test-drops.ts';

/** Requests as the page sent them, and the worker's answers, in order. */
const sent: TokenTaskRequest[] = [];
const received: TokenTaskEvent[] = [];

class InProcessWorker {
  onmessage: ((message: { data: unknown }) => void) | null = null;
  onerror: unknown = null;
  private scope: { postMessage(event: unknown, transfer?: Transferable[]): void; onmessage: ((message: { data: unknown }) => void) | null };
  private ready: Promise<unknown>;
  constructor() {
    this.scope = {
      postMessage: (event, transfer = []) => {
        // Transferred buffers are detached from the worker's side, as in a browser.
        const data = structuredClone(event, { transfer });
        received.push(data as TokenTaskEvent);
        setTimeout(() => this.onmessage?.({ data }));
      },
      onmessage: null,
    };
    (globalThis as { self?: unknown }).self = this.scope;
    this.ready = import('./token-task.worker.ts');
  }
  postMessage(request: TokenTaskRequest) {
    sent.push(request);
    const data = structuredClone(request);
    void this.ready.then(() => this.scope.onmessage!({ data }));
  }
  terminate() {}
}

beforeAll(() => vi.stubGlobal('Worker', InProcessWorker));
afterAll(() => vi.unstubAllGlobals());

const context = Array.from({ length: 150 }, (_, i) => `word${i}`).join(' ') + ' The capital of France is Paris.';
const squad = (n: number, question = 'What is the capital of France?') =>
  JSON.stringify({
    version: '1.1',
    data: [{ title: 't', paragraphs: Array.from({ length: n }, (_, p) => ({ context, qas: [{ id: `q${p}`, question, answers: [{ text: 'Paris', answer_start: context.indexOf('Paris') }] }] })) }],
  });
const setMaxLength = (maxLength: number) => useConfig.setState((c) => ({ config: { ...c.config, maxLength } }));
const ofType = <T extends TokenTaskRequest['type']>(type: T) => sent.filter((r): r is Extract<TokenTaskRequest, { type: T }> => r.type === type);

beforeEach(() => {
  useErrors.setState({ errors: [] });
  setMaxLength(64);
});

// The tests run in order on one store (and one worker), each going on from the one before.
describe('the tokenizing worker', () => {
  it('gets the tokenizer files without the weights and each file once, builds what in-process builds, and the newest build wins', async () => {
    const files = useFiles.getState();
    await files.dropModel(modelFolder('bert'));
    await files.dropDataset('train', dropped('squad.json', squad(40)));
    await files.datasetSettled();
    const first = useFiles.getState().dataset!;
    expect(first.train.length).toBeGreaterThan(30);
    expect(useErrors.getState().errors).toEqual([]);
    const holds = ofType('hold');
    expect(holds).toHaveLength(2);
    const folder = holds[0].value as { files: Record<string, ArrayBuffer> };
    expect(Object.keys(folder.files).sort()).toEqual(['config.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);

    // Three changes in a row: only the last one's Dataset is ever set, with nothing sent again.
    const seen: (Dataset | null)[] = [];
    const unsubscribe = useFiles.subscribe((s, prev) => s.dataset !== prev.dataset && seen.push(s.dataset));
    setMaxLength(96);
    files.rebuildDataset();
    await new Promise((resolve) => setTimeout(resolve, 5));
    files.setQaStride(16);
    setMaxLength(80);
    files.rebuildDataset();
    await files.datasetSettled();
    unsubscribe();
    expect(ofType('hold')).toHaveLength(2);
    const datasets = seen.filter((d) => d !== null);
    expect(datasets).toHaveLength(1);
    const last = ofType('build').at(-1)!;
    expect([last.build.maxLength, last.build.stride]).toEqual([80, 16]);
    expect(Math.max(...datasets[0]!.train.map((e) => e.tokens!.inputIds.length))).toBe(80);

    // The same settings in-process (no Worker) give the same Dataset.
    vi.stubGlobal('Worker', undefined);
    files.rebuildDataset();
    await files.datasetSettled();
    vi.stubGlobal('Worker', InProcessWorker);
    expect(useFiles.getState().dataset).toEqual(datasets[0]);
  });

  it('a validation file is sent when used, sent again after the worker let it go, and its failure names it', async () => {
    const files = useFiles.getState();
    // Windows of 64 overlapping by 16 leave room for the long question's context.
    useFiles.setState({ qaStride: 16 });
    await files.dropDataset('validation', dropped('dev.json', squad(4, Array.from({ length: 30 }, () => 'really').join(' ') + ' what?')));
    setMaxLength(32);
    files.rebuildDataset();
    await files.datasetSettled();
    expect(useFiles.getState().dataset).toBeNull();
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual([expect.stringMatching(/^dev\.json: question q0: its \d+ tokens leave 0 context tokens per window of 32/)]);
    const holds = ofType('hold').length;
    // Held-out questions instead: the worker lets the validation file go, and gets it again when it is back.
    setMaxLength(64);
    files.setValidationSource('fraction');
    await files.datasetSettled();
    expect(useFiles.getState().dataset?.name).toBe('squad.json');
    expect(ofType('hold')).toHaveLength(holds);
    files.setValidationSource('file');
    await files.datasetSettled();
    expect(ofType('hold')).toHaveLength(holds + 1);
    expect(useErrors.getState().errors).toEqual([]);
    expect(useFiles.getState().dataset?.name).toBe('squad.json + dev.json');
    expect(useFiles.getState().tokenizing).toBeNull();
  });

  it('a change that leaves nothing to build stops the build in flight, whose result never lands', async () => {
    const files = useFiles.getState();
    files.setQaStride(8);
    expect(useFiles.getState().tokenizing).not.toBeNull();
    const cancels = ofType('cancel').length;
    useFiles.setState({ model: null });
    files.rebuildDataset();
    expect(useFiles.getState().tokenizing).toBeNull();
    await files.datasetSettled();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(ofType('cancel')).toHaveLength(cancels + 1);
    expect([useFiles.getState().dataset, useFiles.getState().tokenizing]).toEqual([null, null]);
    expect(useErrors.getState().errors).toEqual([]);
  });

  it('a large Dataset comes back in parts, put together in order as the in-process build makes it', async () => {
    const files = useFiles.getState();
    await files.dropModel(modelFolder('bert'));
    useFiles.setState({ validation: null, validationSource: 'fraction', validationFraction: 0.5, qaStride: 8 });
    setMaxLength(32);
    await files.dropDataset('train', dropped('many.json', squad(400)));
    received.length = 0;
    await files.datasetSettled();
    const viaWorker = useFiles.getState().dataset!;
    expect(useErrors.getState().errors).toEqual([]);
    // More than one part of training examples, and of validation windows.
    expect(received.filter((e) => e.type === 'examples' && e.side === 'train').length).toBeGreaterThan(1);
    expect(received.filter((e) => e.type === 'windows').length).toBeGreaterThan(1);
    vi.stubGlobal('Worker', undefined);
    files.rebuildDataset();
    await files.datasetSettled();
    vi.stubGlobal('Worker', InProcessWorker);
    expect(useFiles.getState().dataset).toEqual(viaWorker);
  });
});
