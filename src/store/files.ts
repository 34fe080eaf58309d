// The user's choice of model and data: the dropped files, the parsed tables, the picked columns,
// splits and validation source, and the Dataset they make. Parsing happens here, never in
// components, and every failure becomes a message naming the file (store/errors.ts).
import { create } from 'zustand';
import { buildExamples, parseTable, splitValidation } from '../io/dataset.ts';
import type { ColumnChoice, Table } from '../io/dataset.ts';
import { describeMapping, guessColumns, leftOutWarning, reportColumns } from '../io/datasetColumns.ts';
import { findSplits, loneDataFile, proposeSplits, readSplit, splitFileName, type SplitFiles } from '../io/datasetSplits.ts';
import { readImageDataset, type DroppedFiles, type ImageDataset } from '../io/images/dataset.ts';
import { decodeImageBrowser } from '../io/images/decode-browser.ts';
import type { ImageDecoder } from '../io/images/decode.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
import { ownBuffer, unzipEntries } from '../io/zip.ts';
import { readTokenTaskFile, type TokenTaskData } from '../io/token-task-data.ts';
import { causalLmReader, type CausalLmReader } from '../train/load.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { checkImages, hasImageCells, holdsImages, imageDataset, type ImageCheck } from './image-data.ts';
import { inspectModel, modelFromFiles } from './model-check.ts';
import type { DroppedFile, ModelInfo } from './model-check.ts';
import { buildInBackground, stopBuilding } from './token-task-build.ts';
import { buildSize, DEFAULT_QA_STRIDE, tokenTaskTable, type TokenizeProgress, type TokenTaskBuild } from './token-task-dataset.ts';

export type { DroppedFile, ModelInfo };

/** Column names for the text, the optional text pair and the label. */
export type Columns = ColumnChoice;

export interface TableFile {
  fileName: string;
  table: Table;
  /** The file as dropped: a saved run keeps it to rebuild the same dataset later. Null for a split
   * read from several shards, which a saved run does not keep yet. */
  source: File | null;
  /** Set for a QA or NER file (SQuAD JSON, CoNLL, the Hub's QA/NER rows): its questions or
   * sentences; `table` then holds them as the Hub's columns. */
  tokenTask?: TokenTaskData;
}

export type ValidationSource = 'file' | 'fraction';

/** A dropped image dataset (class folders, a table of image paths, Hub Parquet) and the check of its images. */
export interface ImageFolder {
  name: string;
  data: ImageDataset;
  check: ImageCheck;
  /** Why the check failed (it names the image); the dataset is withheld until a good one is dropped. */
  broken: string | null;
  /** What a saved run keeps to rebuild the same dataset later: the dropped .zip or Parquet file,
   * or a dropped folder's files (those read, the folder's hidden files left out). */
  source: File | Record<string, ArrayBuffer>;
}

/** A dropped dataset folder or zip: its split files and the splits in use. */
export interface SplitFolder {
  name: string;
  splits: SplitFiles[];
  files: Record<string, ArrayBuffer>;
  train: string;
  validation?: string;
}

interface FilesState {
  model: ModelFiles | null;
  modelInfo: ModelInfo | null;
  modelBusy: boolean;
  train: TableFile | null;
  validation: TableFile | null;
  /** Set when the training data came as a folder or zip of splits. */
  folder: SplitFolder | null;
  /** Set when the training data is images; `train` and `validation` are then null, and
   * validationSource 'file' means the dataset's own validation split. */
  images: ImageFolder | null;
  columns: Columns;
  validationSource: ValidationSource;
  validationFraction: number;
  /** Why the validation file was set aside (a new training file of another layout). */
  validationNote: string | null;
  /** "text=…, pair=…, label=… (2 classes: 0, 1)" for the current choice. */
  mapping: string | null;
  /** Free-text columns the choice leaves out, said beside the column pickers. */
  columnWarning: string | null;
  /** The Dataset the current choices make, or null while they make none (or it is being built). */
  dataset: Dataset | null;
  /** Set while a QA or NER file is being tokenized (off the page's thread) into the Dataset. */
  tokenizing: TokenizeProgress | null;
  /** QA windows' overlap in tokens (their length is the run's max length). */
  qaStride: number;
  dropModel(files: DroppedFile[]): Promise<void>;
  dropDataset(role: 'train' | 'validation', files: DroppedFile | DroppedFile[]): Promise<void>;
  pickSplit(role: 'train' | 'validation', id: string | undefined): Promise<void>;
  setColumn(key: keyof Columns, column: string | undefined): void;
  setValidationSource(source: ValidationSource): void;
  setValidationFraction(fraction: number): void;
  setQaStride(stride: number): void;
  /** Rebuild the Dataset (a QA or NER file's windows follow the run's max length). */
  rebuildDataset(): void;
  /** Resolves once the Dataset of the current choices is built (or failed): a QA or NER file's is
   * built in the background, every other at once. */
  datasetSettled(): Promise<void>;
}

