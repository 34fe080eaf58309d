// The engine client: owns the worker, posts EngineRequests and folds EngineEvents into the run
// store. Per-step events arrive up to tens of times a second on a real GPU; they are batched and
// applied at most every FLUSH_MS so React renders at ~4 Hz whatever the step rate.
import type { Dataset, ModelFiles } from '../io/types.ts';
import type { TrainConfig } from '../train/types.ts';
import type { EngineEvent, EngineRequest, ExportKind, ExportWhich } from '../worker/protocol.ts';
import { totalSteps, useConfig } from './config.ts';
import { demoSettled } from './demo.ts';
import { useGeneration } from './generation.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';
import { isRunning, useRun, type LoraReport, type RunHistory } from './run.ts';
import { beginRun, historyAtCheckpoint, keptData, openRun, runQaStride, useRuns } from './runs.ts';
import { saveExport } from './save-export.ts';
import { splitWords, useTokenPlayground } from './token-playground.ts';

const FLUSH_MS = 250;
/** Settings typed in a field change on every keystroke: wait for a pause before reloading. */
const RELOAD_DEBOUNCE_MS = 400;

let worker: Worker | null = null;
let pending: EngineEvent[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;
let nextPredictionId = 1;
let reloadTimer: ReturnType<typeof setTimeout> | null = null;
/** A saved run being continued: once its files are loaded, show its history and restore. */
let pendingRestore: RunHistory | null = null;
/** Set while a saved run's files and settings go back into the stores: no reload may fire half-way
 * (a model beside the previous data), the run is loaded once they are all in. */
let restoring = false;
/** Loads sent and not yet answered ('ready' or 'error'): only the last one's answer may start or restore. */
let unansweredLoads = 0;
/** What the last load sent: Train starts a run only on the model, data and settings shown now, and
 * a model or Dataset sent before goes again as 'held'. Null while no worker holds anything. */
let loaded: { model: ModelFiles; dataset: Dataset; config: TrainConfig } | null = null;

/** The engine was last sent what the studio shows, and no change is waiting to be sent. */
function engineHoldsCurrent(): boolean {
  const { model, dataset } = useFiles.getState();
  return reloadTimer === null && loaded !== null && loaded.model === model && loaded.dataset === dataset && loaded.config === useConfig.getState().config;
}

function ensureWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(new URL('../worker/engine.worker.ts', import.meta.url), { type: 'module' });
  w.onmessage = (message: MessageEvent<EngineEvent>) => receive(message.data);
  w.onerror = (event) => {
    event.preventDefault();
    useErrors
      .getState()
      .report('engine', `The training engine stopped: ${event.message || 'its script could not be loaded'}.`);
    flush();
    useRun.getState().apply([{ type: 'state', state: 'error' }]);
    w.terminate();
    worker = null;
    loaded = null;
  };
  worker = w;
  return w;
}

function send(request: EngineRequest): boolean {
  try {
    ensureWorker().postMessage(request);
    return true;
  } catch (error) {
    useErrors.getState().report('engine', error);
    return false;
  }
}

function flush() {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (pending.length === 0) return;
  const events = pending;
  pending = [];
  useRun.getState().apply(events);
}

function receive(event: EngineEvent) {
  if (event.type === 'token' || event.type === 'generated') {
    useGeneration.getState().apply(event);
    return;
  }
  if (event.type === 'answer' || event.type === 'tags') {
    useTokenPlayground.getState().apply(event);
    return;
  }
  if (event.type === 'error') useGeneration.getState().abort();
  if (event.type === 'step' || event.type === 'strength' || event.type === 'deltaSpectrum') {
    pending.push(event);
    flushTimer ??= setTimeout(flush, FLUSH_MS);
    return;
  }
  // Everything else is rare and keeps its order relative to the batched step events.
  flush();
  useRun.getState().apply([event]);
  // A load that a newer one has replaced may still fail (the new model beside the old data): that
  // message would outlive the change that made it moot.
  if (event.type === 'error' && unansweredLoads <= 1) useErrors.getState().report('engine', event.message, event.file);
  if (event.type === 'export' && event.kind === 'lora') showLoraReport(event.files);
  if (event.type === 'export') void saveExport(event.kind, useFiles.getState().model?.name ?? 'model', event.files, event.which);
  if (event.type === 'state' && (event.state === 'ready' || event.state === 'error') && unansweredLoads > 0) unansweredLoads--;
  if (unansweredLoads > 0) return;
  // A change made after Train was pressed (a setting, data still tokenizing) reloads first: the
  // run starts when that load is ready.
  if (event.type === 'state' && event.state === 'ready' && useRun.getState().startWhenReady && engineHoldsCurrent()) {
    useRun.getState().setStartWhenReady(false);
    startNewRun();
  }
  if (event.type === 'state' && event.state === 'ready' && pendingRestore) {
    // The history goes in before `restore`, so the run's record is never rewritten without it.
    useRun.getState().showHistory(pendingRestore);
    pendingRestore = null;
    send({ type: 'restore' });
  }
  if (event.type === 'state' && event.state === 'error') pendingRestore = null;
}

