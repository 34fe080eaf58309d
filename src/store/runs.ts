// The run library: every training run keeps its dropped model and data files, its settings, its
// log and its last checkpoint in the browser (train/browser-store.ts), so a closed tab loses
// nothing. A run's record (run.json, in the run's folder) is rewritten at every checkpoint and
// state change; its files, and the checkpoint the engine writes (one slot, `latest`), are blobs
// shared between runs (run-blobs.ts), which the record names by path. A dropped image folder is
// kept as its files under their dropped paths, to be dropped back in as a folder. A record is
// written after every blob it names, so a failed or cut-short write never leaves a record that
// names a missing file; a write that fails is reported, and training goes on.
import { create } from 'zustand';
import { browserCheckpointStore, browserRunStorage, type RunStorage } from '../train/browser-store.ts';
import type { CheckpointStore } from '../train/checkpoint.ts';
import type { VectorRow } from '../model/types.ts';
import type { TrainConfig } from '../train/types.ts';
import type { EngineState } from '../worker/protocol.ts';
import type { Columns, DroppedFile, ImageFolder, TableFile, ValidationSource } from './files.ts';
import { useErrors } from './errors.ts';
import { useRun, type AvfEvent, type EvalPoint, type LossPoint, type RunHistory } from './run.ts';
import { DEFAULT_QA_STRIDE } from './token-task-dataset.ts';
import { releaseBlobs, storeBlob, whyNotStored, type StoredFile } from './run-blobs.ts';

/** The engine's checkpoint slot (worker/engine.ts). */
export const ENGINE_CHECKPOINT = 'latest.safetensors';
const RECORD = 'run.json';
/** Where a record before the shared blobs kept its checkpoint, in the run's folder. */
const CHECKPOINT = 'checkpoint.safetensors';
const FORMAT = 'vectorfit-run-2';
/** Records before the shared blobs: the run's files are copies in its own folder (moved to blobs
 * when the library is read, and read where they are while that fails). */
const FORMAT_1 = 'vectorfit-run-1';

type StrengthEvent = NonNullable<RunHistory['strength']>;
type SpectrumEvent = NonNullable<RunHistory['deltaSpectrum']>;
type StepEvent = NonNullable<RunHistory['step']>;

/** A strength event as JSON keeps it (typed arrays become plain arrays). */
export interface SavedStrength {
  step: number;
  layers: number;
  rows: VectorRow[];
  values: number[];
  frozen: number[];
  trainable: number[];
}

export interface SavedSpectrum {
  step: number;
  modules: (Omit<SpectrumEvent['modules'][number], 'values'> & { values: number[] })[];
  layers: SpectrumEvent['layers'];
}

export interface RunRecord {
  format: typeof FORMAT | typeof FORMAT_1;
  id: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  state: EngineState;
  model: { name: string; files: string[] };
  data: {
    name: string;
    /** The training file's name, or the dropped folder's. */
    train: string;
    /** A training folder's files (image datasets), by their dropped paths; absent for one file. */
    trainFiles?: string[];
    validation: string | null;
    columns: Columns;
    validationSource: ValidationSource;
    validationFraction: number;
    /** QA windows' overlap, set for question-answering runs (older records lack it: they used
     * DEFAULT_QA_STRIDE). */
    qaStride?: number;
  };
  config: TrainConfig;
  totalSteps: number;
  /** Each model and data file by its path in the run (`storedPaths`) → its blob; absent from a
   * 'vectorfit-run-1' record, whose files are in the run's folder under those paths. */
  files?: Record<string, StoredFile>;
  /** The step of the run's saved checkpoint (null before the first one). */
  checkpointStep: number | null;
  /** The checkpoint's blob; absent where the checkpoint is in the run's folder (an older record). */
  checkpoint?: StoredFile;
  /** The last step event, for the progress line of a continued run. */
  lastStep: StepEvent | null;
  losses: LossPoint[];
  evals: EvalPoint[];
  avf: AvfEvent[];
  strength: SavedStrength | null;
  /** The last ΔW spectra (train/delta-spectrum.ts), singular values as plain arrays. */
  spectrum: SavedSpectrum | null;
  /** Bytes of the run in browser storage: its folder and every blob it names, shared or not. */
  bytes: number;
}

