// Float64 reference for shaders/embedding.wgsl (same op names as kernels/embedding.ts).

type Ids = ArrayLike<number>;

/** out[r] = table[ids[r]] (+ the prior out, required when accumulate is set). */
export function embeddingForward(args: { table: Float64Array; ids: Ids; rows: number; dim: number; out?: Float64Array; accumulate?: boolean }): Float64Array {
  const { table, ids, rows, dim } = args;
  const out = args.accumulate ? Float64Array.from(args.out!) : new Float64Array(rows * dim);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) out[r * dim + j] += table[ids[r] * dim + j];
  return out;
}

/** dTable + the scatter-add of dOut's rows at ids (repeated ids sum here; the GPU needs them unique). */
export function embeddingBackward(args: { dOut: Float64Array; ids: Ids; dTable: Float64Array; rows: number; dim: number }): Float64Array {
  const { dOut, ids, rows, dim } = args;
  const dTable = Float64Array.from(args.dTable);
  for (let r = 0; r < rows; r++) for (let j = 0; j < dim; j++) dTable[ids[r] * dim + j] += dOut[r * dim + j];
  return dTable;
}

/** dTable + the sum of dOut's rows of each group (groupRows' arrays) at its id. */
export function embeddingBackwardGrouped(args: { dOut: Float64Array; order: Ids; offsets: Ids; ids: Ids; dTable: Float64Array; rows: number; dim: number }): Float64Array {
  const { dOut, order, offsets, ids, rows, dim } = args;
  const dTable = Float64Array.from(args.dTable);
  for (let u = 0; u < rows; u++) {
    for (let j = 0; j < dim; j++) {
      let s = 0;
      for (let r = offsets[u]; r < offsets[u + 1]; r++) s += dOut[order[r] * dim + j];
      if (offsets[u + 1] > offsets[u]) dTable[ids[u] * dim + j] += s;
    }
  }
  return dTable;
}