/** The truncation report the engine writes beside a LoRA export, shown with the export buttons. */
function showLoraReport(files: { name: string; bytes: ArrayBuffer }[]) {
  const file = files.find((f) => f.name === 'lora_report.json');
  try {
    useRun.getState().setLoraReport(file ? (JSON.parse(new TextDecoder().decode(file.bytes)) as LoraReport) : null);
  } catch (error) {
    useErrors.getState().report('export', error, 'lora_report.json');
  }
}

/** Record a new run (its files, settings, log and checkpoints are kept) and start it. */
function startNewRun() {
  const files = useFiles.getState();
  const { config } = useConfig.getState();
  useErrors.getState().clear('runs');
  if (files.model && files.dataset) {
    const kept = keptData(files);
    if ('notKept' in kept) {
      useErrors.getState().report('runs', `This run trains, but is not kept in the run library: ${kept.notKept}.`);
    } else {
      beginRun(
        {
          model: files.model,
          ...kept,
          datasetName: files.dataset.name,
          columns: files.columns,
          validationSource: files.validationSource,
          validationFraction: files.validationFraction,
          ...(files.dataset.task === 'question-answering' && { qaStride: files.qaStride }),
          config,
        },
        totalSteps(config, files.dataset.train.length),
      );
    }
  }
  send({ type: 'start' });
}

/** Send the current model, dataset and settings to the engine; false when something is missing. */
export function loadRun(): boolean {
  const { model, dataset } = useFiles.getState();
  if (!model || !dataset) return false;
  // A plain load leaves the last run alone: its record takes no events from this one.
  if (!pendingRestore) useRuns.setState({ activeId: null });
  useErrors.getState().clear('engine');
  useRun.getState().resetRun();
  unansweredLoads++;
  const { config } = useConfig.getState();
  const held = loaded;
  loaded = send({ type: 'load', model: held?.model === model ? 'held' : model, dataset: held?.dataset === dataset ? 'held' : dataset, config }) ? { model, dataset, config } : null;
  return true;
}

/** Reload after model, data or settings changed, once the changes pause; never under a run. */
export function scheduleReload() {
  if (reloadTimer !== null) clearTimeout(reloadTimer);
  reloadTimer = null;
  if (restoring) return;
  reloadTimer = setTimeout(() => {
    reloadTimer = null;
    if (!isRunning(useRun.getState().state)) loadRun();
  }, RELOAD_DEBOUNCE_MS);
}

/** Train: start at once when the engine holds the current run, else (re)load and start when ready. */
export function startTraining() {
  const run = useRun.getState();
  const reloadPending = reloadTimer !== null;
  if (reloadTimer !== null) clearTimeout(reloadTimer);
  reloadTimer = null;
  if (run.state === 'ready' && !reloadPending) {
    startNewRun();
  } else if (loadRun()) {
    run.setStartWhenReady(true);
  }
}

/**
 * Continue a saved run: its files, column choices and settings go back into the stores, the
 * engine loads them, and its checkpoint is restored (the run then waits, paused, at that step).
 */
