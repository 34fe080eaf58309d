// Image classification datasets as users bring them, dropped as a folder or zip (path → bytes):
// - imagefolder: one subfolder per class (labels = folder names, sorted, as Hugging Face's
//   `imagefolder` does), optionally under split folders train/, validation/ (val/, valid/, dev/), test/;
// - a table (CSV, TSV, JSONL, JSON) of image paths, relative to the table, and labels, beside the
//   images (Hugging Face's metadata.csv with `file_name` too);
// - Hub Parquet: an image column of {bytes, path} structs and an integer label column whose
//   ClassLabel names live in the file's metadata, split by file name (train-00000-of-00001.parquet).
// Images stay encoded here; decodeExamples / loadPixelValues decode them. Every problem is a
// DatasetError naming the file (and line or row) at fault.

import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { buildExamples, DatasetError, parseTable, type Table } from '../dataset.ts';
import { classLabelNames } from '../datasetParquet.ts';
import { unzipModel } from '../zip.ts';
import type { ImageDecoder } from './decode.ts';
import { preprocessImage, type ImageProcessorConfig } from './image-processor.ts';

/** A dropped folder or unzipped archive: relative path → bytes. */
export interface DroppedFiles {
  name: string;
  files: Record<string, ArrayBuffer>;
}

export interface ImageExample {
  /** Where the image came from, for messages: a file path, or "file.parquet, row N". */
  path: string;
  bytes: Uint8Array;
  label: number;
}

export type SplitName = 'train' | 'validation' | 'test';

export interface ImageDataset {
  layout: 'imagefolder' | 'table' | 'parquet';
  labelNames: string[];
  /** Always has `train`; the others when the data names them. */
  splits: Partial<Record<SplitName, ImageExample[]>> & { train: ImageExample[] };
}

/** Extensions taken as images; formats other than PNG and JPEG are named when decoded. */
const IMAGE_FILE = /\.(png|jpe?g|gif|webp|bmp|tiff?)$/i;
const PARQUET_FILE = /\.parquet$/i;
const JUNK = /(^|\/)(__MACOSX\/|\.[^/]*$|Thumbs\.db$|desktop\.ini$)/;

const SPLIT_ALIASES: Record<string, SplitName> = {
  train: 'train',
  training: 'train',
  validation: 'validation',
  valid: 'validation',
  val: 'validation',
  dev: 'validation',
  test: 'test',
  testing: 'test',
};

/** The split a file or folder name names (train-00000-of-00001.parquet, val.jsonl, test/), if any. */
function splitOf(name: string): SplitName | undefined {
  const words = name.toLowerCase().replace(/\.[a-z]+$/, '').split(/[^a-z]+/);
  return words.map((w) => SPLIT_ALIASES[w]).find((s) => s !== undefined);
}

const TABLE_IMAGE_COLUMNS = ['image', 'file_name', 'filename', 'file', 'path', 'image_path', 'img', 'filepath'];
const LABEL_COLUMNS = ['label', 'labels', 'class', 'target', 'category', 'fine_label', 'y'];

/** JSON files that describe a dataset or model rather than list examples. */
const NOT_A_TABLE = /(^|\/)(dataset_info|dataset_dict|dataset_infos|state|config|preprocessor_config|tokenizer|tokenizer_config|special_tokens_map|ref-batch)\.json$/i;

/**
 * Reads a dropped image dataset; throws DatasetError naming the file and the problem. The layout
 * is recognised: Parquet files first, else a data table (`opts.table`, or the CSV/TSV/JSONL —
 * failing those, JSON — files no deeper than the images), else class folders.
 */
