// Dataset folders as the Hugging Face Hub writes them (or a zip of one): split files such as
// train.csv, validation.jsonl, dev.tsv, dev_matched.tsv, train-00000-of-00002.parquet or
// data/train-00000-of-00001-<hash>.parquet. Splits are found by file name, shards of a split are
// read in order and concatenated, and a training and a validation split are proposed.

import { DatasetError, parseTable, type Table } from './dataset.ts';

export interface SplitFiles {
  /** What the user sees and picks: the split name, with its folder when several folders hold splits. */
  id: string;
  /** The split's name from the file name (train, validation, dev_matched …). */
  split: string;
  /** Shard paths in order. */
  paths: string[];
}

const SPLIT_NAMES = [
  'train', 'validation', 'valid', 'val', 'dev', 'test',
  'validation_matched', 'validation_mismatched', 'dev_matched', 'dev_mismatched', 'test_matched', 'test_mismatched',
];
/** Validation splits in order of preference (MNLI's matched before mismatched). */
const VALIDATION_NAMES = ['validation', 'dev', 'validation_matched', 'dev_matched', 'valid', 'val'];
const SPLIT_FILE = /^([a-z_]+?)(?:-(\d{5})-of-(\d{5}))?(?:-[0-9a-f]{8,})?\.(csv|tsv|jsonl|ndjson|json|parquet)$/i;

/** The split files among `paths` (other files — README.md, dataset_infos.json — are ignored). */
export function findSplits(paths: readonly string[]): SplitFiles[] {
  const groups = new Map<string, { dir: string; split: string; paths: string[] }>();
  for (const path of paths) {
    const slash = path.lastIndexOf('/');
    const match = SPLIT_FILE.exec(path.slice(slash + 1));
    if (!match || !SPLIT_NAMES.includes(match[1].toLowerCase())) continue;
    const dir = slash < 0 ? '' : path.slice(0, slash);
    const split = match[1].toLowerCase();
    const key = `${dir}\u0000${split}`;
    const group = groups.get(key) ?? { dir, split, paths: [] };
    group.paths.push(path);
    groups.set(key, group);
  }
  const dirs = new Set([...groups.values()].map((g) => g.dir));
  return [...groups.values()]
    .map((g) => ({ id: dirs.size > 1 ? `${g.dir}/${g.split}` : g.split, split: g.split, paths: g.paths.sort() }))
    .sort((a, b) => a.id.localeCompare(b.id));
}

/** The one data file of a folder or zip without split names (a zipped reviews.csv), if there is exactly one. */
export function loneDataFile(paths: readonly string[]): string | undefined {
  const data = paths.filter((p) => /\.(csv|tsv|tab|jsonl|ndjson|json|parquet)$/i.test(p));
  return data.length === 1 ? data[0] : undefined;
}

/** The training split and, when there is one, a validation split beside it. */
export function proposeSplits(splits: readonly SplitFiles[]): { train?: string; validation?: string } {
  const train = splits.find((s) => s.split === 'train');
  if (!train) return {};
  const dirOf = (s: SplitFiles) => s.paths[0].slice(0, s.paths[0].lastIndexOf('/') + 1);
  const validation = VALIDATION_NAMES.map((name) => splits.find((s) => s.split === name && dirOf(s) === dirOf(train))).find((s) => s !== undefined);
  return { train: train.id, validation: validation?.id };
}

/** How a split is named in messages: its file, or its first shard and the count. */
export function splitFileName(split: SplitFiles): string {
  return split.paths.length === 1 ? split.paths[0] : `${split.paths[0]} (+${split.paths.length - 1} more shard${split.paths.length > 2 ? 's' : ''})`;
}

/**
 * Reads a split's shards and concatenates them. Every shard must have the first one's columns; the
 * rows of a sharded split are numbered across the shards.
 */
export async function readSplit(split: SplitFiles, bytesOf: (path: string) => ArrayBuffer | Promise<ArrayBuffer>): Promise<Table> {
  const tables: Table[] = [];
  for (const path of split.paths) {
    const table = await parseTable(await bytesOf(path), path);
    if (tables.length > 0 && table.columns.join('\u0000') !== tables[0].columns.join('\u0000')) {
      throw new DatasetError(path, `its columns (${table.columns.join(', ')}) differ from those of ${split.paths[0]} (${tables[0].columns.join(', ')})`);
    }
    tables.push(table);
  }
  if (tables.length === 1) return tables[0];
  const rows = tables.flatMap((t) => t.rows);
  return {
    columns: tables[0].columns,
    rows,
    headerless: tables[0].headerless,
    rowLines: rows.map((_, i) => i + 1),
    rowUnit: 'row',
    labelNames: tables[0].labelNames,
  };
}
