import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Table } from '../io/dataset.ts';
import type { RunStorage } from '../train/browser-store.ts';
import type { CheckpointStore } from '../train/checkpoint.ts';
import { useErrors } from './errors.ts';
import type { DroppedFile, ImageFolder, TableFile } from './files.ts';
import { sha256 } from './run-blobs.ts';
import {
  beginRun,
  blobsOf,
  deleteRun,
  ENGINE_CHECKPOINT,
  historyAtCheckpoint,
  keptData,
  libraryBytes,
  openRun,
  parseRecord,
  refreshRuns,
  runQaStride,
  saveProgress,
  setRunStorage,
  storedTrainFiles,
  useRuns,
  type RunRecord,
  type RunSources,
} from './runs.ts';
import { DEFAULT_QA_STRIDE } from './token-task-dataset.ts';

const step = (n: number) => ({ type: 'step' as const, step: n, totalSteps: 9, epoch: 0, loss: 1 / n, lr: 0.01, stepsPerSecond: 2, tokensPerSecond: 100 });

function record(checkpointStep: number | null): RunRecord {
  return {
    format: 'vectorfit-run-1',
    id: 'run-1',
    name: 'm · d',
    createdAt: 0,
    updatedAt: 0,
    state: 'paused',
    model: { name: 'm', files: ['config.json'] },
    data: { name: 'd', train: 'd', validation: null, columns: {}, validationSource: 'fraction', validationFraction: 0.1 },
    config: {} as RunRecord['config'],
    totalSteps: 9,
    checkpointStep,
    lastStep: step(7),
    losses: [1, 2, 3, 4, 5, 6, 7].map((n) => ({ step: n, loss: 1 / n })),
    evals: [{ step: 3, epoch: 0, metrics: { accuracy: 0.5 } }, { step: 6, epoch: 1, metrics: { accuracy: 0.6 } }],
    avf: [{ step: 2, frozen: [], released: [] }, { step: 5, frozen: [], released: [] }],
    strength: { step: 6, layers: 1, rows: [{ kind: 'sigma', module: 'q' }], values: [0.5], frozen: [0], trainable: [1] },
    spectrum: { step: 7, modules: [], layers: [] },
    bytes: 0,
  };
}

