// Float64 reference for shaders/embedding.wgsl (same op names as kernels/embedding.ts).
import type { TableRows } from './embedding.ts';

type Ids = ArrayLike<number>;

/** Where id's row lies in a chunk holding `range` of the table; −1 when another chunk holds it. */
function rowOf(id: number, range?: TableRows): number {
  if (!range) return id;
  return id >= range.first && id < (range.end ?? Infinity) ? id - range.first : -1;
}

/** out[r] = table[ids[r]] (+ the prior out, required when accumulate is set); with tableRows,
 * `table` is that chunk of the table and rows whose id it lacks keep the prior out (or 0). */
export function embeddingForward(args: { table: Float64Array; ids: Ids; rows: number; dim: number; out?: Float64Array; accumulate?: boolean; tableRows?: TableRows }): Float64Array {
  const { table, ids, rows, dim } = args;
  const out = args.out ? Float64Array.from(args.out) : new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const t = rowOf(ids[r], args.tableRows);
    if (t < 0) continue;
    for (let j = 0; j < dim; j++) out[r * dim + j] = (args.accumulate ? out[r * dim + j] : 0) + table[t * dim + j];
  }
  return out;
}

/** dTable + the scatter-add of dOut's rows at ids (repeated ids sum here; the GPU needs them unique). */
export function embeddingBackward(args: { dOut: Float64Array; ids: Ids; dTable: Float64Array; rows: number; dim: number; tableRows?: TableRows }): Float64Array {
  const { dOut, ids, rows, dim } = args;
  const dTable = Float64Array.from(args.dTable);
  for (let r = 0; r < rows; r++) {
    const t = rowOf(ids[r], args.tableRows);
    if (t >= 0) for (let j = 0; j < dim; j++) dTable[t * dim + j] += dOut[r * dim + j];
  }
  return dTable;
}

/** dTable + the sum of dOut's rows of each group (groupRows' arrays) at its id. */
export function embeddingBackwardGrouped(args: { dOut: Float64Array; order: Ids; offsets: Ids; ids: Ids; dTable: Float64Array; rows: number; dim: number; tableRows?: TableRows }): Float64Array {
  const { dOut, order, offsets, ids, rows, dim } = args;
  const dTable = Float64Array.from(args.dTable);
  for (let u = 0; u < rows; u++) {
    const t = rowOf(ids[u], args.tableRows);
    if (offsets[u + 1] === offsets[u] || t < 0) continue;
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let r = offsets[u]; r < offsets[u + 1]; r++) s += dOut[order[r] * dim + j];
      dTable[t * dim + j] += s;
    }
  }
  return dTable;
}