/** A dropped folder's files by their dropped paths (which start with the folder's name). */
export interface FolderSource {
  folder: string;
  files: Record<string, ArrayBuffer>;
}

/** What a new run is made of (the current files, choices and settings). */
export interface RunSources {
  model: { name: string; files: Record<string, ArrayBuffer> };
  train: { fileName: string; source: File } | FolderSource;
  validation: { fileName: string; source: File } | null;
  datasetName: string;
  columns: Columns;
  validationSource: ValidationSource;
  validationFraction: number;
  /** Set for question answering. */
  qaStride?: number;
  config: TrainConfig;
}

/** Files read back from a saved run, ready for the files store (a folder as its files). */
export interface RunFiles {
  model: DroppedFile[];
  train: DroppedFile | DroppedFile[];
  validation: DroppedFile | null;
}

export interface Quota {
  usage: number;
  quota: number;
  persisted: boolean;
}

interface RunsState {
  runs: RunRecord[];
  /** The run the engine trains now (its checkpoints and log go to this record). */
  activeId: string | null;
  /** Runs ticked for comparison. */
  selected: string[];
  quota: Quota | null;
  ready: boolean;
  toggleSelected(id: string): void;
}

export const useRuns = create<RunsState>()((set) => ({
  runs: [],
  activeId: null,
  selected: [],
  quota: null,
  ready: false,
  toggleSelected(id) {
    set((s) => ({ selected: s.selected.includes(id) ? s.selected.filter((x) => x !== id) : [...s.selected, id] }));
  },
}));

let storage: Promise<RunStorage> | null = null;
const runStorage = () => (storage ??= browserRunStorage());
let engineStorage: Promise<CheckpointStore> | null = null;
const engineCheckpoints = () => (engineStorage ??= browserCheckpointStore());

/** Keep runs in these stores instead of the browser's (tests: a store in memory, one that fails). */
export function setRunStorage(runs: RunStorage, checkpoints: CheckpointStore): void {
  storage = Promise.resolve(runs);
  engineStorage = Promise.resolve(checkpoints);
}

/** The library's writes happen in order, never two at once, in this tab and (under a Web Lock)
 * across the studio's tabs: blobs are released only when no run is between writing them and
 * writing the record that names them. */
let writes: Promise<unknown> = Promise.resolve();
function serial<T>(task: () => Promise<T>): Promise<T> {
  const locks = globalThis.navigator?.locks as LockManager | undefined;
  const exclusive = () => (locks ? (locks.request('vectorfit-runs', task) as Promise<T>) : task());
  const next = writes.then(exclusive, exclusive);
  writes = next.catch(() => undefined);
  return next;
}

const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const bytesOf = (buffer: ArrayBuffer) => new Uint8Array(buffer);

/** Model files under model/, data files under data/ (their own names, so nothing collides). */
const modelPath = (file: string) => `model/${file}`;
const dataPath = (role: 'train' | 'validation', fileName: string) => `data/${role}/${fileName.replace(/[\\/]/g, '_')}`;
/** A training folder's files keep their dropped paths, so reading them back gives the same folder. */
const folderPath = (path: string) => `data/train-folder/${path}`;

/** The paths of a run's model and data files (the keys of its `files`). */
export function storedPaths(record: RunRecord): string[] {
  const { validation } = record.data;
  return [...record.model.files.map(modelPath), ...storedTrainFiles(record).map((f) => f.stored), ...(validation ? [dataPath('validation', validation)] : [])];
}