describe('a continued run starts from its checkpoint', () => {
  it('keeps the log up to the checkpoint step and drops what came after it', () => {
    const history = historyAtCheckpoint(record(6));
    expect(history.losses.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(history.evals.map((e) => e.step)).toEqual([3, 6]);
    expect(history.avf.map((e) => e.step)).toEqual([2, 5]);
    expect(history.step).toMatchObject({ step: 6, loss: 1 / 6 });
    expect(history.strength?.values).toEqual(Float32Array.from([0.5]));
    // Saved after the checkpoint: not the checkpoint's.
    expect(history.deltaSpectrum).toBeNull();
  });

  it('starts empty without a checkpoint', () => {
    const history = historyAtCheckpoint(record(null));
    expect(history.losses).toEqual([]);
    expect(history.step).toBeNull();
  });
});

const asJson = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

describe('what a record says of its data', () => {
  it('an old record, without a QA stride or folder files, still loads: one training file, the default stride', () => {
    const old = record(6);
    expect('qaStride' in old.data || 'trainFiles' in old.data).toBe(false);
    const loaded = parseRecord(asJson(old), 'run-1');
    expect(runQaStride(loaded)).toBe(DEFAULT_QA_STRIDE);
    expect(storedTrainFiles(loaded)).toEqual([{ stored: 'data/train/d', dropped: 'd' }]);
  });

  it("a QA run's stride comes back as saved", () => {
    const qa = record(6);
    qa.data.qaStride = 48;
    expect(runQaStride(parseRecord(asJson(qa), 'run-1'))).toBe(48);
  });

  it("a folder's files come back under their dropped paths, each stored apart", () => {
    const folder = record(6);
    folder.data = { ...folder.data, train: 'digits', trainFiles: ['digits/train/a/0.png', 'digits/train/b/0.png'] };
    expect(storedTrainFiles(parseRecord(asJson(folder), 'run-1'))).toEqual([
      { stored: 'data/train-folder/digits/train/a/0.png', dropped: 'digits/train/a/0.png' },
      { stored: 'data/train-folder/digits/train/b/0.png', dropped: 'digits/train/b/0.png' },
    ]);
  });

  it('a file of another format or run is refused', () => {
    expect(() => parseRecord(asJson({ ...record(6), format: 'vectorfit-run-0' }), 'run-1')).toThrow('not a VectorFit run record');
    expect(() => parseRecord(asJson(record(6)), 'run-2')).toThrow('not a VectorFit run record');
  });
});

describe('what a new run keeps of its data', () => {
  const table = { columns: ['text', 'label'], rows: [], headerless: false, rowLines: [], rowUnit: 'line' } as unknown as Table;
  const tableFile = (fileName: string, source: File | null): TableFile => ({ fileName, table, source });
  const images = (source: ImageFolder['source']) => ({ name: 'digits', source }) as ImageFolder;
  const none = { images: null, train: null, validation: null, validationSource: 'fraction' as const };

  it('a training file, and the validation file only when it is the validation source', () => {
    const train = new File(['a'], 'train.csv');
    const validation = new File(['b'], 'dev.csv');
    const files = { ...none, train: tableFile('train.csv', train), validation: tableFile('dev.csv', validation) };
    expect(keptData({ ...files, validationSource: 'file' })).toEqual({ train: { fileName: 'train.csv', source: train }, validation: { fileName: 'dev.csv', source: validation } });
    expect(keptData(files)).toEqual({ train: { fileName: 'train.csv', source: train }, validation: null });
  });

  it("an image folder as its files, a zip as itself", () => {
    const folder = { 'digits/a/0.png': new ArrayBuffer(4), 'digits/b/0.png': new ArrayBuffer(4) };
    expect(keptData({ ...none, images: images(folder) })).toEqual({ train: { folder: 'digits', files: folder }, validation: null });
    const zip = new File(['z'], 'digits.zip');
    expect(keptData({ ...none, images: images(zip) })).toEqual({ train: { fileName: 'digits', source: zip }, validation: null });
  });

  it('says why a split read from several shards is not kept', () => {
    const sharded = tableFile('data/train-00000-of-00002.parquet (+1 more shard)', null);
    expect(keptData({ ...none, train: sharded })).toEqual({
      notKept: 'its training split data/train-00000-of-00002.parquet (+1 more shard) is read from several shards, which the run library does not keep yet',
    });
    const files = { ...none, train: tableFile('train.csv', new File(['a'], 'train.csv')), validation: tableFile('dev (+1 more shard)', null) };
    expect(keptData({ ...files, validationSource: 'file' })).toMatchObject({ notKept: expect.stringContaining('its validation split dev (+1 more shard)') });
    // Held-out rows instead: the sharded validation split is not used, the run is kept.
    expect(keptData(files)).toMatchObject({ validation: null });
    expect(keptData(none)).toEqual({ notKept: 'it has no training data' });
  });
});

/** A RunStorage in memory; `fail` throws a full quota for the writes it names (nothing is stored). */
function memoryStorage(fail: (kind: 'file' | 'blob', key: string) => boolean = () => false) {
  const files = new Map<string, Uint8Array>();
  const blobs = new Map<string, Uint8Array>();
  const inRun = (run: string) => [...files.keys()].filter((k) => k.startsWith(`${run}/`));
  const quota = () => new DOMException('The quota has been exceeded.', 'QuotaExceededError');
  const store: RunStorage & { files: typeof files; blobs: typeof blobs } = {
    kind: 'indexeddb',
    files,
    blobs,
    async runs() {
      return [...new Set([...files.keys()].map((k) => k.slice(0, k.indexOf('/'))))];
    },
    async write(run, path, bytes) {
      if (fail('file', `${run}/${path}`)) throw quota();
      files.set(`${run}/${path}`, bytes.slice());
    },
    async read(run, path) {
      return files.get(`${run}/${path}`)?.slice() ?? null;
    },
    async size(run) {
      return inRun(run).reduce((sum, k) => sum + files.get(k)!.byteLength, 0);
    },
    async removePath(run, path) {
      for (const k of inRun(run)) if (k === `${run}/${path}` || k.startsWith(`${run}/${path}/`)) files.delete(k);
    },
    async remove(run) {
      for (const k of inRun(run)) files.delete(k);
    },
    async blobHashes() {
      return [...blobs.keys()];
    },
    async writeBlob(hash, bytes) {
      if (fail('blob', hash)) throw quota();
      blobs.set(hash, bytes.slice());
    },
    async readBlob(hash) {
      return blobs.get(hash)?.slice() ?? null;
    },
    async hasBlob(hash, bytes) {
      return blobs.get(hash)?.byteLength === bytes;
    },
    async removeBlob(hash) {
      blobs.delete(hash);
    },
  };
  return store;
}

function memoryCheckpoints(): CheckpointStore & { slots: Map<string, Uint8Array> } {
  const slots = new Map<string, Uint8Array>();
  return {
    slots,
    async save(name, bytes) {
      slots.set(name, bytes);
    },
    async load(name) {
      return slots.get(name) ?? null;
    },
  };
}

const filled = (n: number, v: number) => new Uint8Array(n).fill(v);
const buffer = (n: number, v: number) => filled(n, v).buffer;
const MODEL = { name: 'tiny', files: { 'config.json': buffer(10, 1), 'model.safetensors': buffer(5000, 2) } };

function sources(train: RunSources['train'] = { fileName: 'train.csv', source: new File([filled(300, 3)], 'train.csv') }): RunSources {
  return {
    model: MODEL,
    train,
    validation: null,
    datasetName: 'train.csv',
    columns: {},
    validationSource: 'fraction',
    validationFraction: 0.1,
    config: { variant: 'vectorfit' } as RunRecord['config'],
  };
}

let clock = Date.parse('2026-01-01T00:00:00Z');
/** A new run, at its own millisecond (its id is its start time), with its files stored. */
async function begun(from: RunSources = sources()): Promise<string> {
  vi.setSystemTime((clock += 1000));
  const id = beginRun(from, 9);
  await refreshRuns();
  return id;
}

/** Every stored record's files and checkpoint are there, whole. */
async function expectIntact(store: ReturnType<typeof memoryStorage>) {
  for (const id of await store.runs()) {
    const bytes = await store.read(id, 'run.json');
    expect(bytes, `${id} has a record`).not.toBeNull();
    const saved = parseRecord(bytes!, id);
    for (const f of blobsOf(saved)) expect(store.blobs.get(f.sha256)?.byteLength, `${id}: blob ${f.sha256}`).toBe(f.bytes);
  }
}

const messages = () => useErrors.getState().errors.map((e) => e.message);

describe('the run library stores each file once, shared between runs', () => {
  let store: ReturnType<typeof memoryStorage>;
  let checkpoints: ReturnType<typeof memoryCheckpoints>;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    store = memoryStorage();
    checkpoints = memoryCheckpoints();
    setRunStorage(store, checkpoints);
    useRuns.setState({ runs: [], activeId: null, selected: [] });
    useErrors.setState({ errors: [] });
  });
  afterEach(() => vi.useRealTimers());

  it('three runs on one model and one data file hold one blob of each file', async () => {
    const ids = [await begun(), await begun(), await begun()];
    expect(store.blobs.size).toBe(3);
    const { runs } = useRuns.getState();
    expect(runs.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(new Set(runs.map((r) => JSON.stringify(r.files)))).toHaveProperty('size', 1);
    expect(runs[0].files!['model/model.safetensors']).toEqual({ sha256: await sha256(filled(5000, 2)), bytes: 5000 });
    // Each run's size counts every file it names; the library counts a shared file once.
    const records = runs.reduce((sum, r) => sum + r.bytes - 5310, 0);
    expect(runs.every((r) => r.bytes > 5310)).toBe(true);
    expect(libraryBytes(runs)).toBe(5310 + records);
    // The run folders hold their records alone.
    expect([...store.files.keys()].sort()).toEqual(ids.map((id) => `${id}/run.json`).sort());
    await expectIntact(store);
  });

  it('deleting a run keeps the files another run shares; deleting the last one removes them', async () => {
    const first = await begun();
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 7));
    await saveProgress(first, { checkpointStep: 3, state: 'stopped' }, true);
    const second = await begun();
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 8));
    await saveProgress(second, { checkpointStep: 6, state: 'stopped' }, true);
    expect(store.blobs.size).toBe(5);

    await deleteRun(first);
    expect(store.blobs.size).toBe(4);
    await expectIntact(store);
    checkpoints.slots.clear();
    const { record, files } = await openRun(second);
    expect(record.checkpointStep).toBe(6);
    expect(checkpoints.slots.get(ENGINE_CHECKPOINT)).toEqual(filled(64, 8));
    expect(files.model.map((f) => f.path)).toEqual(['tiny/config.json', 'tiny/model.safetensors']);
    expect(new Uint8Array(await files.model[1].file.arrayBuffer())).toEqual(filled(5000, 2));

    await deleteRun(second);
    expect(store.blobs.size).toBe(0);
    expect(store.files.size).toBe(0);
    expect(useRuns.getState().runs).toEqual([]);
  });

  it("blobs no record names (a tab closed between a run's files and its record) go when the library is read", async () => {
    await begun();
    await store.writeBlob('orphan', filled(40, 9));
    expect(store.blobs.size).toBe(4);
    await refreshRuns();
    expect([...store.blobs.keys()]).not.toContain('orphan');
    expect(store.blobs.size).toBe(3);
    await expectIntact(store);
  });

  it("a new checkpoint replaces the run's last one: the old blob goes", async () => {
    const id = await begun();
    for (const [step, v] of [[3, 7], [6, 8]]) {
      checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, v));
      await saveProgress(id, { checkpointStep: step }, true);
    }
    expect(store.blobs.size).toBe(4);
    expect(store.blobs.has(await sha256(filled(64, 7)))).toBe(false);
    expect(useRuns.getState().runs[0].checkpoint).toEqual({ sha256: await sha256(filled(64, 8)), bytes: 64 });
  });

  it('image-folder runs store each image once, and reopen with the folder under its dropped paths', async () => {
    const folder = { folder: 'digits', files: { 'digits/5/0.png': buffer(40, 5), 'digits/5/1.png': buffer(40, 5), 'digits/6/0.png': buffer(40, 6) } };
    const first = await begun(sources(folder));
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 7));
    await saveProgress(first, { checkpointStep: 3 }, true);
    await begun(sources({ ...folder, files: { ...folder.files, 'digits/6/1.png': buffer(40, 9) } }));
    // Two model files, two distinct images in the first folder, a third in the second, a checkpoint.
    expect(store.blobs.size).toBe(2 + 2 + 1 + 1);
    const { files } = await openRun(first);
    const train = files.train as DroppedFile[];
    expect(train.map((f) => f.path)).toEqual(Object.keys(folder.files));
    expect(await Promise.all(train.map(async (f) => new Uint8Array(await f.file.arrayBuffer())[0]))).toEqual([5, 5, 6]);
  });

  /** A record as the library wrote it before the shared blobs, with its files in its folder. */
  async function oldRun(id: string, model: Uint8Array) {
    const old = { ...record(3), id, name: `old ${id}`, createdAt: Date.parse('2025-06-01T00:00:00Z') };
    old.model = { name: 'm', files: ['model.safetensors'] };
    await store.write(id, 'run.json', asJson(old));
    await store.write(id, 'model/model.safetensors', model);
    await store.write(id, 'data/train/d', filled(100, 4));
    await store.write(id, 'checkpoint.safetensors', filled(64, id.length));
  }

  it("old records ('vectorfit-run-1', a copy of every file per run) are migrated on load: their files become shared blobs, and they reopen", async () => {
    await oldRun('run-old-a', filled(2000, 2));
    await oldRun('run-old-bb', filled(2000, 2));
    await refreshRuns();
    expect(messages()).toEqual([]);
    const { runs } = useRuns.getState();
    expect(runs.map((r) => r.format)).toEqual(['vectorfit-run-2', 'vectorfit-run-2']);
    // One model blob, one data blob, a checkpoint each; the folders keep their records alone.
    expect(store.blobs.size).toBe(4);
    expect([...store.files.keys()].sort()).toEqual(['run-old-a/run.json', 'run-old-bb/run.json']);
    await expectIntact(store);
    const { record: reopened, files } = await openRun('run-old-bb');
    expect(reopened.checkpointStep).toBe(3);
    expect(checkpoints.slots.get(ENGINE_CHECKPOINT)).toEqual(filled(64, 'run-old-bb'.length));
    expect(new Uint8Array(await (files.train as DroppedFile).file.arrayBuffer())).toEqual(filled(100, 4));
    expect(new Uint8Array(await files.model[0].file.arrayBuffer())).toEqual(filled(2000, 2));
  });

  it('an old record whose files cannot be moved (a full storage) stays as it was, says so, and still reopens and saves', async () => {
    await oldRun('run-old-a', filled(2000, 2));
    let quotaFull = true;
    const full = memoryStorage((kind) => quotaFull && kind === 'blob');
    for (const [k, v] of store.files) full.files.set(k, v);
    setRunStorage(full, checkpoints);
    await refreshRuns();
    expect(messages()).toEqual([expect.stringMatching(/^old run-old-a keeps its own copy of its files \(it still reopens\).*its file model\/model\.safetensors could not be stored.*QuotaExceededError/)]);
    expect(useRuns.getState().runs.map((r) => r.format)).toEqual(['vectorfit-run-1']);
    expect(full.blobs.size).toBe(0);
    expect(full.files.size).toBe(4);
    const { files } = await openRun('run-old-a');
    expect(new Uint8Array(await files.model[0].file.arrayBuffer())).toEqual(filled(2000, 2));
    expect(checkpoints.slots.get(ENGINE_CHECKPOINT)).toEqual(filled(64, 'run-old-a'.length));

    // Continued with room again: its next checkpoint is a blob, its files stay in its folder.
    quotaFull = false;
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 9));
    await saveProgress('run-old-a', { checkpointStep: 6 }, true);
    expect([...full.files.keys()].sort()).toEqual(['run-old-a/data/train/d', 'run-old-a/model/model.safetensors', 'run-old-a/run.json']);
    await expectIntact(full);
    checkpoints.slots.clear();
    const { record: continued } = await openRun('run-old-a');
    expect(continued).toMatchObject({ format: 'vectorfit-run-1', checkpointStep: 6 });
    expect(checkpoints.slots.get(ENGINE_CHECKPOINT)).toEqual(filled(64, 9));
  });
});