export async function continueRun(id: string): Promise<void> {
  const errors = useErrors.getState();
  errors.clear('runs');
  restoring = true;
  // A reload still pending (the demo's, say) would fire half-way through too.
  if (reloadTimer !== null) clearTimeout(reloadTimer);
  reloadTimer = null;
  try {
    // The demo loads itself on first paint: let it land first, or it would replace the run's files.
    await demoSettled();
    const { record, files } = await openRun(id);
    const store = useFiles.getState();
    await store.dropModel(files.model);
    await store.dropDataset('train', files.train);
    if (files.validation) await store.dropDataset('validation', files.validation);
    // The run's settings are the preset now, and edits made before it do not apply: a QA file's
    // windows, rebuilt at the run's max length and stride, change the dataset's size, and a new
    // size recomputes the settings from the preset (not run_qa.py's 384 a QA file comes with).
    useConfig.setState({ config: record.config, preset: record.config, edited: {}, avfEdited: true });
    useFiles.getState().setQaStride(runQaStride(record));
    const { columns, validationSource, validationFraction } = record.data;
    for (const key of ['text', 'textPair', 'label'] as const) useFiles.getState().setColumn(key, columns[key]);
    useFiles.getState().setValidationFraction(validationFraction);
    useFiles.getState().setValidationSource(validationSource);
    // A QA or NER file's Dataset is built in the background, superseded by each change above.
    await useFiles.getState().datasetSettled();
    const restored = useFiles.getState();
    if (restored.model?.name !== record.model.name || restored.dataset?.name !== record.data.name) {
      throw new Error(`${record.name}: its saved files could not be read back (see the messages above).`);
    }
    useConfig.setState({ config: record.config, trainExamples: restored.dataset.train.length, avfEdited: true });
    restoring = false;
    pendingRestore = historyAtCheckpoint(record);
    useRuns.setState({ activeId: id });
    loadRun();
  } catch (error) {
    pendingRestore = null;
    errors.report('runs', error);
    // The engine follows the files as they now stand.
    restoring = false;
    scheduleReload();
  }
}

export const pauseTraining = () => send({ type: 'pause' });
export const resumeTraining = () => send({ type: 'resume' });
export const stopTraining = () => send({ type: 'stop' });
export const restoreTraining = () => send({ type: 'restore' });

/** `which`: 'best' exports the best checkpoint's parameters instead of the last; `rank`: a LoRA
 * export's rank (absent: full rank, exact). */
export function requestExport(kind: ExportKind, which?: ExportWhich, rank?: number) {
  useRun.getState().setExporting(kind);
  send({ type: 'export', kind, ...(which ? { which } : {}), ...(kind === 'lora' && rank ? { rank } : {}) });
}

/** Base and fine-tuned continuations of `prompt` with the playground's settings. */
export function generate(prompt: string) {
  const id = nextPredictionId++;
  const generation = useGeneration.getState();
  generation.begin(id, prompt);
  send({ type: 'generate', id, prompt, settings: generation.settings });
}

export function stopGenerating() {
  const { running } = useGeneration.getState();
  if (running !== null) send({ type: 'stopGenerate', id: running });
}

export function predict(text: string, textPair?: string) {
  const id = nextPredictionId++;
  useRun.getState().addPrediction({ id, text, textPair });
  send({ type: 'predict', id, text, textPair });
}

/** A QA model's answer to `question` about `context`, base and fine-tuned. */
export function askQuestion(context: string, question: string) {
  const id = nextPredictionId++;
  useTokenPlayground.getState().addQuestion({ id, context, question });
  send({ type: 'answer', id, context, question });
}

/** A token classifier's tags for each word of `sentence`, base and fine-tuned. */
export function tagSentence(sentence: string) {
  const id = nextPredictionId++;
  const words = splitWords(sentence);
  useTokenPlayground.getState().addTagging({ id, sentence, words });
  send({ type: 'tag', id, words: words.map((w) => w.text) });
}

/** Base and fine-tuned predictions for an image (PNG or JPEG bytes) named `name`. */
export function predictImage(name: string, image: Uint8Array) {
  const id = nextPredictionId++;
  useRun.getState().addPrediction({ id, text: name, imageUrl: URL.createObjectURL(new Blob([image as Uint8Array<ArrayBuffer>])) });
  send({ type: 'predictImage', id, image: { path: name, bytes: image } });
}