/** The blobs a run names: its files' and its checkpoint's. */
export function blobsOf(record: RunRecord): StoredFile[] {
  return [...Object.values(record.files ?? {}), ...(record.checkpoint ? [record.checkpoint] : [])];
}

/** Bytes the library holds: every run's folder, and each blob once however many runs share it. */
export function libraryBytes(runs: RunRecord[]): number {
  const blobs = new Map<string, number>();
  let folders = 0;
  for (const run of runs) {
    const named = blobsOf(run);
    folders += run.bytes - named.reduce((sum, f) => sum + f.bytes, 0);
    for (const f of named) blobs.set(f.sha256, f.bytes);
  }
  return folders + [...blobs.values()].reduce((sum, b) => sum + b, 0);
}

/** Where each training file of a run is stored, and the path it is dropped back in with. */
export function storedTrainFiles(record: RunRecord): { stored: string; dropped: string }[] {
  const { train, trainFiles } = record.data;
  return trainFiles ? trainFiles.map((p) => ({ stored: folderPath(p), dropped: p })) : [{ stored: dataPath('train', train), dropped: train }];
}

/** The QA stride a run's windows were cut with. */
export const runQaStride = (record: RunRecord): number => record.data.qaStride ?? DEFAULT_QA_STRIDE;

export function savedStrength(event: StrengthEvent): SavedStrength {
  return { step: event.step, layers: event.layers, rows: event.rows, values: [...event.values], frozen: [...event.frozen], trainable: [...event.trainable] };
}

export function savedSpectrum(event: SpectrumEvent): SavedSpectrum {
  return { step: event.step, modules: event.modules.map((m) => ({ ...m, values: [...m.values] })), layers: event.layers };
}

export function spectrumEvent(saved: SavedSpectrum): SpectrumEvent {
  return { type: 'deltaSpectrum', step: saved.step, modules: saved.modules.map((m) => ({ ...m, values: Float32Array.from(m.values) })), layers: saved.layers };
}

export function strengthEvent(saved: SavedStrength): StrengthEvent {
  return {
    type: 'strength',
    step: saved.step,
    layers: saved.layers,
    rows: saved.rows,
    values: Float32Array.from(saved.values),
    frozen: Uint8Array.from(saved.frozen),
    trainable: Uint8Array.from(saved.trainable),
  };
}

export function parseRecord(bytes: Uint8Array, id: string): RunRecord {
  const record = JSON.parse(new TextDecoder().decode(bytes)) as RunRecord;
  if ((record.format !== FORMAT && record.format !== FORMAT_1) || record.id !== id) throw new Error(`${id}/${RECORD}: not a VectorFit run record`);
  return record;
}

/** Every run record in storage (a damaged one is skipped: a record cut short by a closed tab). */
async function storedRecords(store: RunStorage): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  for (const id of await store.runs()) {
    const bytes = await store.read(id, RECORD);
    if (!bytes) continue;
    try {
      runs.push(parseRecord(bytes, id));
    } catch {
      // The run's folder stays until the user deletes it.
    }
  }
  return runs;
}

/** Remove the blobs among `hashes` that no stored record names. */
async function releaseUnreferenced(store: RunStorage, hashes: Iterable<string>): Promise<void> {
  const referenced = new Set((await storedRecords(store)).flatMap((r) => blobsOf(r).map((f) => f.sha256)));
  await releaseBlobs(store, hashes, referenced);
}

/** Store `bytes` as a blob, or throw an error that says what could not be stored and why. */
async function keep(store: RunStorage, what: string, bytes: () => Promise<Uint8Array>): Promise<StoredFile> {
  try {
    return await storeBlob(store, await bytes());
  } catch (error) {
    throw new Error(`its ${what} could not be stored: ${whyNotStored(error)}`);
  }
}

/**
 * Move an older record's files (and checkpoint) from the run's folder to shared blobs: every blob
 * is written, then the record, then the folder's copies go. On a failure the record stays as it
 * was (its files still in its folder) and the blobs written for it are released.
 */
