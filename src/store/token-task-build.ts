// Builds a QA or NER file's Dataset off the page's thread: in the tokenizing worker
// (token-task.worker.ts) where the page has one, else in-process (Node, the unit tests), where the
// same chunked build yields between chunks. One build at a time, the newest winning: starting a
// build (or stopping) settles the one before as superseded, so results never arrive out of order.
import { readTokenizerFiles, tokenizerFolder } from '../io/model-folder.ts';
import type { TokenTaskData } from '../io/token-task-data.ts';
import { createTokenizer, type TextTokenizer } from '../io/tokenizer.ts';
import type { Dataset, Example, ModelFiles, QaWindows } from '../io/types.ts';
import { buildTokenTaskDataset, failureOf, type TokenizeProgress, type TokenTaskBuild, type TokenTaskFailure } from './token-task-dataset.ts';
import type { TokenTaskEvent, TokenTaskRequest } from './token-task.worker.ts';

export type BuildOutcome = { type: 'dataset'; dataset: Dataset } | { type: 'failed'; failure: TokenTaskFailure } | { type: 'superseded' };

const SUPERSEDED: BuildOutcome = { type: 'superseded' };

let latest = 0;
/** The build in flight; only it may report progress and settle. */
let pending: {
  id: number;
  fileName: string;
  progress: (progress: TokenizeProgress) => void;
  settle: (outcome: BuildOutcome) => void;
  /** The worker's Dataset as its parts arrive. */
  parts: { train: Example[]; validation: Example[]; windows: QaWindows['windows'] };
} | null = null;

function settle(id: number, outcome: BuildOutcome) {
  if (pending?.id !== id) return;
  const { settle: resolve } = pending;
  pending = null;
  resolve(outcome);
}

/**
 * Build `build` with `model`'s tokenizer, superseding any build in flight. Dispatched once the
 * current task's synchronous store updates are done, so a change they make in turn (a QA file's
 * max length, say) supersedes this build before it costs anything.
 */
export function buildInBackground(model: ModelFiles, build: TokenTaskBuild, progress: (progress: TokenizeProgress) => void): Promise<BuildOutcome> {
  if (pending) settle(pending.id, SUPERSEDED);
  const id = ++latest;
  return new Promise((resolve) => {
    pending = { id, fileName: build.train.fileName, progress, settle: resolve, parts: { train: [], validation: [], windows: [] } };
    queueMicrotask(() => {
      if (id !== latest) return;
      if (typeof Worker === 'undefined') void inProcess(id, model, build).then((outcome) => settle(id, outcome));
      else inWorker(id, model, build);
    });
  });
}

/** Stop the build in flight (the files now build no QA or NER Dataset). */
export function stopBuilding() {
  if (!pending) return;
  settle(pending.id, SUPERSEDED);
  const id = ++latest;
  worker?.postMessage({ type: 'cancel', id } satisfies TokenTaskRequest);
}

/** In-process: the last model's tokenizer, made once. */
let local: { model: ModelFiles; tokenizer: TextTokenizer } | undefined;

async function inProcess(id: number, model: ModelFiles, build: TokenTaskBuild): Promise<BuildOutcome> {
  try {
    if (local?.model !== model) local = { model, tokenizer: createTokenizer(readTokenizerFiles(model)) };
  } catch (error) {
    return { type: 'failed', failure: failureOf(error, model.name) };
  }
  try {
    const dataset = await buildTokenTaskDataset(build, local.tokenizer, {
      progress: (progress) => pending?.id === id && pending.progress(progress),
      superseded: () => id !== latest,
    });
    return dataset ? { type: 'dataset', dataset } : SUPERSEDED;
  } catch (error) {
    return { type: 'failed', failure: failureOf(error, build.train.fileName) };
  }
}

let worker: Worker | null = null;
/** What the worker holds, by the object it was sent for: the model (its tokenizer folder) and the
 * files' data, sent once and kept while builds use them. */
let held = new Map<object, number>();
let nextKey = 1;

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('./token-task.worker.ts', import.meta.url), { type: 'module' });
  w.onmessage = (message: MessageEvent<TokenTaskEvent>) => {
    const event = message.data;
    if (pending?.id !== event.id) return;
    const { parts } = pending;
    if (event.type === 'progress') pending.progress(event.progress);
    else if (event.type === 'examples') parts[event.side].push(...event.examples);
    else if (event.type === 'windows') parts.windows.push(...event.windows);
    else if (event.type === 'failed') settle(event.id, { type: 'failed', failure: event.failure });
    else {
      const { qa } = event.dataset;
      const dataset = { ...event.dataset, train: parts.train, validation: parts.validation, ...(qa && { qa: { ...qa, windows: parts.windows } }) };
      settle(event.id, { type: 'dataset', dataset });
    }
  };
  w.onerror = (event) => {
    event.preventDefault();
    w.terminate();
    worker = null;
    held = new Map();
    if (pending) settle(pending.id, { type: 'failed', failure: { message: `The tokenizing worker stopped: ${event.message || 'its script could not be loaded'}.`, file: pending.fileName } });
  };
  worker = w;
  return w;
}

function inWorker(id: number, model: ModelFiles, build: TokenTaskBuild) {
  try {
    const w = ensureWorker();
    const next = new Map<object, number>();
    const keyOf = (value: object, sent: () => ModelFiles | TokenTaskData) => {
      let key = held.get(value) ?? next.get(value);
      if (key === undefined) {
        key = nextKey++;
        w.postMessage({ type: 'hold', key, value: sent() } satisfies TokenTaskRequest);
      }
      next.set(value, key);
      return key;
    };
    // The weights stay here: the worker gets config.json and the tokenizer files.
    const modelKey = keyOf(model, () => tokenizerFolder(model));
    const side = (s: TokenTaskBuild['train'] | null) => s && { fileName: s.fileName, data: keyOf(s.data, () => s.data) };
    const keyed = { ...build, train: side(build.train)!, validation: side(build.validation) };
    held = next;
    w.postMessage({ type: 'build', id, model: modelKey, build: keyed } satisfies TokenTaskRequest);
  } catch (error) {
    settle(id, { type: 'failed', failure: failureOf(error, model.name) });
  }
}