/** Whether the dropped model is a causal LM (from its architecture, whatever data there is): the
 * playground generates text for one, and classifies for any other. */
export function isCausalLm(s: Pick<FilesState, 'modelInfo'>): boolean {
  return s.modelInfo?.task === 'causal-lm';
}

/** The causal-LM reader of the last model asked about (reading its folder once). */
let lastReader: { model: ModelFiles; reader: CausalLmReader | undefined } | undefined;
function causalLmOf(model: ModelFiles): CausalLmReader | undefined {
  if (lastReader?.model !== model) lastReader = { model, reader: causalLmReader(model) };
  return lastReader.reader;
}

/** Decodes images for the check (the browser's decoders; tests use Node's). */
let imageDecoder: ImageDecoder = decodeImageBrowser;
export function setImageDecoder(decoder: ImageDecoder) {
  imageDecoder = decoder;
}
/** Bumped by every new training set, so a check still running for an older one stops. */
let imageCheckRun = 0;

/** Seed of the held-out split: fixed so the same file always gives the same split. */
const SPLIT_SEED = 1234;

/** Files of one layout: the same column names (and both with or both without a header). */
function sameLayout(a: Table, b: Table): boolean {
  return a.headerless === b.headerless && a.columns.join('\u0000') === b.columns.join('\u0000');
}

/** A dropped data file: a QA or NER file as its questions or sentences, any other as a table.
 * `labelNames`: an NER validation file's tags are read with the training file's names. */
async function readDataFile(bytes: ArrayBuffer, path: string, source: File, labelNames?: readonly string[]): Promise<TableFile> {
  const tokenTask = await readTokenTaskFile(bytes, path, labelNames);
  if (tokenTask) return { fileName: path, table: tokenTaskTable(tokenTask), source, tokenTask };
  return { fileName: path, table: await parseTable(bytes, path), source };
}

/** The training file's NER tag names, which a validation file's tags are read with. */
function nerLabelNames(role: 'train' | 'validation', train: TableFile | null): readonly string[] | undefined {
  return role === 'validation' && train?.tokenTask?.task === 'token-classification' ? train.tokenTask.data.labelNames : undefined;
}

/** A single data file, or the bytes of every file of a dropped folder or zip. */
async function readDrop(files: DroppedFile[], labelNames?: readonly string[]): Promise<{ file: TableFile } | { name: string; files: Record<string, ArrayBuffer> }> {
  const data = files.filter((f) => !f.path.split('/').some((part) => part.startsWith('.')));
  if (data.length === 0) throw new Error('No data files were dropped.');
  if (data.length === 1 && !data[0].path.includes('/') && !data[0].path.toLowerCase().endsWith('.zip')) {
    return { file: await readDataFile(await data[0].file.arrayBuffer(), data[0].path, data[0].file, labelNames) };
  }
  if (data.length === 1 && data[0].path.toLowerCase().endsWith('.zip')) {
    const entries = unzipEntries(await data[0].file.arrayBuffer(), data[0].path);
    return { name: data[0].path, files: Object.fromEntries(Object.entries(entries).map(([p, bytes]) => [p, ownBuffer(bytes)])) };
  }
  const tops = new Set(data.map((f) => f.path.split('/')[0]));
  const name = tops.size === 1 && data[0].path.includes('/') ? [...tops][0] : 'dropped files';
  return { name, files: Object.fromEntries(await Promise.all(data.map(async (f) => [f.path, await f.file.arrayBuffer()] as const))) };
}