async function migrateRecord(store: RunStorage, record: RunRecord): Promise<RunRecord> {
  const files: Record<string, StoredFile> = {};
  let checkpoint: StoredFile | undefined;
  const read = async (path: string) => {
    const bytes = await store.read(record.id, path);
    if (!bytes) throw new Error(`its file ${path} is missing`);
    return bytes;
  };
  try {
    for (const path of storedPaths(record)) {
      const bytes = await read(path);
      files[path] = await keep(store, `file ${path}`, async () => bytes);
    }
    if (record.checkpointStep !== null) {
      const bytes = await read(CHECKPOINT);
      checkpoint = await keep(store, 'checkpoint', async () => bytes);
    }
    const migrated: RunRecord = { ...record, format: FORMAT, files, ...(checkpoint && { checkpoint }) };
    await store.write(record.id, RECORD, encode(migrated));
    // Moved: copies left by a failed removal only take space.
    for (const folder of ['model', 'data', CHECKPOINT]) await store.removePath(record.id, folder).catch(() => undefined);
    migrated.bytes = await runBytes(store, migrated);
    return migrated;
  } catch (error) {
    await releaseUnreferenced(store, [...Object.values(files), ...(checkpoint ? [checkpoint] : [])].map((f) => f.sha256)).catch(() => undefined);
    throw error;
  }
}

/**
 * Read every saved run, moving older records' files to the shared blobs, and the storage quota. One
 * task among the record writes: a run begun meanwhile is written (and listed again) after it.
 */
export async function refreshRuns(): Promise<void> {
  await serial(async () => {
    const store = await runStorage();
    const runs: RunRecord[] = [];
    for (const record of await storedRecords(store)) {
      if (record.format !== FORMAT_1) {
        // The saved size is the one before its record's last write.
        runs.push({ ...record, bytes: await runBytes(store, record) });
        continue;
      }
      try {
        runs.push(await migrateRecord(store, record));
      } catch (error) {
        runs.push({ ...record, bytes: await runBytes(store, record) });
        useErrors.getState().report('runs', `${record.name} keeps its own copy of its files (it still reopens): they could not be moved to the library's shared files: ${error instanceof Error ? error.message : String(error)}.`);
      }
    }
    // Blobs no record names: a tab closed between a new run's files and its record, or a failed
    // clean-up. No write is under way in any tab while this task holds the library.
    await releaseUnreferenced(store, await store.blobHashes()).catch(() => undefined);
    runs.sort((a, b) => b.createdAt - a.createdAt);
    useRuns.setState((s) => ({ runs, ready: true, selected: s.selected.filter((id) => runs.some((r) => r.id === id)) }));
  });
  await refreshQuota();
}

/** The browser's storage manager (Node has none). */
const storageManager = (): Partial<StorageManager> | undefined => globalThis.navigator?.storage;

async function refreshQuota(): Promise<void> {
  if (!storageManager()?.estimate) return;
  const [estimate, persisted] = await Promise.all([navigator.storage.estimate(), navigator.storage.persisted?.() ?? false]);
  useRuns.setState({ quota: { usage: estimate.usage ?? 0, quota: estimate.quota ?? 0, persisted } });
}

/** Ask the browser to keep the studio's storage under pressure (Chromium answers without a prompt). */
async function requestPersistence(): Promise<void> {
  if (storageManager()?.persist && !(await navigator.storage.persisted())) await navigator.storage.persist();
}

function upsert(record: RunRecord): void {
  useRuns.setState((s) => {
    const others = s.runs.filter((r) => r.id !== record.id);
    return { runs: [record, ...others].sort((a, b) => b.createdAt - a.createdAt) };
  });
}

