import { describe, expect, it } from 'vitest';
import type { Table } from '../io/dataset.ts';
import type { ImageFolder, TableFile } from './files.ts';
import { historyAtCheckpoint, keptData, parseRecord, runQaStride, storedTrainFiles, type RunRecord } from './runs.ts';
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
