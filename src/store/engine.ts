// The engine client: owns the worker, posts EngineRequests and folds EngineEvents into the run
// store. Per-step events arrive up to tens of times a second on a real GPU; they are batched and
// applied at most every FLUSH_MS so React renders at ~10 Hz whatever the step rate.
import type { EngineEvent, EngineRequest, ExportKind } from '../worker/protocol.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';
import { isRunning, useRun } from './run.ts';

const FLUSH_MS = 100;
/** Settings typed in a field change on every keystroke: wait for a pause before reloading. */
const RELOAD_DEBOUNCE_MS = 400;

let worker: Worker | null = null;
let pending: EngineEvent[] = [];
let flushTimer: ReturnType<typeof setTimeout> | null = null;
let nextPredictionId = 1;
let reloadTimer: ReturnType<typeof setTimeout> | null = null;

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
  };
  worker = w;
  return w;
}

function send(request: EngineRequest) {
  try {
    ensureWorker().postMessage(request);
  } catch (error) {
    useErrors.getState().report('engine', error);
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
  if (event.type === 'step' || event.type === 'strength') {
    pending.push(event);
    flushTimer ??= setTimeout(flush, FLUSH_MS);
    return;
  }
  // Everything else is rare and keeps its order relative to the batched step events.
  flush();
  useRun.getState().apply([event]);
  if (event.type === 'error') useErrors.getState().report('engine', event.message, event.file);
  if (event.type === 'export') downloadFiles(event.files);
  if (event.type === 'state' && event.state === 'ready' && useRun.getState().startWhenReady) {
    useRun.getState().setStartWhenReady(false);
    send({ type: 'start' });
  }
}

/** Send the current model, dataset and settings to the engine; false when something is missing. */
export function loadRun(): boolean {
  const { model, dataset } = useFiles.getState();
  if (!model || !dataset) return false;
  useErrors.getState().clear('engine');
  useRun.getState().resetRun();
  send({ type: 'load', model, dataset, config: useConfig.getState().config });
  return true;
}

/** Reload after model, data or settings changed, once the changes pause; never under a run. */
export function scheduleReload() {
  if (reloadTimer !== null) clearTimeout(reloadTimer);
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
    send({ type: 'start' });
  } else if (loadRun()) {
    run.setStartWhenReady(true);
  }
}

export const pauseTraining = () => send({ type: 'pause' });
export const resumeTraining = () => send({ type: 'resume' });
export const stopTraining = () => send({ type: 'stop' });
export const restoreTraining = () => send({ type: 'restore' });

export function requestExport(kind: ExportKind) {
  useRun.getState().setExporting(kind);
  send({ type: 'export', kind });
}

export function predict(text: string, textPair?: string) {
  const id = nextPredictionId++;
  useRun.getState().addPrediction({ id, text, textPair });
  send({ type: 'predict', id, text, textPair });
}

function downloadFiles(files: { name: string; bytes: ArrayBuffer }[]) {
  for (const file of files) {
    const url = URL.createObjectURL(new Blob([file.bytes]));
    const link = document.createElement('a');
    link.href = url;
    link.download = file.name;
    link.click();
    // Revoking at once can cancel the download in some browsers.
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
