// Tables larger than one storage binding: a word embedding of 151,936 × 896 fp32 is 544 MB, and
// adapters bind 128 MiB … a few GiB. Such a table (the word embedding, the LM head's weight, a
// trained tied table's gradient) is held as chunks of rows, each its own buffer (or its own view
// of the flat trained parameters) within one binding, and every op that reads or writes it is the
// existing kernel dispatched once per chunk: the lookup and its gradient with the chunk's row range
// (embedding.wgsl skips other chunks' ids), the products on column (vocabulary) ranges of the
// logits. A table that fits is one chunk, and its ops are the dispatches of an unsplit table.
import { readTensor } from '../gpu/readback.ts';
import { createTensor, VIEW_ALIGNMENT_ELEMENTS, view, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { embeddingBackwardGrouped, embeddingForward, type TableRows } from '../kernels/embedding.ts';
import { blockMatmul, type BlockLayout } from '../kernels/matmul.ts';

export interface TableChunk {
  /** [rows, dim]: table rows first … first + rows − 1. */
  tensor: Tensor;
  first: number;
  rows: number;
}

export interface SplitTable {
  rows: number;
  dim: number;
  chunks: TableChunk[];
}

/** The most bytes one chunk may hold: what one buffer holds and one storage binding binds. */
export function bindingLimit(limits: { maxBufferSize: number; maxStorageBufferBindingSize: number }): number {
  return Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
}

/**
 * The rows of each chunk of a [rows, dim] fp32 table within `maxBytes` per chunk: the whole table
 * when it fits, else chunks of the most rows that are a multiple of 64 (so views at a chunk's
 * first row or column stay 256-byte aligned), the last one shorter.
 */
export function chunkRanges(rows: number, dim: number, maxBytes: number): { first: number; rows: number }[] {
  const rowBytes = 4 * dim;
  if (rows * rowBytes <= maxBytes) return [{ first: 0, rows }];
  const per = Math.floor(maxBytes / rowBytes / VIEW_ALIGNMENT_ELEMENTS) * VIEW_ALIGNMENT_ELEMENTS;
  if (per === 0) {
    throw new Error(`a table of ${rows} rows of ${dim} values cannot be split within ${maxBytes} bytes per buffer: ${VIEW_ALIGNMENT_ELEMENTS} rows (the smallest aligned chunk) need ${VIEW_ALIGNMENT_ELEMENTS * rowBytes}`);
  }
  const ranges = [];
  for (let first = 0; first < rows; first += per) ranges.push({ first, rows: Math.min(per, rows - first) });
  return ranges;
}

/** Uploads `data` [rows, dim] as chunks of at most `maxBytes`, each its own buffer. */
export function uploadSplitTable(device: GPUDevice, data: Float32Array, rows: number, dim: number, maxBytes: number, label: string): SplitTable {
  if (data.length !== rows * dim) throw new Error(`${label}: ${data.length} values for [${rows}, ${dim}]`);
  const ranges = chunkRanges(rows, dim, maxBytes);
  const chunks = ranges.map(({ first, rows: count }) => {
    const tensor = createTensor(device, [count, dim], 'f32', ranges.length > 1 ? `${label} rows ${first}…` : label);
    writeTensor(device, tensor, data.subarray(first * dim, (first + count) * dim));
    return { tensor, first, rows: count };
  });
  return { rows, dim, chunks };
}

/** A [rows, dim] table inside one buffer (a trained table in the flat parameters) as chunk views,
 * so no kernel binds more than `maxBytes` of it. */
export function splitView(base: Tensor, rows: number, dim: number, maxBytes: number): SplitTable {
  const chunks = chunkRanges(rows, dim, maxBytes).map(({ first, rows: count }) => ({ tensor: view(base, first * dim, [count, dim]), first, rows: count }));
  return { rows, dim, chunks };
}

/** The same chunks read from `to` where they lie in `from` (the decoder's base weights: the
 * initial parameters at the trained ones' offsets). */
export function onBuffer(table: SplitTable, from: GPUBuffer, to: GPUBuffer): SplitTable {
  return { ...table, chunks: table.chunks.map((c) => (c.tensor.buffer === from ? { ...c, tensor: { ...c.tensor, buffer: to } } : c)) };
}

/** The whole table on the host, chunk after chunk. */
export async function readSplitTable(device: GPUDevice, table: SplitTable): Promise<Float32Array> {
  const out = new Float32Array(table.rows * table.dim);
  for (const c of table.chunks) out.set(await readTensor(device, c.tensor), c.first * table.dim);
  return out;
}

export function destroySplitTable(table: SplitTable): void {
  for (const c of table.chunks) c.tensor.buffer.destroy();
}

/** The chunk's rows for embedding.wgsl: the last chunk is open-ended, so an id past the table is
 * read (clamped) as an unsplit table's is, instead of being skipped by every chunk. */
function tableRows(table: SplitTable, i: number): TableRows | undefined {
  if (table.chunks.length === 1) return undefined;
  const c = table.chunks[i];
  return i === table.chunks.length - 1 ? { first: c.first } : { first: c.first, end: c.first + c.rows };
}

/** out[r] (+)= table[ids[r]] for `rows` ids: each chunk writes the rows whose ids it holds. */
export function gatherRows(device: GPUDevice, args: { table: SplitTable; ids: Tensor; out: Tensor; rows: number; accumulate?: boolean }): PlanOp[] {
  const { table } = args;
  return table.chunks.map((c, i) => embeddingForward(device, { table: c.tensor, ids: args.ids, out: args.out, rows: args.rows, dim: table.dim, accumulate: args.accumulate, tableRows: tableRows(table, i) }));
}

/** dTable[id] += Σ dOut[r] over each group of rows with that id (groupRows' arrays): each chunk
 * adds the groups whose ids it holds, with the sums of an unsplit table. */
export function scatterAddGroupedRows(device: GPUDevice, args: { dOut: Tensor; order: Tensor; offsets: Tensor; ids: Tensor; dTable: SplitTable; rows: number }): PlanOp[] {
  const { dTable } = args;
  return dTable.chunks.map((c, i) => embeddingBackwardGrouped(device, { dOut: args.dOut, order: args.order, offsets: args.offsets, ids: args.ids, dTable: c.tensor, rows: args.rows, dim: dTable.dim, tableRows: tableRows(dTable, i) }));
}

const rowsOf = (ld: number): BlockLayout => ({ batchStride: 0, headStride: 0, ld });

/** A view of a [m, vocab] matrix from column `first` on (its rows stay vocab apart). */
function columns(t: Tensor, m: number, vocab: number, first: number, count: number): Tensor {
  return view(t, first, [(m - 1) * vocab + count]);
}

/**
 * out [m, vocab] = x [m, k] · tableᵀ (+ bias): each chunk writes its columns of out, each logit
 * the same dot product as with an unsplit table.
 */
export function tableLogits(device: GPUDevice, args: { x: Tensor; table: SplitTable; out: Tensor; m: number; bias?: Tensor }): PlanOp[] {
  const { table, m } = args;
  const k = table.dim;
  const vocab = table.rows;
  return table.chunks.map((c) => {
    const whole = table.chunks.length === 1;
    return blockMatmul(device, {
      label: `table logits ${m}×${c.rows}×${k}`, m, n: c.rows, k, blocks: 1, heads: 1, transB: true,
      a: [args.x, rowsOf(k)],
      b: [c.tensor, rowsOf(k)],
      out: [whole ? args.out : columns(args.out, m, vocab, c.first, c.rows), rowsOf(vocab)],
      bias: args.bias && (whole ? args.bias : view(args.bias, c.first, [c.rows])),
    });
  });
}

/**
 * into [m, k] = dLogits [m, vocab] · table: a sum over the vocabulary, taken chunk by chunk (the
 * first writes, the rest add), so a split table regroups the fp32 sum.
 */
export function tableInputGradient(device: GPUDevice, args: { dLogits: Tensor; table: SplitTable; into: Tensor; m: number }): PlanOp[] {
  const { table, m } = args;
  const k = table.dim;
  const vocab = table.rows;
  return table.chunks.map((c, i) => blockMatmul(device, {
    label: `table input gradient ${m}×${k}×${c.rows}`, m, n: k, k: c.rows, blocks: 1, heads: 1, accumulate: i > 0,
    a: [table.chunks.length === 1 ? args.dLogits : columns(args.dLogits, m, vocab, c.first, c.rows), rowsOf(vocab)],
    b: [c.tensor, rowsOf(k)],
    out: [args.into, rowsOf(k)],
  }));
}

/** dTable [vocab, k] (+)= dLogits [m, vocab]ᵀ · x [m, k]: each chunk its rows, each element the
 * same sum over the m rows as with an unsplit table. */
export function tableGradient(device: GPUDevice, args: { dLogits: Tensor; x: Tensor; dTable: SplitTable; m: number; accumulate: boolean }): PlanOp[] {
  const { dTable, m } = args;
  const k = dTable.dim;
  const vocab = dTable.rows;
  return dTable.chunks.map((c) => blockMatmul(device, {
    label: `table gradient ${c.rows}×${k}×${m}`, m: c.rows, n: k, k: m, blocks: 1, heads: 1, transA: true, accumulate: args.accumulate,
    a: [dTable.chunks.length === 1 ? args.dLogits : columns(args.dLogits, m, vocab, c.first, c.rows), rowsOf(vocab)],
    b: [args.x, rowsOf(k)],
    out: [c.tensor, rowsOf(k)],
  }));
}
