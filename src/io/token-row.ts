// A tokenized row as datasets keep it (QA windows, NER sentences, causal-LM rows): packed, since
// SQuAD's 88k windows of 384 tokens take ~150 MB so and ~500 MB as number arrays, and post to the
// engine worker as copies of flat buffers rather than of millions of array elements.

export interface TokenRow {
  inputIds: Uint32Array;
  /** Per token (−100 where no loss applies), or a QA window's answer start and end. */
  labels: Int32Array;
  tokenTypeIds?: Uint8Array;
}

export function tokenRow(inputIds: readonly number[], labels: readonly number[], tokenTypeIds?: readonly number[]): TokenRow {
  return { inputIds: Uint32Array.from(inputIds), labels: Int32Array.from(labels), ...(tokenTypeIds && { tokenTypeIds: Uint8Array.from(tokenTypeIds) }) };
}

/**
 * The rows' arrays copied into three shared buffers, each row a view of its part: posting them
 * copies three buffers instead of three per row (82k SQuAD windows: ~1 s → ~0.1 s), and the
 * buffers can be transferred. Rows without tokens are kept as they are.
 */
export function packTokenRows<T extends { tokens?: TokenRow }>(rows: readonly T[]): { rows: T[]; buffers: ArrayBuffer[] } {
  let ids = 0;
  let labels = 0;
  let types = 0;
  for (const { tokens } of rows) {
    if (!tokens) continue;
    ids += tokens.inputIds.length;
    labels += tokens.labels.length;
    types += tokens.tokenTypeIds?.length ?? 0;
  }
  const all = { ids: new Uint32Array(ids), labels: new Int32Array(labels), types: new Uint8Array(types) };
  const at = { ids: 0, labels: 0, types: 0 };
  const packed = rows.map((row) => {
    const { tokens } = row;
    if (!tokens) return row;
    const view = <A extends Uint32Array | Int32Array | Uint8Array>(into: A, key: keyof typeof at, from: A): A => {
      into.set(from, at[key]);
      at[key] += from.length;
      return into.subarray(at[key] - from.length, at[key]) as A;
    };
    return {
      ...row,
      tokens: {
        inputIds: view(all.ids, 'ids', tokens.inputIds),
        labels: view(all.labels, 'labels', tokens.labels),
        ...(tokens.tokenTypeIds && { tokenTypeIds: view(all.types, 'types', tokens.tokenTypeIds) }),
      },
    };
  });
  return { rows: packed, buffers: [all.ids.buffer, all.labels.buffer, all.types.buffer] };
}