export async function readImageDataset(dropped: DroppedFiles, opts: { table?: string } = {}): Promise<ImageDataset> {
  const paths = Object.keys(dropped.files).filter((p) => !JUNK.test(p) && !p.endsWith('/'));
  if (paths.length === 0) throw new DatasetError(dropped.name, 'the folder is empty');
  const files = new Map(paths.map((p) => [p, new Uint8Array(dropped.files[p])]));
  if (opts.table !== undefined) {
    if (!files.has(opts.table)) throw new DatasetError(opts.table, `no such file in ${dropped.name}`);
    return readTableDataset([opts.table], files);
  }
  const parquets = paths.filter((p) => PARQUET_FILE.test(p));
  if (parquets.length > 0) return readParquetDataset(parquets, files);
  const depth = (p: string) => p.split('/').length;
  const imageDepth = Math.min(...paths.filter((p) => IMAGE_FILE.test(p)).map(depth));
  // Tables nested deeper than the images (say, notes inside a class folder) are not the index.
  const shallow = (p: string) => depth(p) <= imageDepth;
  const lists = paths.filter((p) => /\.(csv|tsv|jsonl|ndjson)$/i.test(p) && shallow(p));
  const tables = lists.length > 0 ? lists : paths.filter((p) => /\.json$/i.test(p) && !NOT_A_TABLE.test(p) && shallow(p));
  if (tables.length > 0) {
    const top = Math.min(...tables.map(depth));
    return readTableDataset(tables.filter((p) => depth(p) === top), files);
  }
  return readImageFolder(dropped.name, paths);

  function readImageFolder(name: string, all: string[]): ImageDataset {
    const images = all.filter((p) => IMAGE_FILE.test(p));
    if (images.length === 0) throw new DatasetError(name, 'no images (.png, .jpg) and no data table (.csv, .jsonl, .parquet) in the folder');
    // The dropped folder itself is often the first path component: strip what all paths share.
    const parts = all.map((p) => p.split('/').slice(0, -1));
    let root = 0;
    while (parts.every((d) => d.length > root && d[root] === parts[0][root])) root++;
    const rootPrefix = parts[0].slice(0, root).join('/');
    const at = (p: string) => p.split('/').slice(root);
    // Split folders are named exactly (train/, val/, …); "training_photos/" is a class.
    const splitFolders = new Set(all.map((p) => at(p)).filter((d) => d.length > 1 && SPLIT_ALIASES[d[0].toLowerCase()] !== undefined).map((d) => d[0]));
    const useSplits = splitFolders.size > 0;
    const folderPath = (...dirs: string[]) => [rootPrefix, ...dirs].filter((s) => s !== '').join('/') + '/';

    // split → class folder → image paths (class folders seen through any file, images or not).
    const bySplit = new Map<SplitName, Map<string, string[]>>();
    for (const p of all) {
      const d = at(p);
      let split: SplitName = 'train';
      if (useSplits) {
        if (!splitFolders.has(d[0]) || d.length < 2) {
          if (IMAGE_FILE.test(p)) throw new DatasetError(p, `the image is outside the split folders (${[...splitFolders].join(', ')})`);
          continue;
        }
        split = SPLIT_ALIASES[d.shift()!.toLowerCase()];
      }
      if (d.length < 2) {
        if (IMAGE_FILE.test(p)) throw new DatasetError(p, `the image is not inside a class folder: put each class's images in a folder named after the class (${folderPath(...(useSplits ? [at(p)[0]] : []), '<class>')})`);
        continue;
      }
      const classes = bySplit.get(split) ?? new Map<string, string[]>();
      bySplit.set(split, classes);
      const list = classes.get(d[0]) ?? [];
      classes.set(d[0], list);
      if (IMAGE_FILE.test(p)) list.push(p);
    }
    const train = bySplit.get('train');
    if (!train) throw new DatasetError(name, `no train/ folder beside ${[...splitFolders].join(', ')}`);
    const labelNames = [...train.keys()].sort();
    const splitDir = (split: SplitName) => (useSplits ? [[...splitFolders].find((f) => SPLIT_ALIASES[f.toLowerCase()] === split)!] : []);
    const splits: Partial<Record<SplitName, ImageExample[]>> = {};
    for (const [split, classes] of bySplit) {
      for (const [cls, list] of classes) {
        if (list.length === 0) throw new DatasetError(folderPath(...splitDir(split), cls), 'the class folder holds no images (.png, .jpg)');
        if (!labelNames.includes(cls)) throw new DatasetError(folderPath(...splitDir(split), cls), `the class "${cls}" has no training images (no ${folderPath(...splitDir('train'), cls)})`);
      }
      splits[split] = [...classes.entries()]
        .flatMap(([cls, list]) => list.map((path) => ({ path, bytes: files.get(path)!, label: labelNames.indexOf(cls) })))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    }
    if (labelNames.length < 2) throw new DatasetError(folderPath(...splitDir('train')), `only one class folder ("${labelNames[0]}"): classification needs at least two`);
    return { layout: 'imagefolder', labelNames, splits: splits as ImageDataset['splits'] };
  }

  async function readTableDataset(tablePaths: string[], bytes: Map<string, Uint8Array>): Promise<ImageDataset> {
    const named = tablePaths.map((p) => ({ p, split: tablePaths.length === 1 ? ('train' as const) : splitOf(p.split('/').pop()!) }));
    const unnamed = named.find((t) => t.split === undefined);
    if (unnamed) throw new DatasetError(unnamed.p, `several data tables (${tablePaths.join(', ')}): name them by split (train.jsonl, validation.jsonl, test.jsonl)`);
    const twice = named.find((t, i) => named.findIndex((u) => u.split === t.split) !== i);
    if (twice) throw new DatasetError(twice.p, `a second ${twice.split} table (${named.filter((t) => t.split === twice.split).map((t) => t.p).join(', ')}): keep one per split`);
    if (!named.some((t) => t.split === 'train')) throw new DatasetError(tablePaths[0], `no training table among ${tablePaths.join(', ')} (name it train.csv or train.jsonl)`);
    const parsed = [];
    for (const { p, split } of named) {
      const b = bytes.get(p)!;
      const table = await parseTable(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer, p);
      const columns = tableColumns(table, p);
      const j = table.columns.indexOf(columns.image);
      table.rows.forEach((row, i) => {
        if (typeof row[j] !== 'string' || row[j] === '') throw new DatasetError(p, `the image path ("${columns.image}") is missing`, table.rowLines[i], table.rowUnit);
      });
      parsed.push({ p, split: split!, table, ...columns });
    }
    // Class names from the training table, then checked in the others.
    const train = parsed.find((t) => t.split === 'train')!;
    const labelNames = buildExamples(train.table, { text: train.image, label: train.label }, train.p, { task: 'classification' }).labelNames;
    const splits: Partial<Record<SplitName, ImageExample[]>> = {};
    for (const t of parsed) {
      const dir = t.p.includes('/') ? t.p.slice(0, t.p.lastIndexOf('/') + 1) : '';
      const built = buildExamples(t.table, { text: t.image, label: t.label }, t.p, { task: 'classification', labelNames });
      splits[t.split] = built.examples.map((e, i) => {
        const path = resolve(dir, e.text);
        const image = bytes.get(path);
        if (!image) throw new DatasetError(t.p, `the image "${e.text}" is not in the folder (looked for ${path})`, t.table.rowLines[i], t.table.rowUnit);
        return { path, bytes: image, label: e.label };
      });
    }
    return { layout: 'table', labelNames, splits: splits as ImageDataset['splits'] };
  }
}

