// Reading models and datasets from disk into the same shapes the studio gets from dropped files:
// folders, zips and loose files alike.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { buildExamples, parseTable, type BuiltExamples, type ColumnChoice, type Table } from '../io/dataset.ts';
import { describeMapping, guessColumns, leftOutWarning, reportColumns } from '../io/datasetColumns.ts';
import { findSplits, loneDataFile, proposeSplits, readSplit, splitFileName, type SplitFiles } from '../io/datasetSplits.ts';
import { ownBuffer, unzipEntries, unzipModel } from '../io/zip.ts';
import type { CausalLmReader } from '../train/load.ts';
import type { CheckpointStore } from '../train/checkpoint.ts';
import type { Example, ModelFiles } from '../io/types.ts';
import type { ImageExample } from '../io/images/dataset.ts';
import { readImageDatasetFromDisk } from '../io/images/dataset-node.ts';
import { imageRows } from '../io/images/examples.ts';

/** Every file under `dir` (sub-folders included), keyed by its path relative to `dir`.
 * Symbolic links to files are followed: a Hugging Face cache snapshot is made of them. */
export async function readModelDir(dir: string): Promise<ModelFiles> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`${dir}: not a model folder`);
  const files: Record<string, ArrayBuffer> = {};
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const linkedFile = entry.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile();
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() || linkedFile) {
        const bytes = await readFile(path);
        files[relative(dir, path)] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      }
    }
  };
  await walk(dir);
  return { name: basename(dir.replace(/\/+$/, '')), files };
}

/** A model as the studio takes it: a folder, a .zip of one, or loose files given as a comma-separated list. */
export async function readModelInput(path: string): Promise<ModelFiles> {
  if (path.includes(',')) {
    const files: Record<string, ArrayBuffer> = {};
    for (const file of path.split(',').filter((p) => p !== '')) files[basename(file)] = await readBytes(file);
    return { name: 'model', files };
  }
  const info = await stat(path).catch(() => null);
  if (info?.isFile() && path.toLowerCase().endsWith('.zip')) return unzipModel(await readBytes(path), basename(path));
  if (info?.isFile()) throw new Error(`${path}: not a model folder or .zip (give the folder with config.json, the tokenizer files and the .safetensors weights)`);
  return readModelDir(path);
}

async function readBytes(path: string): Promise<ArrayBuffer> {
  const bytes = await readFile(path).catch(() => {
    throw new Error(`${path}: cannot read the file`);
  });
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export interface TableSource {
  fileName: string;
  table: Table;
}

export interface DataInput {
  train: TableSource;
  /** The folder's validation split, when the data is a split folder or zip that has one. */
  validation?: TableSource;
  /** "splits: train=…, validation=…" for a folder or zip. */
  splitsLine?: string;
}

/**
 * Data as the studio takes it: one file (CSV, TSV, JSONL, JSON, Parquet), or a folder or .zip of
 * split files as the Hub writes them; --train-split and --val-split pick other splits.
 */
export async function readDataInput(path: string, flags: Record<string, string>): Promise<DataInput> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new Error(`${path}: no such file or folder`);
  if (info.isFile() && !path.toLowerCase().endsWith('.zip')) {
    return { train: { fileName: basename(path), table: await parseTable(await readBytes(path), basename(path)) } };
  }
  let files: Record<string, ArrayBuffer>;
  if (info.isFile()) {
    const entries = unzipEntries(await readBytes(path), basename(path));
    files = Object.fromEntries(Object.entries(entries).map(([name, bytes]) => [name, ownBuffer(bytes)]));
  } else {
    files = (await readModelDir(path)).files;
  }
  const splits = findSplits(Object.keys(files));
  const lone = splits.length === 0 ? loneDataFile(Object.keys(files)) : undefined;
  if (lone !== undefined) return { train: { fileName: lone, table: await parseTable(files[lone], lone) } };
  if (splits.length === 0) {
    throw new Error(`${path}: no split files found (such as train.csv, validation.jsonl, dev.tsv or data/train-00000-of-00001.parquet)`);
  }
  const proposed = proposeSplits(splits);
  const pick = (id: string | undefined, flag: string) => {
    if (id === undefined) return undefined;
    const split = splits.find((s) => s.id === id);
    if (!split) throw new Error(`${path}: there is no split "${id}" (--${flag}); splits: ${splits.map((s) => s.id).join(', ')}`);
    return split;
  };
  const train = pick(flags['train-split'] ?? proposed.train, 'train-split');
  if (!train) throw new Error(`${path}: no training split; choose one of ${splits.map((s) => s.id).join(', ')} with --train-split`);
  const validation = pick(flags['val-split'] ?? proposed.validation, 'val-split');
  const source = async (split: SplitFiles): Promise<TableSource> => ({ fileName: splitFileName(split), table: await readSplit(split, (p) => files[p]) });
  return {
    train: await source(train),
    validation: validation && (await source(validation)),
    splitsLine: `splits: train=${splitFileName(train)}${validation ? `, validation=${splitFileName(validation)}` : ''} (of ${splits.map((s) => s.id).join(', ')})`,
  };
}