/** The run's folder and every blob it names. */
async function runBytes(store: RunStorage, record: RunRecord): Promise<number> {
  return (await store.size(record.id)) + blobsOf(record).reduce((sum, f) => sum + f.bytes, 0);
}

async function writeRecord(store: RunStorage, record: RunRecord): Promise<void> {
  await store.write(record.id, RECORD, encode(record));
  record.bytes = await runBytes(store, record);
  upsert({ ...record });
}

/** Take a run out of storage and the list: its folder, then the blobs no other run names. */
async function discard(store: RunStorage, id: string, blobs: StoredFile[]): Promise<void> {
  await store.remove(id);
  await releaseUnreferenced(store, blobs.map((f) => f.sha256));
}

function unlist(id: string): void {
  useRuns.setState((s) => ({
    runs: s.runs.filter((r) => r.id !== id),
    selected: s.selected.filter((x) => x !== id),
    activeId: s.activeId === id ? null : s.activeId,
  }));
}

/** The files a new run keeps (an image dataset's validation split travels with its training
 * files), or why it cannot keep them: a split read from several shards is not kept yet. */
export function keptData(files: { images: ImageFolder | null; train: TableFile | null; validation: TableFile | null; validationSource: ValidationSource }): Pick<RunSources, 'train' | 'validation'> | { notKept: string } {
  const shards = (role: string, name: string) => ({ notKept: `its ${role} split ${name} is read from several shards, which the run library does not keep yet` });
  if (files.images) {
    const { name, source } = files.images;
    return { train: source instanceof File ? { fileName: name, source } : { folder: name, files: source }, validation: null };
  }
  if (!files.train) return { notKept: 'it has no training data' };
  if (!files.train.source) return shards('training', files.train.fileName);
  const validation = files.validationSource === 'file' ? files.validation : null;
  if (validation && !validation.source) return shards('validation', validation.fileName);
  return { train: { fileName: files.train.fileName, source: files.train.source }, validation: validation && { fileName: validation.fileName, source: validation.source! } };
}

