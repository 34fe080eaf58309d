// Dropped data files → labelled examples. CSV (papaparse), GLUE-style TSV (no quoting), JSONL,
// JSON arrays and Parquet (hyparquet) all become one Table whose rows all have the header's
// width; guessColumns (datasetColumns.ts) proposes the text / pair / label columns, buildExamples
// turns them into Examples and every problem into a DatasetError that names the file, the line
// and what is wrong.

import Papa from 'papaparse';
import type { Example, Task } from './types.ts';
import { glueLayoutOf, glueTestRefusal, isNumeric } from './datasetColumns.ts';
import { readParquetTable } from './datasetParquet.ts';
import { seededRandom, shuffledIndices } from '../util/random.ts';

export interface Table {
  columns: string[];
  /** Cells as the format gives them: strings (CSV, TSV), JSON values, or Parquet values (bigint for INT64). */
  rows: unknown[][];
  /** True when the file had no header row and the columns are named col0, col1, … */
  headerless: boolean;
  /** Where each row starts in the file (1-based), for error messages. */
  rowLines: number[];
  /** What rowLines counts: text lines, or rows (Parquet, JSON arrays). */
  rowUnit: 'line' | 'row';
  /** ClassLabel names per column (Hugging Face Parquet metadata). */
  labelNames?: Record<string, string[]>;
}

export interface ColumnChoice {
  text?: string;
  textPair?: string;
  label?: string;
}

export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
    /** 1-based line (or row, for Parquet and JSON arrays) of the offending entry. */
    readonly line?: number,
    unit: 'line' | 'row' = 'line',
  ) {
    super(`${file}${line === undefined ? '' : `, ${unit} ${line}`}: ${problem}`);
    this.name = 'DatasetError';
  }
}

const SUPPORTED = '.csv, .tsv, .jsonl, .json or .parquet';

export async function parseTable(bytes: ArrayBuffer, fileName: string): Promise<Table> {
  const extension = fileName.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
  if (bytes.byteLength === 0) throw new DatasetError(fileName, 'the file is empty');
  const head = new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength));
  if (extension === 'parquet' || String.fromCharCode(...head) === 'PAR1') {
    let table;
    try {
      table = await readParquetTable(bytes);
    } catch (error) {
      throw new DatasetError(fileName, `not a readable Parquet file (${error instanceof Error ? error.message : String(error)})`);
    }
    if (table.rows.length === 0) throw new DatasetError(fileName, 'the Parquet file has no rows');
    return { ...table, headerless: false, rowLines: table.rows.map((_, i) => i + 1), rowUnit: 'row' };
  }
  let text: string;
  try {
    // TextDecoder drops a leading byte-order mark, as Python's utf-8-sig does.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DatasetError(fileName, 'the file is not UTF-8 text');
  }
  if (text.trim() === '') throw new DatasetError(fileName, 'the file is empty');
  switch (extension) {
    case 'tsv':
    case 'tab':
      return parseTsv(text, fileName);
    case 'csv':
      return withHeader(parseCsv(text, fileName, ','), fileName);
    case 'jsonl':
    case 'ndjson':
      return parseJsonLines(text, fileName);
    case 'json':
      return parseJson(text, fileName);
    default:
      throw new DatasetError(fileName, `unsupported file type "${extension ? '.' + extension : fileName}": use ${SUPPORTED}`);
  }
}

interface TextRows {
  rows: string[][];
  lines: number[];
}

/** GLUE TSV: tab-separated with no quoting at all (Python's quotechar=None): `"` is text. */
function splitTsv(text: string): TextRows {
  const rows: string[][] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') return;
    rows.push(line.split('\t'));
    lines.push(i + 1);
  });
  return { rows, lines };
}

/**
 * GLUE's unquoted TSV; a file whose rows only line up when `"` quotes fields (a TSV written by
 * pandas or a spreadsheet) is read with quoting instead.
 */
function parseTsv(text: string, fileName: string): Table {
  const plain = splitTsv(text);
  if (raggedRows(plain, looksLikeHeader(plain.rows[0], plain.rows.slice(1))).length === 0 || !text.includes('"')) return withHeader(plain, fileName);
  let quoted: TextRows;
  try {
    quoted = parseCsv(text, fileName, '\t');
  } catch {
    // Quoting breaks too (an unmatched quote): the rows as split say where the file is ragged.
    return withHeader(plain, fileName);
  }
  return raggedRows(quoted, looksLikeHeader(quoted.rows[0], quoted.rows.slice(1))).length === 0 ? withHeader(quoted, fileName) : withHeader(plain, fileName);
}