export interface MappedData extends BuiltExamples {
  columns: ColumnChoice;
  /** `file: text=…, pair=…, label=… (2 classes: 0, 1)`: the first line the CLI prints. */
  mappingLine: string;
  /** The warning for free-text columns left out, if any. */
  warning?: string;
}

/** Examples from a table with guessed (or flagged) columns; `like` makes a validation file use
 * the training file's task and label names. */
export function mapData(source: TableSource, flags: Record<string, string>, like?: BuiltExamples): MappedData {
  const guessed = guessColumns(source.table);
  // `--text-pair none` reads single texts from a file that has a pair.
  const pair = flags['text-pair'] === 'none' ? undefined : (flags['text-pair'] ?? guessed.textPair);
  const columns = { text: flags.text ?? guessed.text, textPair: pair, label: flags.label ?? guessed.label };
  const built = buildExamples(source.table, columns, source.fileName, like ? { task: like.task, labelNames: like.task === 'classification' ? like.labelNames : undefined } : {});
  const warning = leftOutWarning(reportColumns(source.table, columns).leftOut);
  return {
    ...built,
    columns,
    mappingLine: `${source.fileName}: ${describeMapping(columns, built)}`,
    warning: warning && `${source.fileName}: ${warning} (--text / --text-pair)`,
  };
}

/** One data file (or a split folder's training split) read and mapped, as tests and benches use it. */
export async function readDatasetFile(path: string, flags: Record<string, string>, like?: BuiltExamples): Promise<MappedData> {
  return mapData((await readDataInput(path, flags)).train, flags, like);
}

/** Parses a file (or a split folder's training split) of `text`, `prompt` + `completion` or
 * `messages` rows for a causal LM (its tokenizer in `reader`); says on stderr what was cut or
 * dropped. */
export async function readCausalLmFile(path: string, reader: CausalLmReader, maxLength?: number): Promise<BuiltExamples> {
  const { fileName: name, table } = (await readDataInput(path, {})).train;
  const rows = reader(table, name, maxLength);
  if (rows.truncated) console.error(`${name}: ${rows.truncated} row(s) longer than ${maxLength ?? 'the model\'s context'} tokens cut to it`);
  if (rows.droppedNoLoss.length) console.error(`${name}: line(s) ${rows.droppedNoLoss.slice(0, 8).join(', ')} dropped: nothing to train on within the length`);
  return { task: 'causal-lm', labelNames: [], examples: rows.examples };
}

export function fileCheckpointStore(dir: string): CheckpointStore {
  return {
    async save(name, bytes) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, name), bytes);
    },
    async load(name) {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch {
        return null;
      }
    },
  };
}

export interface ImageData extends BuiltExamples {
  /** `data.jsonl: 12 images, table layout (3 classes: 0, 1, 2)`: the first line the CLI prints. */
  mappingLine: string;
  /** The dataset's validation split (split folders, Parquet split files), when it has one. */
  validation?: Example[];
}

/**
 * An image dataset on disk (a class-per-folder tree, a zip of one, a CSV/JSONL of image paths
 * beside the images, or Hub Parquet) as classification rows: `text` is each image's path, `image`
 * its bytes, decoded per batch by the trainer.
 */
export async function readImageData(path: string, like?: { labelNames: string[] }): Promise<ImageData> {
  const dataset = await readImageDatasetFromDisk(path);
  // A validation set read apart names its classes itself: map them onto the training set's.
  const labelOf = (e: ImageExample): number => {
    if (!like) return e.label;
    const name = dataset.labelNames[e.label];
    const label = like.labelNames.indexOf(name);
    if (label < 0) throw new Error(`${path}: class "${name}" (${e.path}) is not one of the training set's classes: ${like.labelNames.join(', ')}`);
    return label;
  };
  const rows = (examples: readonly ImageExample[]): Example[] => imageRows(examples, labelOf);
  const examples = rows(dataset.splits.train);
  const labelNames = like?.labelNames ?? dataset.labelNames;
  const validation = dataset.splits.validation && rows(dataset.splits.validation);
  const splits = validation ? `, validation split of ${validation.length}` : '';
  return {
    task: 'classification',
    labelNames,
    examples,
    validation,
    mappingLine: `${basename(path)}: ${examples.length} images, ${dataset.layout} layout (${labelNames.length} classes: ${labelNames.slice(0, 8).join(', ')}${labelNames.length > 8 ? ', …' : ''})${splits}`,
  };
}