async function readFolderSplit(folder: Pick<SplitFolder, 'splits' | 'files'>, id: string, labelNames?: readonly string[]): Promise<TableFile> {
  const split = folder.splits.find((s) => s.id === id)!;
  const source = split.paths.length === 1 ? fileOf(folder.files[split.paths[0]], split.paths[0]) : null;
  // A one-file split of QA or NER rows (a Hub dataset's Parquet) is read as such.
  if (source) {
    const read = await readDataFile(folder.files[split.paths[0]], split.paths[0], source, labelNames);
    if (read.tokenTask) return { ...read, fileName: splitFileName(split) };
  }
  return { fileName: splitFileName(split), table: await readSplit(split, (p) => folder.files[p]), source };
}

function fileOf(bytes: ArrayBuffer, path: string): File {
  return new File([bytes], path.split('/').pop()!);
}

export const useFiles = create<FilesState>()((set, get) => {
  /** Bumped by every update: only the newest one's background build may set the Dataset. */
  let updates = 0;
  /** The newest update's background build, settled once its Dataset is in (or failed). */
  let built: Promise<void> = Promise.resolve();

  /**
   * Rebuild the Dataset after `change`, applying both in one update so subscribers never see the
   * new files with the old Dataset; a failure names the file that caused it. A QA or NER file's
   * Dataset is built in the background: null (and `tokenizing` set) until it is in.
   */
  function update(change: Partial<FilesState>) {
    const run = ++updates;
    let background: TokenTaskBuild | null = null;
    const { model, modelInfo, train, validation, images, columns, validationSource, validationFraction, qaStride } = { ...get(), ...change };
    const errors = useErrors.getState();
    errors.clear('dataset');
    let dataset: Dataset | null = null;
    let mapping: string | null = null;
    let file = train?.fileName;
    try {
      const lm = model && !train?.tokenTask ? causalLmOf(model) : undefined;
      if (images) {
        file = images.name;
        if (images.broken) throw new Error(images.broken);
        dataset = imageDataset(images.name, images.data, validationSource === 'file' ? null : validationFraction, SPLIT_SEED);
      } else if (train?.tokenTask) {
        // Tokenized with the model's tokenizer: no Dataset until a model is dropped.
        if (modelInfo?.task === 'causal-lm') {
          throw new Error(`${train.tokenTask.task} data trains an encoder (BERT, RoBERTa, DeBERTa …); ${model!.name} is a causal language model`);
        }
        const other = validationSource === 'file' && validation ? validation : null;
        if (other) file = other.fileName;
        if (other && !other.tokenTask) throw new Error(`${other.fileName}: not ${train.tokenTask.task} data like ${train.fileName}`);
        if (model) {
          background = {
            train: { fileName: train.fileName, data: train.tokenTask },
            validation: other && { fileName: other.fileName, data: other.tokenTask! },
            fraction: validationFraction,
            seed: SPLIT_SEED,
            maxLength: useConfig.getState().config.maxLength,
            stride: qaStride,
          };
        }
      } else if (train && lm) {
        // A causal LM trains on text, prompt/completion or messages rows, tokenized here.
        const rows = lm(train.table, train.fileName).examples;
        let split;
        if (validationSource === 'file' && validation) {
          file = validation.fileName;
          split = { train: rows, validation: lm(validation.table, validation.fileName).examples };
        } else split = splitValidation(rows, validationFraction, SPLIT_SEED);
        const name = validationSource === 'file' && validation ? `${train.fileName} + ${validation.fileName}` : train.fileName;
        dataset = { task: 'causal-lm', labelNames: [], ...split, name };
      } else if (train) {
        const built = buildExamples(train.table, columns, train.fileName);
        mapping = describeMapping(columns, built);
        let trainExamples = built.examples;
        let validationExamples;
        if (validationSource === 'file' && validation) {
          file = validation.fileName;
          validationExamples = buildExamples(validation.table, columns, validation.fileName, {
            task: built.task,
            labelNames: built.labelNames,
          }).examples;
        } else {
          const split = splitValidation(built.examples, validationFraction, SPLIT_SEED);
          trainExamples = split.train;
          validationExamples = split.validation;
        }
        const name = validationSource === 'file' && validation ? `${train.fileName} + ${validation.fileName}` : train.fileName;
        dataset = { task: built.task, labelNames: built.labelNames, train: trainExamples, validation: validationExamples, name };
      }
    } catch (error) {
      errors.report('dataset', error, file);
    }
    const columnWarning = train && !train.tokenTask ? (leftOutWarning(reportColumns(train.table, columns).leftOut) ?? null) : null;
    // Started (and awaited by datasetSettled) before `set`: an update its subscribers make in turn
    // supersedes it.
    const outcome = background && buildInBackground(model!, background, (tokenizing) => run === updates && set({ tokenizing }));
    if (!outcome) stopBuilding();
    built = outcome
      ? outcome.then((result) => {
          if (result.type === 'superseded' || run !== updates) return;
          if (result.type === 'failed') errors.report('dataset', result.failure.message, result.failure.file);
          set({ dataset: result.type === 'dataset' ? result.dataset : null, tokenizing: null });
        })
      : Promise.resolve();
    set({ ...change, dataset, mapping, columnWarning, tokenizing: background && buildSize(background) });
  }

  /**
   * A new training table starts a new setup: its own columns, and a validation file of another
   * layout set aside (held-out rows until a matching one is dropped), with a note saying so.
   */
  function newTraining(train: TableFile, folder: SplitFolder | null, validation: TableFile | null | undefined) {
    const current = validation === undefined ? get().validation : validation;
    const detached = current && !sameLayout(current.table, train.table) ? current : null;
    const kept = detached ? null : current;
    const percent = Math.round(get().validationFraction * 100);
    imageCheckRun++;
    update({
      train,
      folder,
      images: null,
      columns: guessColumns(train.table),
      validation: kept,
      validationSource: kept ? 'file' : 'fraction',
      validationNote: detached
        ? `${detached.fileName} was set aside: its columns (${detached.table.columns.join(', ')}) are not those of ${train.fileName}; ${percent}% of the training rows are held out until a matching validation file is dropped.`
        : null,
    });
  }

  /** An image dataset replaces any training table; its images are then decoded once, in the background. */
  async function newImages(dropped: DroppedFiles, source: File | Record<string, ArrayBuffer>) {
    const data = await readImageDataset(dropped);
    const all = [...data.splits.train, ...(data.splits.validation ?? [])];
    const images: ImageFolder = { name: dropped.name, data, check: { done: 0, total: all.length, grayscale: true }, broken: null, source };
    const run = ++imageCheckRun;
    update({ images, train: null, validation: null, folder: null, columns: {}, validationSource: data.splits.validation ? 'file' : 'fraction', validationNote: null });
    const current = () => run === imageCheckRun;
    // Not awaited: the preview shows the images (and the check's progress) at once.
    checkImages(all, imageDecoder, (check) => current() && set({ images: { ...get().images!, check } }), () => !current()).catch((error: unknown) => {
      if (current()) update({ images: { ...get().images!, broken: error instanceof Error ? error.message : String(error) } });
    });
  }

  return {
    model: null,
    modelInfo: null,
    modelBusy: false,
    train: null,
    validation: null,
    folder: null,
    images: null,
    columns: {},
    validationSource: 'fraction',
    validationFraction: 0.1,
    validationNote: null,
    mapping: null,
    columnWarning: null,
    dataset: null,
    tokenizing: null,
    qaStride: DEFAULT_QA_STRIDE,
    async dropModel(files) {
      const errors = useErrors.getState();
      errors.clear('model');
      set({ modelBusy: true });
      try {
        const model = await modelFromFiles(files);
        const modelInfo = inspectModel(model);
        update({ model, modelInfo });
      } catch (error) {
        errors.report('model', error, files.length === 1 ? files[0].path : undefined);
      } finally {
        set({ modelBusy: false });
      }
    },
    async dropDataset(role, dropped) {
      const files = Array.isArray(dropped) ? dropped : [dropped];
      const errors = useErrors.getState();
      errors.clear(role);
      const named = files.length === 1 ? files[0].path : undefined;
      try {
        const read = await readDrop(files, nerLabelNames(role, get().train));
        // A single .zip or Parquet file is what a saved run keeps of an image dataset.
        const source = files.length === 1 && /\.(zip|parquet)$/i.test(files[0].path) ? files[0].file : null;
        const images = 'file' in read ? hasImageCells(read.file.table) && { name: read.file.fileName, files: { [read.file.fileName]: await read.file.source!.arrayBuffer() } } : holdsImages(Object.keys(read.files)) && read;
        if (images) {
          if (role === 'validation') throw new Error(`${images.name}: drop an image dataset as training data; its validation/ folder (or held-out images) is the validation set`);
          return await newImages(images, source ?? images.files);
        }
        if ('file' in read) {
          if (role === 'train') newTraining(read.file, null, undefined);
          else update({ validation: read.file, validationSource: 'file', validationNote: null });
          return;
        }
        const splits = findSplits(Object.keys(read.files));
        const lone = splits.length === 0 ? loneDataFile(Object.keys(read.files)) : undefined;
        if (lone !== undefined) {
          const file = await readDataFile(read.files[lone], lone, fileOf(read.files[lone], lone), nerLabelNames(role, get().train));
          if (role === 'train') newTraining(file, null, undefined);
          else update({ validation: file, validationSource: 'file', validationNote: null });
          return;
        }
        if (splits.length === 0) {
          throw new Error(`${read.name}: no split files found (such as train.csv, validation.jsonl, dev.tsv or data/train-00000-of-00001.parquet)`);
        }
        const proposed = proposeSplits(splits);
        const first = await readFolderSplit({ splits, files: read.files }, proposed.train ?? splits[0].id);
        // Hub Parquet of an Image feature: the split files hold the images.
        if (hasImageCells(first.table)) {
          if (role === 'validation') throw new Error(`${read.name}: drop an image dataset as training data; its validation split is the validation set`);
          return await newImages(read, source ?? read.files);
        }
        if (role === 'validation') {
          const id = proposed.validation ?? splits.find((s) => s.split !== 'train')?.id ?? splits[0].id;
          update({ validation: await readFolderSplit({ splits, files: read.files }, id), validationSource: 'file', validationNote: null });
          return;
        }
        const trainId = proposed.train ?? splits[0].id;
        const folder: SplitFolder = { name: read.name, splits, files: read.files, train: trainId, validation: proposed.validation };
        const validation = proposed.validation ? await readFolderSplit(folder, proposed.validation) : null;
        newTraining(first, folder, validation);
      } catch (error) {
        errors.report(role, error, named);
      }
    },
    async pickSplit(role, id) {
      const folder = get().folder;
      if (!folder) return;
      const errors = useErrors.getState();
      errors.clear(role);
      try {
        if (role === 'train') {
          if (id === undefined) return;
          newTraining(await readFolderSplit(folder, id), { ...folder, train: id }, undefined);
        } else {
          const validation = id === undefined ? null : await readFolderSplit(folder, id);
          update({ validation, validationSource: validation ? 'file' : 'fraction', folder: { ...folder, validation: id }, validationNote: null });
        }
      } catch (error) {
        errors.report(role, error, folder.name);
      }
    },
    setColumn(key, column) {
      update({ columns: { ...get().columns, [key]: column } });
    },
    setValidationSource(validationSource) {
      update({ validationSource });
    },
    setValidationFraction(validationFraction) {
      update({ validationFraction });
    },
    setQaStride(qaStride) {
      update({ qaStride });
    },
    rebuildDataset() {
      update({});
    },
    async datasetSettled() {
      // A newer update may start another build while this one is awaited.
      for (let awaited = built; ; awaited = built) {
        await awaited;
        if (awaited === built) return;
      }
    },
  };
});