function parseCsv(text: string, fileName: string, delimiter: ',' | '\t'): TextRows {
  // Line starts of every row: quoted fields may hold newlines, so row i is not line i.
  const newlines: number[] = [];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) newlines.push(i);
  const lineAt = (offset: number) => {
    let lo = 0;
    let hi = newlines.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newlines[mid] < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo + 1;
  };
  const rows: string[][] = [];
  const lines: number[] = [];
  let start = 0;
  Papa.parse<string[]>(text, {
    delimiter,
    skipEmptyLines: true,
    step: (result) => {
      // A skipped empty line leaves the cursor on its newline: the row starts after it.
      while (text[start] === '\n' || text[start] === '\r') start++;
      const line = lineAt(start);
      const error = result.errors[0];
      if (error) throw new DatasetError(fileName, `${error.message.replace(/\.$/, '')} (CSV)`, line);
      rows.push(result.data);
      lines.push(line);
      start = result.meta.cursor;
    },
  });
  return { rows, lines };
}

/** Column names that mark a first row as a header even when the data would not tell. */
const KNOWN_NAMES = new Set([
  'text', 'sentence', 'sentence1', 'sentence2', 'label', 'labels', 'score', 'question', 'question1', 'question2',
  'premise', 'hypothesis', 'passage', 'context', 'review', 'content', 'target', 'class', 'category', 'sentiment',
  'text_a', 'text_b', 'idx', 'id',
]);

/**
 * Is the first row a header? Not if a cell is empty, repeated or a number (CoLA's first row has
 * all three); yes if it uses a common column name, or if a column is numeric below it but not in
 * it, or if every cell looks like an identifier (no spaces).
 */
function looksLikeHeader(first: string[], rest: string[][]): boolean {
  const cells = first.map((c) => c.trim());
  if (glueLayoutOf(cells)) return true;
  if (cells.some((c) => c === '' || isNumeric(c)) || new Set(cells).size !== cells.length) return false;
  if (cells.some((c) => KNOWN_NAMES.has(c.toLowerCase()))) return true;
  const sample = rest.slice(0, 200);
  if (sample.length > 0 && cells.some((_, j) => sample.every((row) => isNumeric(row[j])))) return true;
  return cells.every((c) => c.length <= 40 && /^[\p{L}_][\p{L}\p{N}_.-]*$/u.test(c));
}

const fields = (n: number) => `${n} field${n === 1 ? '' : 's'}`;

/** Indices of the rows whose field count differs from the first row's (the header's). */
function raggedRows({ rows }: TextRows, header: boolean): number[] {
  const width = rows[0].length;
  const ragged: number[] = [];
  for (let i = header ? 1 : 0; i < rows.length; i++) if (rows[i].length !== width) ragged.push(i);
  return ragged;
}

/**
 * Rows as wide as the header, or a DatasetError at the first that is not, as pandas and Arrow
 * refuse such a file: a field too many or too few shifts the columns of that row.
 */
function withHeader({ rows, lines }: TextRows, fileName: string): Table {
  const header = looksLikeHeader(rows[0], rows.slice(1));
  const ragged = raggedRows({ rows, lines }, header);
  if (ragged.length > 0) {
    const first = ragged[0];
    const others = ragged.length > 1 ? `; ${ragged.length} rows in all do not match` : '';
    throw new DatasetError(fileName, `${fields(rows[first].length)} where the ${header ? 'header' : 'first row'} has ${rows[0].length}${others}`, lines[first]);
  }
  const width = rows[0].length;
  if (!header) {
    return { columns: Array.from({ length: width }, (_, j) => `col${j}`), rows, headerless: true, rowLines: lines, rowUnit: 'line' };
  }
  const columns = uniqueNames(rows[0].map((c) => c.trim()));
  return { columns, rows: rows.slice(1), headerless: false, rowLines: lines.slice(1), rowUnit: 'line' };
}

function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  return names.map((name) => {
    const n = (seen.get(name) ?? 0) + 1;
    seen.set(name, n);
    return n === 1 ? name : `${name}_${n}`;
  });
}