/** A new run: its files are stored before its first checkpoint can be. */
export function beginRun(sources: RunSources, totalSteps: number): string {
  const { train } = sources;
  const now = Date.now();
  const id = `run-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  const record: RunRecord = {
    format: FORMAT,
    id,
    name: `${sources.model.name} · ${sources.datasetName}`,
    createdAt: now,
    updatedAt: now,
    state: 'training',
    model: { name: sources.model.name, files: Object.keys(sources.model.files) },
    data: {
      name: sources.datasetName,
      ...('folder' in train ? { train: train.folder, trainFiles: Object.keys(train.files) } : { train: train.fileName }),
      validation: sources.validation?.fileName ?? null,
      columns: sources.columns,
      validationSource: sources.validationSource,
      validationFraction: sources.validationFraction,
      ...(sources.qaStride !== undefined && { qaStride: sources.qaStride }),
    },
    config: sources.config,
    totalSteps,
    checkpointStep: null,
    lastStep: null,
    losses: [],
    evals: [],
    avf: [],
    strength: null,
    spectrum: null,
    bytes: 0,
  };
  useRuns.setState({ activeId: id });
  upsert(record);
  const { validation } = sources;
  const kept: { path: string; what: string; bytes: () => Promise<Uint8Array> }[] = [
    ...Object.entries(sources.model.files).map(([file, buffer]) => ({ path: modelPath(file), what: `model file ${file}`, bytes: async () => bytesOf(buffer) })),
    ...('folder' in train
      ? Object.entries(train.files).map(([path, buffer]) => ({ path: folderPath(path), what: `training image ${path}`, bytes: async () => bytesOf(buffer) }))
      : [{ path: dataPath('train', train.fileName), what: `training file ${train.fileName}`, bytes: async () => new Uint8Array(await train.source.arrayBuffer()) }]),
    ...(validation ? [{ path: dataPath('validation', validation.fileName), what: `validation file ${validation.fileName}`, bytes: async () => new Uint8Array(await validation.source.arrayBuffer()) }] : []),
  ];
  // Within the record writes' order: a checkpoint's save waits for the run's files.
  void serial(async () => {
    const store = await runStorage();
    const files: Record<string, StoredFile> = {};
    try {
      for (const { path, what, bytes } of kept) files[path] = await keep(store, what, bytes);
      await writeRecord(store, { ...record, files }).catch((error: unknown) => {
        throw new Error(`its record could not be stored: ${whyNotStored(error)}`);
      });
    } catch (error) {
      // A run whose files could not all be stored (the quota, say) would not reopen: it is not
      // kept, and goes before a checkpoint's save could write its record.
      unlist(id);
      useErrors.getState().report('runs', `${record.name} trains on, but is not kept in the run library: ${error instanceof Error ? error.message : String(error)}.`);
      await discard(store, id, Object.values(files)).catch(() => undefined);
      return;
    }
    await requestPersistence();
    await refreshQuota();
  });
  return id;
}

/**
 * The active run's progress: its log, its state and (after a checkpoint) the checkpoint, stored as
 * a blob before the record names it. A write that fails is reported and leaves the stored run as it
 * was (a checkpoint that could not be stored leaves the record at the one before); training goes on.
 */
export function saveProgress(id: string, update: Partial<RunRecord>, copyCheckpoint: boolean): Promise<void> {
  return serial(async () => {
    const current = useRuns.getState().runs.find((r) => r.id === id);
    if (!current) return;
    const store = await runStorage();
    const report = (what: string, error: unknown) => {
      const at = current.checkpointStep === null ? 'it has no checkpoint yet' : `it continues from step ${current.checkpointStep}`;
      useErrors.getState().report('runs', `${current.name}: ${what} could not be stored in the run library: ${whyNotStored(error)}. Training goes on; the saved run keeps what it had (${at}).`);
    };
    const next: RunRecord = { ...current, ...update, updatedAt: Date.now() };
    if (copyCheckpoint) {
      const bytes = await (await engineCheckpoints()).load(ENGINE_CHECKPOINT);
      try {
        if (bytes) next.checkpoint = await storeBlob(store, bytes);
      } catch (error) {
        report('its latest checkpoint', error);
      }
      if (next.checkpoint === current.checkpoint) next.checkpointStep = current.checkpointStep;
    }
    try {
      await writeRecord(store, next);
    } catch (error) {
      report('its log and state', error);
      if (next.checkpoint && next.checkpoint !== current.checkpoint) await releaseUnreferenced(store, [next.checkpoint.sha256]).catch(() => undefined);
      return;
    }
    if (next.checkpoint !== current.checkpoint) {
      // The checkpoint it replaces (a blob, or an older record's copy in the run's folder): one
      // that stays only takes space.
      const replaced = current.checkpoint ? releaseUnreferenced(store, [current.checkpoint.sha256]) : store.removePath(id, CHECKPOINT);
      await replaced.catch(() => undefined);
    }
  });
}

/** Read a run's files back and put its checkpoint in the engine's slot, ready for `restore`. */
export async function openRun(id: string): Promise<{ record: RunRecord; files: RunFiles }> {
  await writes;
  const store = await runStorage();
  const recordBytes = await store.read(id, RECORD);
  if (!recordBytes) throw new Error(`${id}: this run is no longer in the browser's storage.`);
  const record = parseRecord(recordBytes, id);
  /** A file from its blob, or from the run's folder for an older record. */
  const stored = (path: string) => {
    if (!record.files) return store.read(id, path);
    const file = record.files[path];
    return file ? store.readBlob(file.sha256) : null;
  };
  const read = async (path: string, name: string): Promise<DroppedFile> => {
    const bytes = await stored(path);
    if (!bytes) throw new Error(`${record.name}: its saved file ${name} is missing from the browser's storage.`);
    return { path: name, file: new File([bytes as Uint8Array<ArrayBuffer>], name.slice(name.lastIndexOf('/') + 1)) };
  };
  const model = await Promise.all(record.model.files.map((f) => read(modelPath(f), `${record.model.name}/${f}`)));
  const trainFiles = [];
  for (const f of storedTrainFiles(record)) trainFiles.push(await read(f.stored, f.dropped));
  const train = record.data.trainFiles ? trainFiles : trainFiles[0];
  const validation = record.data.validation ? await read(dataPath('validation', record.data.validation), record.data.validation) : null;
  const checkpoint = record.checkpoint ? await store.readBlob(record.checkpoint.sha256) : await store.read(id, CHECKPOINT);
  if (!checkpoint) throw new Error(`${record.name}: there is no checkpoint to continue from.`);
  await (await engineCheckpoints()).save(ENGINE_CHECKPOINT, checkpoint);
  useRuns.setState({ activeId: id });
  return { record, files: { model, train, validation } };
}