/** A dataset dropped as a .zip (any of the layouts inside); a corrupt zip is named. */
export async function readImageDatasetZip(bytes: ArrayBuffer, fileName: string, opts: { table?: string } = {}): Promise<ImageDataset> {
  return readImageDataset(unzipModel(bytes, fileName), opts);
}

/** The image-path and label columns of a table, by name, else by content. */
function tableColumns(table: Table, file: string): { image: string; label: string } {
  const lower = new Map(table.columns.map((c) => [c.toLowerCase(), c]));
  const looksLikeImage = (j: number) => table.rows.slice(0, 20).every((row) => typeof row[j] === 'string' && IMAGE_FILE.test(row[j] as string));
  const image = TABLE_IMAGE_COLUMNS.map((n) => lower.get(n)).find((c) => c !== undefined) ?? table.columns.find((_, j) => looksLikeImage(j));
  if (image === undefined) throw new DatasetError(file, `no column of image paths (name it "image" or "file_name"; columns: ${table.columns.join(', ')})`);
  const others = table.columns.filter((c) => c !== image);
  const label = LABEL_COLUMNS.map((n) => lower.get(n)).find((c) => c !== undefined && c !== image) ?? (others.length === 1 ? others[0] : undefined);
  if (label === undefined) throw new DatasetError(file, `no label column (name it "label"; columns: ${table.columns.join(', ')})`);
  return { image, label };
}

