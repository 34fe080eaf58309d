/// <reference lib="webworker" />
// The QA/NER tokenizing worker: builds a dropped QA or NER file's Dataset off the page's thread
// (token-task-build.ts is its client). The model's tokenizer files and the files' questions or
// sentences are sent once and held under a key while builds use them; the tokenizer is made once
// per model. The newest build wins: an older one stops at its next chunk.
import { readTokenizerFiles } from '../io/model-folder.ts';
import { createTokenizer, type TextTokenizer } from '../io/tokenizer.ts';
import type { Dataset, Example, ModelFiles, QaWindows } from '../io/types.ts';
import type { TokenTaskData } from '../io/token-task-data.ts';
import { packTokenRows } from '../io/token-row.ts';
import { buildTokenTaskDataset, failureOf, type TokenizeProgress, type TokenTaskBuild, type TokenTaskFailure } from './token-task-dataset.ts';

/** A build whose inputs are keys of held values: the model's tokenizer folder, the files' data. */
export interface KeyedBuild extends Omit<TokenTaskBuild, 'train' | 'validation'> {
  train: { fileName: string; data: number };
  validation: { fileName: string; data: number } | null;
}

export type TokenTaskRequest =
  /** Hold a value under `key` until a build no longer uses it. */
  | { type: 'hold'; key: number; value: ModelFiles | TokenTaskData }
  /** Build, and let go of every held value this build does not use. */
  | { type: 'build'; id: number; model: number; build: KeyedBuild }
  /** Stop the build `id` (a change made the files build nothing). */
  | { type: 'cancel'; id: number };

export type TokenTaskEvent =
  | { type: 'progress'; id: number; progress: TokenizeProgress }
  /** Part of the built Dataset's examples, or of its QA validation windows, in order. */
  | { type: 'examples'; id: number; side: 'train' | 'validation'; examples: Example[] }
  | { type: 'windows'; id: number; windows: QaWindows['windows'] }
  /** The built Dataset, its examples and windows left empty: they came in the parts before. */
  | { type: 'dataset'; id: number; dataset: Dataset }
  | { type: 'failed'; id: number; failure: TokenTaskFailure };

declare const self: DedicatedWorkerGlobalScope;

const held = new Map<number, ModelFiles | TokenTaskData>();
let tokenizer: { key: number; tokenizer: TextTokenizer } | undefined;
let latest = 0;

function post(event: TokenTaskEvent, transfer: Transferable[] = []) {
  self.postMessage(event, transfer);
}

/** The page deserialises each message as one task: parts of about this many examples (QA
 * windows, with a character span per token, cost several times more each) keep every task short. */
const EXAMPLES_PER_PART = 2000;
const WINDOWS_PER_PART = 250;

function send(id: number, dataset: Dataset) {
  for (const side of ['train', 'validation'] as const) {
    for (let i = 0; i < dataset[side].length; i += EXAMPLES_PER_PART) {
      // Each part's token rows in buffers of its own, moved to the page rather than copied.
      const { rows, buffers } = packTokenRows(dataset[side].slice(i, i + EXAMPLES_PER_PART));
      post({ type: 'examples', id, side, examples: rows }, buffers);
    }
  }
  const windows = dataset.qa?.windows ?? [];
  for (let i = 0; i < windows.length; i += WINDOWS_PER_PART) post({ type: 'windows', id, windows: windows.slice(i, i + WINDOWS_PER_PART) });
  post({ type: 'dataset', id, dataset: { ...dataset, train: [], validation: [], ...(dataset.qa && { qa: { ...dataset.qa, windows: [] } }) } });
}

async function build(id: number, modelKey: number, keyed: KeyedBuild) {
  const data = (side: { fileName: string; data: number }) => ({ fileName: side.fileName, data: held.get(side.data) as TokenTaskData });
  const input: TokenTaskBuild = { ...keyed, train: data(keyed.train), validation: keyed.validation && data(keyed.validation) };
  const model = held.get(modelKey) as ModelFiles;
  for (const key of held.keys()) if (key !== modelKey && key !== keyed.train.data && key !== keyed.validation?.data) held.delete(key);
  try {
    if (tokenizer?.key !== modelKey) tokenizer = { key: modelKey, tokenizer: createTokenizer(readTokenizerFiles(model)) };
  } catch (error) {
    post({ type: 'failed', id, failure: failureOf(error, model.name) });
    return;
  }
  try {
    const dataset = await buildTokenTaskDataset(input, tokenizer.tokenizer, {
      progress: (progress) => post({ type: 'progress', id, progress }),
      superseded: () => id !== latest,
    });
    if (dataset) send(id, dataset);
  } catch (error) {
    post({ type: 'failed', id, failure: failureOf(error, input.train.fileName) });
  }
}

self.onmessage = (message: MessageEvent<TokenTaskRequest>) => {
  const request = message.data;
  if (request.type === 'hold') held.set(request.key, request.value);
  else if (request.type === 'cancel') latest = Math.max(latest, request.id);
  else {
    latest = request.id;
    void build(request.id, request.model, request.build);
  }
};
