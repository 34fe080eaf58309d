// GPU wrapper for shaders/embedding.wgsl; the float64 reference of the same name is
// embedding.ref.ts.
import code from '../../shaders/embedding.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

/** The table rows a dispatch's table holds, when it is one row chunk of a larger table
 * (model/split-table.ts): rows first … end − 1 (end absent: every row from first on). Ids outside
 * are another chunk's and skipped; absent, the table is whole. */
export interface TableRows {
  first: number;
  end?: number;
}

const WHOLE_TABLE: TableRows = { first: 0 };

function rowParams(device: GPUDevice, count: number, dim: number, range: TableRows = WHOLE_TABLE): GPUBuffer {
  const end = range.end ?? 0xffffffff;
  if (!(Number.isInteger(range.first) && range.first >= 0 && end > range.first && end <= 0xffffffff)) throw new Error(`embedding: table rows ${range.first} … ${end} are not a range`);
  return createParams(device, [['u32', count], ['u32', dim], ['u32', range.first], ['u32', end]]);
}

export interface EmbeddingForwardArgs {
  /** [vocab, dim] */
  table: Tensor;
  /** [rows] u32, each < vocab (the tokenizer's ids; out-of-range reads are clamped by WebGPU). */
  ids: Tensor;
  /** [rows, dim] */
  out: Tensor;
  rows: number;
  dim: number;
  /** out += the gathered rows: word + position + token-type embeddings summed into one buffer. */
  accumulate?: boolean;
  /** `table` is these rows of the whole table: only rows whose id falls there are written. */
  tableRows?: TableRows;
}

/** out[r] = table[ids[r]] (rows of the table gathered by id; with tableRows, the rows whose id
 * the chunk holds, from table[ids[r] − first]). */
export function embeddingForward(device: GPUDevice, args: EmbeddingForwardArgs): Dispatch {
  return makeDispatch(device, {
    label: `embedding forward ${args.rows}×${args.dim}`,
    code,
    entryPoint: 'forward',
    constants: { ACCUMULATE: Number(!!args.accumulate) },
    bindings: [args.table, args.ids, args.out, rowParams(device, args.rows, args.dim, args.tableRows)],
    workgroups: gridStride(args.rows * args.dim),
  });
}

export interface EmbeddingBackwardArgs {
  /** [rows, dim] */
  dOut: Tensor;
  /**
   * [rows] u32, which MUST be unique: rows are added without atomics, so two rows with the same
   * id race and one update is lost. Its use is routing the classifier's gradient back to the
   * [CLS] rows of the hidden states (ids = b·seq, the first token of each sequence), not the
   * gradient of a word-embedding table.
   */
  ids: Tensor;
  /** [vocab, dim]: dTable[ids[r]] += dOut[r]; rows not named in ids are left as they are. */
  dTable: Tensor;
  rows: number;
  dim: number;
  /** `dTable` is these rows of the whole table (ids outside are skipped). */
  tableRows?: TableRows;
}

export function embeddingBackward(device: GPUDevice, args: EmbeddingBackwardArgs): Dispatch {
  return makeDispatch(device, {
    label: `embedding backward ${args.rows}×${args.dim}`,
    code,
    entryPoint: 'backward',
    bindings: [args.dOut, args.ids, args.dTable, rowParams(device, args.rows, args.dim, args.tableRows)],
    workgroups: gridStride(args.rows * args.dim),
  });
}

/** Rows grouped by id for embeddingBackwardGrouped: `order` lists the rows group by group,
 * group u spans order[offsets[u] … offsets[u + 1]) and adds into table row ids[u]. Sized for
 * `rows` groups; the ones past the distinct ids are empty. */
export interface RowGroups {
  order: Uint32Array;
  /** rows + 1 entries. */
  offsets: Uint32Array;
  ids: Uint32Array;
}

export function groupRows(tokenIds: ArrayLike<number>): RowGroups {
  const rows = tokenIds.length;
  const byId = new Map<number, number[]>();
  for (let r = 0; r < rows; r++) {
    const list = byId.get(tokenIds[r]);
    if (list) list.push(r);
    else byId.set(tokenIds[r], [r]);
  }
  const order = new Uint32Array(rows);
  const offsets = new Uint32Array(rows + 1).fill(rows);
  const ids = new Uint32Array(rows);
  let at = 0;
  let u = 0;
  for (const [id, list] of byId) {
    offsets[u] = at;
    ids[u++] = id;
    order.set(list, at);
    at += list.length;
  }
  return { order, offsets, ids };
}

export interface EmbeddingBackwardGroupedArgs {
  /** [rows, dim] */
  dOut: Tensor;
  /** groupRows' arrays, uploaded as u32 tensors ([rows], [rows + 1], [rows]). */
  order: Tensor;
  offsets: Tensor;
  ids: Tensor;
  /** [vocab, dim]: dTable[id] += Σ dOut[r] over the rows r with that id; other rows untouched. */
  dTable: Tensor;
  rows: number;
  dim: number;
  /** `dTable` is these rows of the whole table (groups of other ids are skipped). */
  tableRows?: TableRows;
}

/** The scatter-add with repeated ids (a word-embedding table's gradient). */
export function embeddingBackwardGrouped(device: GPUDevice, args: EmbeddingBackwardGroupedArgs): Dispatch {
  return makeDispatch(device, {
    label: `embedding backward grouped ${args.rows}×${args.dim}`,
    code,
    entryPoint: 'backward_grouped',
    bindings: [args.dOut, args.order, args.offsets, args.ids, args.dTable, rowParams(device, args.rows, args.dim, args.tableRows)],
    workgroups: gridStride(args.rows * args.dim),
  });
}