/** `dir` + a relative path, with ./ and ../ resolved (a path leaving the folder stays unresolved and is not found). */
function resolve(dir: string, relative: string): string {
  const out: string[] = [];
  for (const part of (dir + relative.replace(/\\/g, '/')).split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

type ImageCell = { bytes?: Uint8Array | null; path?: string | null } | null | undefined;

async function readParquetDataset(parquets: string[], files: Map<string, Uint8Array>): Promise<ImageDataset> {
  const shards = parquets
    .map((p) => ({ p, split: parquets.length === 1 ? ('train' as const) : splitOf(p.split('/').pop()!) }))
    .sort((a, b) => (a.p < b.p ? -1 : 1));
  const unnamed = shards.find((s) => s.split === undefined);
  if (unnamed) throw new DatasetError(unnamed.p, 'cannot tell which split this Parquet file is: name it train-…, validation-… or test-…');
  if (!shards.some((s) => s.split === 'train')) throw new DatasetError(shards[0].p, `no training file among ${parquets.join(', ')} (train-….parquet)`);

  let labelNames: string[] | undefined;
  const splits: Partial<Record<SplitName, ImageExample[]>> = {};
  // Training shards first, so their class names (or range) bind the others.
  for (const { p, split } of [...shards.filter((s) => s.split === 'train'), ...shards.filter((s) => s.split !== 'train')]) {
    const b = files.get(p)!;
    const buffer = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    let rows: Record<string, unknown>[];
    let names: Record<string, string[]>;
    try {
      const metadata = parquetMetadata(buffer);
      names = classLabelNames(metadata);
      // utf8: false keeps unannotated binary (the image bytes) as bytes.
      rows = (await parquetReadObjects({ file: buffer, metadata, utf8: false })) as Record<string, unknown>[];
    } catch (error) {
      throw new DatasetError(p, `not a readable Parquet file (${error instanceof Error ? error.message : String(error)})`);
    }
    if (rows.length === 0) throw new DatasetError(p, 'the Parquet file has no rows');
    const columns = Object.keys(rows[0]);
    const isImage = (v: unknown) => !!v && typeof v === 'object' && 'bytes' in v;
    const image = columns.find((c) => isImage(rows[0][c]));
    if (image === undefined) throw new DatasetError(p, `no image column ({bytes, path} structs, as Hugging Face stores Image features; columns: ${columns.join(', ')})`);
    const lower = new Map(columns.map((c) => [c.toLowerCase(), c]));
    const label = columns.find((c) => c in names && c !== image) ?? LABEL_COLUMNS.map((n) => lower.get(n)).find((c) => c !== undefined && c !== image);
    if (label === undefined) throw new DatasetError(p, `no label column (columns: ${columns.join(', ')})`);
    const dir = p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '';

    const images = rows.map((row, i) => {
      const cell = row[image] as ImageCell;
      if (cell?.bytes instanceof Uint8Array && cell.bytes.length > 0) return cell.bytes;
      // Only a path: the image may be a file dropped beside the Parquet file.
      const beside = cell?.path ? files.get(resolve(dir, cell.path)) : undefined;
      if (beside) return beside;
      throw new DatasetError(p, cell?.path ? `the image has no bytes and "${cell.path}" is not in the folder` : 'the image is missing', i + 1, 'row');
    });
    const table: Table = {
      columns: ['path', label],
      rows: rows.map((row, i) => [`${p}, row ${i + 1}`, row[label]]),
      headerless: false,
      rowLines: rows.map((_, i) => i + 1),
      rowUnit: 'row',
      labelNames: names[label] ? { [label]: names[label] } : undefined,
    };
    const built = buildExamples(table, { text: 'path', label }, p, { task: 'classification', labelNames });
    labelNames ??= built.labelNames;
    splits[split!] = [...(splits[split!] ?? []), ...built.examples.map((e, i) => ({ path: e.text, bytes: images[i], label: e.label }))];
  }
  return { layout: 'parquet', labelNames: labelNames!, splits: splits as ImageDataset['splits'] };
}

/** Images per class, for the preview. */
export function countPerClass(examples: readonly ImageExample[], labelNames: readonly string[]): number[] {
  const counts = labelNames.map(() => 0);
  for (const e of examples) counts[e.label]++;
  return counts;
}

/** Decodes and preprocesses examples into one N × 3 × H × W float32 batch of pixel_values. */
export async function loadPixelValues(examples: readonly ImageExample[], decode: ImageDecoder, config: ImageProcessorConfig): Promise<Float32Array> {
  const { height, width } = config.size;
  let out: Float32Array | undefined;
  for (const [i, e] of examples.entries()) {
    const pixels = preprocessImage(await decode(e.bytes, e.path), config, e.path);
    out ??= new Float32Array(examples.length * pixels.length);
    if (pixels.length !== out.length / examples.length) {
      // Without a resize every image keeps its size, and a batch needs one.
      throw new DatasetError(e.path, `the image gives ${pixels.length / 3} pixels where the first gave ${out.length / examples.length / 3}: images of different sizes need "do_resize" (to ${width}×${height})`);
    }
    out.set(pixels, i * pixels.length);
  }
  return out ?? new Float32Array();
}