function objectsToTable(objects: Record<string, unknown>[], lines: number[], unit: 'line' | 'row'): Table {
  const index = new Map<string, number>();
  for (const object of objects) for (const key of Object.keys(object)) if (!index.has(key)) index.set(key, index.size);
  const columns = [...index.keys()];
  const rows = objects.map((object) => columns.map((c) => object[c]));
  return { columns, rows, headerless: false, rowLines: lines, rowUnit: unit };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function parseJsonLines(text: string, fileName: string): Table {
  const objects: Record<string, unknown>[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new DatasetError(fileName, 'not valid JSON', i + 1);
    }
    if (!isRecord(value)) throw new DatasetError(fileName, 'expected a JSON object per line', i + 1);
    objects.push(value);
    lines.push(i + 1);
  });
  return objectsToTable(objects, lines, 'line');
}

/** A .json file: an array of objects, or JSON Lines under the wrong extension. */
function parseJson(text: string, fileName: string): Table {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return parseJsonLines(text, fileName);
  }
  if (!Array.isArray(value)) throw new DatasetError(fileName, 'expected an array of objects (or one JSON object per line)');
  value.forEach((item, i) => {
    if (!isRecord(item)) throw new DatasetError(fileName, 'expected a JSON object', i + 1, 'row');
  });
  if (value.length === 0) throw new DatasetError(fileName, 'the array is empty');
  return objectsToTable(value as Record<string, unknown>[], value.map((_, i) => i + 1), 'row');
}

type Label = { kind: 'int' | 'float'; value: number; raw: string } | { kind: 'name'; raw: string };

function readLabel(cell: unknown): Label | string {
  if (cell === undefined || cell === null || (typeof cell === 'string' && cell.trim() === '')) return 'the label is empty';
  if (typeof cell === 'bigint') return { kind: 'int', value: Number(cell), raw: String(cell) };
  if (typeof cell === 'number') {
    if (!Number.isFinite(cell)) return `the label ${cell} is not a finite number`;
    return { kind: Number.isInteger(cell) ? 'int' : 'float', value: cell, raw: String(cell) };
  }
  if (typeof cell === 'boolean') return { kind: 'name', raw: String(cell) };
  if (typeof cell !== 'string') return `the label ${JSON.stringify(cell)} is neither a number nor a class name`;
  const raw = cell.trim();
  // "5.000" is a float even though its value is integral: STS-B scores must not become classes.
  if (/^[+-]?\d+$/.test(raw)) return { kind: 'int', value: Number(raw), raw };
  if (isNumeric(raw)) return { kind: 'float', value: Number(raw), raw };
  return { kind: 'name', raw };
}

function readText(cell: unknown, what: string): string {
  if (typeof cell === 'string') return cell;
  if (typeof cell === 'number' || typeof cell === 'bigint' || typeof cell === 'boolean') return String(cell);
  throw new Error(cell === undefined || cell === null ? `the ${what} is missing` : `the ${what} is not text`);
}

/** More integer classes than this is almost surely a numeric target, not a class index. */
const MAX_CLASSES = 1000;

export interface BuiltExamples {
  task: Task;
  /** Class names, index = label; empty for regression. */
  labelNames: string[];
  examples: Example[];
}

/**
 * Turns the chosen columns into Examples. The task follows the labels unless given: integer labels
 * are class indices (names '0', '1', … or the file's ClassLabel names), other numbers are
 * regression targets, words are class names (sorted, index = position).
 */