describe('a write that fails (a full storage) is reported, leaves no broken record, and training goes on', () => {
  let store: ReturnType<typeof memoryStorage>;
  let checkpoints: ReturnType<typeof memoryCheckpoints>;
  /** The writes that fail now. */
  let failing: (kind: 'file' | 'blob', key: string) => boolean;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    failing = () => false;
    store = memoryStorage((kind, key) => failing(kind, key));
    checkpoints = memoryCheckpoints();
    setRunStorage(store, checkpoints);
    useRuns.setState({ runs: [], activeId: null, selected: [] });
    useErrors.setState({ errors: [] });
  });
  afterEach(() => vi.useRealTimers());

  const losses = (to: number) => Array.from({ length: to }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) }));
  const saved = async (id: string) => parseRecord((await store.read(id, 'run.json'))!, id);

  it('a run whose files do not fit is not kept: the message names the file and why; the files it shares stay', async () => {
    const kept = await begun();
    const keptBlobs = [...store.blobs.keys()];
    const train = filled(300, 9);
    const trainHash = await sha256(train);
    failing = (kind, key) => kind === 'blob' && key === trainHash;
    // Its model: a config of its own (stored before the failure), the other run's weights.
    const from = { ...sources({ fileName: 'big.csv', source: new File([train], 'big.csv') }), model: { ...MODEL, files: { ...MODEL.files, 'config.json': buffer(10, 5) } } };
    vi.setSystemTime((clock += 1000));
    const lost = beginRun(from, 9);
    // A checkpoint saved while its files are being written waits for them, then writes nothing.
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 7));
    await saveProgress(lost, { checkpointStep: 3 }, true);
    expect(messages()).toEqual([
      "tiny · train.csv trains on, but is not kept in the run library: its training file big.csv could not be stored: the browser's storage for this site is full (QuotaExceededError); deleting runs frees space.",
    ]);
    expect(useRuns.getState()).toMatchObject({ activeId: null, runs: [{ id: kept }] });
    expect(await store.runs()).toEqual([kept]);
    // Its own config's blob is released; the weights it shared stay for the other run.
    expect([...store.blobs.keys()].sort()).toEqual(keptBlobs.sort());
    await expectIntact(store);
  });

  it('a run whose record cannot be written is not kept, and its blobs go', async () => {
    failing = (kind, key) => kind === 'file' && key.endsWith('/run.json');
    await begun();
    expect(messages()).toEqual([expect.stringMatching(/^tiny · train\.csv trains on, but is not kept in the run library: its record could not be stored: .*QuotaExceededError/)]);
    expect(store.blobs.size).toBe(0);
    expect(await store.runs()).toEqual([]);
    expect(useRuns.getState().runs).toEqual([]);
  });

  it("a checkpoint that does not fit leaves the saved run at the one before, with its log; the next one that fits replaces it", async () => {
    const id = await begun();
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 3));
    await saveProgress(id, { checkpointStep: 3, losses: losses(3) }, true);
    const before = store.blobs.size;

    failing = (kind) => kind === 'blob';
    for (const step of [6, 9]) {
      checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, step));
      await saveProgress(id, { checkpointStep: step, losses: losses(step) }, true);
    }
    // One message for the repeated failure.
    expect(messages()).toEqual([
      "tiny · train.csv: its latest checkpoint could not be stored in the run library: the browser's storage for this site is full (QuotaExceededError); deleting runs frees space. Training goes on; the saved run keeps what it had (it continues from step 3).",
    ]);
    const record = await saved(id);
    expect(record.checkpointStep).toBe(3);
    expect(record.losses).toEqual(losses(9));
    expect(store.blobs.size).toBe(before);
    await expectIntact(store);
    checkpoints.slots.clear();
    await openRun(id);
    expect(checkpoints.slots.get(ENGINE_CHECKPOINT)).toEqual(filled(64, 3));
    expect(historyAtCheckpoint(record).losses).toEqual(losses(3));

    failing = () => false;
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 12));
    await saveProgress(id, { checkpointStep: 12, losses: losses(12) }, true);
    expect((await saved(id)).checkpointStep).toBe(12);
    expect(store.blobs.size).toBe(before);
    expect(store.blobs.has(await sha256(filled(64, 3)))).toBe(false);
  });

  it("a record that cannot be rewritten keeps the saved run as it was, and the checkpoint stored for it goes", async () => {
    const id = await begun();
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 3));
    await saveProgress(id, { checkpointStep: 3, losses: losses(3), state: 'training' }, true);
    const blobs = [...store.blobs.keys()];

    failing = (kind) => kind === 'file';
    checkpoints.slots.set(ENGINE_CHECKPOINT, filled(64, 6));
    await saveProgress(id, { checkpointStep: 6, losses: losses(6), state: 'paused' }, true);
    expect(messages()).toEqual([expect.stringMatching(/^tiny · train\.csv: its log and state could not be stored in the run library: .*QuotaExceededError.*it continues from step 3/)]);
    expect(await saved(id)).toMatchObject({ checkpointStep: 3, losses: losses(3), state: 'training' });
    expect([...store.blobs.keys()]).toEqual(blobs);
    await expectIntact(store);
    expect(useRuns.getState().runs[0]).toMatchObject({ checkpointStep: 3, state: 'training' });

    // Room again: the next save carries the whole log.
    failing = () => false;
    await saveProgress(id, { losses: losses(7), state: 'paused' }, false);
    expect(await saved(id)).toMatchObject({ checkpointStep: 3, losses: losses(7), state: 'paused' });
  });
});