/** The part of a run's log up to its checkpoint: what a continued run starts from. */
export function historyAtCheckpoint(record: RunRecord): RunHistory {
  const at = record.checkpointStep ?? 0;
  const lastLoss = record.losses.filter((p) => p.step <= at).at(-1);
  return {
    step: record.lastStep && lastLoss ? { ...record.lastStep, step: at, loss: lastLoss.loss } : null,
    losses: record.losses.filter((p) => p.step <= at),
    evals: record.evals.filter((e) => e.step <= at),
    avf: record.avf.filter((e) => e.step <= at),
    strength: record.strength && record.strength.step <= at ? strengthEvent(record.strength) : null,
    deltaSpectrum: record.spectrum && record.spectrum.step <= at ? spectrumEvent(record.spectrum) : null,
  };
}

/** Delete a run: its folder, and the blobs no other run names (a file another run shares stays). */
export async function deleteRun(id: string): Promise<void> {
  await serial(async () => {
    const store = await runStorage();
    const bytes = await store.read(id, RECORD);
    let blobs: StoredFile[] = [];
    try {
      if (bytes) blobs = blobsOf(parseRecord(bytes, id));
    } catch {
      // A damaged record: its blobs are unknown and stay.
    }
    await discard(store, id, blobs);
    unlist(id);
  });
  await refreshQuota();
}

/** A run that stopped before its end and has a checkpoint can be continued. */
export const canContinue = (record: RunRecord) => record.checkpointStep !== null && record.checkpointStep < record.totalSteps && record.state !== 'finished';

/** States worth recording: a load's own states (loading, ready) say nothing about the run. */
const RECORDED: readonly EngineState[] = ['training', 'paused', 'stopped', 'finished', 'error'];

/** Keep the active run's record current: at every saved checkpoint and every change of state. */
export function followActiveRun(): void {
  useRun.subscribe((s, prev) => {
    const id = useRuns.getState().activeId;
    if (!id) return;
    const checkpointSaved = s.checkpoint !== prev.checkpoint && s.checkpoint !== null && s.checkpoint.done === s.checkpoint.total;
    const stateChanged = s.state !== prev.state && RECORDED.includes(s.state);
    if (!checkpointSaved && !stateChanged) return;
    const update: Partial<RunRecord> = {
      state: s.state,
      lastStep: s.step,
      losses: s.losses,
      evals: s.evals,
      avf: s.avf,
      strength: s.strength && savedStrength(s.strength),
      spectrum: s.deltaSpectrum && savedSpectrum(s.deltaSpectrum),
    };
    if (s.totalSteps > 0) update.totalSteps = s.totalSteps;
    if (checkpointSaved) update.checkpointStep = s.step?.step ?? 0;
    saveProgress(id, update, checkpointSaved).catch((error: unknown) =>
      useErrors.getState().report('runs', `The run could not be saved in the browser: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
}