export function buildExamples(
  table: Table,
  columns: ColumnChoice,
  fileName: string,
  opts: { task?: Task; labelNames?: string[] } = {},
): BuiltExamples {
  const index = (name: string | undefined, role: string) => {
    if (name === undefined) throw new DatasetError(fileName, `no ${role} column: choose one of ${table.columns.join(', ')}`);
    const j = table.columns.indexOf(name);
    if (j < 0) throw new DatasetError(fileName, `there is no column "${name}" (columns: ${table.columns.join(', ')})`);
    return j;
  };
  const refusal = glueTestRefusal(table);
  if (refusal) throw new DatasetError(fileName, refusal);
  const textColumn = index(columns.text, 'text');
  const pairColumn = columns.textPair === undefined ? undefined : index(columns.textPair, 'second text');
  const labelColumn = index(columns.label, 'label');
  if (table.rows.length === 0) throw new DatasetError(fileName, 'there are no examples (only a header)');
  const fail = (i: number, problem: string): never => {
    throw new DatasetError(fileName, problem, table.rowLines[i], table.rowUnit);
  };

  // A JSON row without one of the chosen keys: the first named, with how many there are.
  const chosen = [textColumn, pairColumn, labelColumn].filter((j) => j !== undefined);
  const lacking = table.rows.flatMap((row, i) => {
    const absent = chosen.find((j) => row[j] === undefined);
    return absent === undefined ? [] : [{ i, absent: table.columns[absent] }];
  });
  if (lacking.length > 0) {
    const others = lacking.length > 1 ? `; ${lacking.length} rows in all lack a chosen column` : '';
    fail(lacking[0].i, `the row has no "${lacking[0].absent}" (a chosen column)${others}`);
  }

  const texts = table.rows.map((row, i) => {
    try {
      const text = readText(row[textColumn], `text ("${columns.text}")`);
      return pairColumn === undefined ? { text } : { text, textPair: readText(row[pairColumn], `second text ("${columns.textPair}")`) };
    } catch (error) {
      return fail(i, (error as Error).message);
    }
  });
  const labels = table.rows.map((row, i) => {
    const label = readLabel(row[labelColumn]);
    return typeof label === 'string' ? fail(i, label) : label;
  });

  const firstOf = (kinds: Label['kind'][]) => labels.findIndex((l) => kinds.includes(l.kind));
  const names = labels.filter((l) => l.kind === 'name').length;
  let task = opts.task;
  if (task === undefined) {
    if (names > 0 && names < labels.length) {
      // Mixed words and numbers: the minority is the typo.
      const i = names * 2 >= labels.length ? firstOf(['int', 'float']) : firstOf(['name']);
      fail(i, `the label "${labels[i].raw}" does not match the other labels (${names * 2 >= labels.length ? 'class names' : 'numbers'})`);
    }
    task = firstOf(['float']) >= 0 ? 'regression' : 'classification';
  }

  if (task === 'regression') {
    const values = labels.map((l, i) => (l.kind === 'name' ? fail(i, `the label "${l.raw}" does not parse as a number`) : l.value));
    return { task, labelNames: [], examples: texts.map((t, i) => ({ ...t, label: values[i] })) };
  }

  const given = opts.labelNames ?? table.labelNames?.[table.columns[labelColumn]];
  let labelNames: string[];
  let classOf: (l: Label, i: number) => number;
  if (names > 0) {
    labelNames = given ?? [...new Set(labels.map((l) => l.raw))].sort();
    const position = new Map(labelNames.map((n, k) => [n, k]));
    classOf = (l, i) => position.get(l.raw) ?? fail(i, `the label "${l.raw}" is not one of the classes ${labelNames.join(', ')}`);
  } else {
    const floatAt = firstOf(['float']);
    if (floatAt >= 0) fail(floatAt, `the label "${labels[floatAt].raw}" is not a class index (integers 0, 1, …)`);
    const max = labels.reduce((m, l) => Math.max(m, (l as { value: number }).value), 0);
    if (!given && max >= MAX_CLASSES) {
      fail(labels.findIndex((l) => (l as { value: number }).value === max), `the label ${max} is too large for a class index (at most ${MAX_CLASSES} classes): if it is a target value, choose regression`);
    }
    labelNames = given ?? Array.from({ length: max + 1 }, (_, k) => String(k));
    classOf = (l, i) => {
      const k = (l as { value: number }).value;
      if (k < 0) return fail(i, `the label ${k} is negative (a test split without labels?)`);
      if (k >= labelNames.length) return fail(i, `the label ${k} is out of range for the ${labelNames.length} classes ${labelNames.join(', ')}`);
      return k;
    };
  }
  return { task, labelNames, examples: texts.map((t, i) => ({ ...t, label: classOf(labels[i], i) })) };
}

/**
 * Holds out round(n·fraction) examples (at least 1, leaving at least 1 for training) chosen by a
 * seeded shuffle, so the same seed always gives the same split. Both parts keep file order.
 */
export function splitValidation<T>(examples: readonly T[], fraction: number, seed: number): { train: T[]; validation: T[] } {
  if (!(fraction > 0 && fraction < 1)) throw new RangeError(`validation fraction must be between 0 and 1, got ${fraction}`);
  if (examples.length < 2) throw new RangeError(`cannot split ${examples.length} example(s) into training and validation`);
  const count = Math.min(examples.length - 1, Math.max(1, Math.round(examples.length * fraction)));
  const order = shuffledIndices(examples.length, seededRandom(seed));
  const held = new Uint8Array(examples.length);
  for (let i = 0; i < count; i++) held[order[i]] = 1;
  return { train: examples.filter((_, i) => !held[i]), validation: examples.filter((_, i) => held[i]) };
}
