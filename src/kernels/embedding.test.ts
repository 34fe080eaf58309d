import { describe, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { embeddingBackward, embeddingBackwardGrouped, embeddingForward, groupRows } from './embedding.ts';
import { embeddingBackward as embeddingBackwardRef, embeddingBackwardGrouped as embeddingBackwardGroupedRef, embeddingForward as embeddingForwardRef } from './embedding.ref.ts';

// A gather is a copy: exact. An accumulated element is one fp32 addition of two fp32 values,
// whose result is within half an ulp, i.e. 2⁻²⁴ relative, of the exact sum.
const EXACT = { atol: 0, rtol: 0 };
const ONE_ADD = { atol: 0, rtol: 2 ** -24 };

async function checkForward(vocab: number, rows: number, dim: number, accumulate: boolean) {
  const { device } = await testGpu();
  const table = f32(randomArray(vocab * dim, 1));
  // Repeated ids are fine in a gather; include the first and last rows of the table.
  const ids = Array.from({ length: rows }, (_, r) => (r === 0 ? vocab - 1 : (r * 7) % vocab));
  const out0 = f32(randomArray(rows * dim, 2));
  const out = accumulate ? uploadTensor(device, out0, [rows, dim]) : createTensor(device, [rows, dim]);
  runDispatches(device, [
    embeddingForward(device, { table: uploadTensor(device, table, [vocab, dim]), ids: uploadTensor(device, ids, [rows], 'u32'), out, rows, dim, accumulate }),
  ]);
  const expected = embeddingForwardRef({ table, ids, rows, dim, out: out0, accumulate });
  expectClose(await readTensor(device, out), expected, accumulate ? ONE_ADD : EXACT, `forward ${vocab}/${rows}×${dim} accumulate=${accumulate}`);
}

async function checkBackward(vocab: number, ids: number[], dim: number) {
  const { device } = await testGpu();
  const rows = ids.length;
  const dOut = f32(randomArray(rows * dim, 3));
  const dTable0 = f32(randomArray(vocab * dim, 4)); // untouched rows must keep these
  const dTable = uploadTensor(device, dTable0, [vocab, dim]);
  runDispatches(device, [embeddingBackward(device, { dOut: uploadTensor(device, dOut, [rows, dim]), ids: uploadTensor(device, ids, [rows], 'u32'), dTable, rows, dim })]);
  expectClose(await readTensor(device, dTable), embeddingBackwardRef({ dOut, ids, dTable: dTable0, rows, dim }), ONE_ADD, `backward ${vocab}×${dim} ids ${ids.join(',')}`);
}

describe('embeddingForward matches its float64 reference', () => {
  it('on one row of width 1', () => checkForward(3, 1, 1, false));
  it('on rows·dim not a multiple of the workgroup, with repeated ids', () => checkForward(50, 37, 13, false));
  it('accumulating (word + position embeddings)', () => checkForward(20, 9, 300, true));
});

describe('embeddingBackward matches its float64 reference', () => {
  it('routing gradients to the [CLS] rows (ids = b·seq) and leaving the other rows alone', () => checkBackward(4 * 7, [0, 7, 14, 21], 33));
  it('on one row', () => checkBackward(5, [4], 1));
  it('on unique ids in any order, rows·dim past one workgroup', () => checkBackward(40, [39, 0, 17, 5, 22, 31, 8], 50));
});

async function checkGrouped(vocab: number, ids: number[], dim: number) {
  const { device } = await testGpu();
  const rows = ids.length;
  const dOut = f32(randomArray(rows * dim, 5));
  const dTable0 = f32(randomArray(vocab * dim, 6));
  const groups = groupRows(ids);
  const dTable = uploadTensor(device, dTable0, [vocab, dim]);
  const u32 = (data: Uint32Array) => uploadTensor(device, data, [data.length], 'u32');
  runDispatches(device, [embeddingBackwardGrouped(device, { dOut: uploadTensor(device, dOut, [rows, dim]), order: u32(groups.order), offsets: u32(groups.offsets), ids: u32(groups.ids), dTable, rows, dim })]);
  const expected = embeddingBackwardGroupedRef({ dOut, ...groups, dTable: dTable0, rows, dim });
  // The grouped reference is the plain scatter-add regrouped: the same sums.
  expectClose(expected, embeddingBackwardRef({ dOut, ids, dTable: dTable0, rows, dim }), { atol: 1e-15, rtol: 1e-15 }, 'grouped reference vs scatter-add');
  // An element of a group of m rows: m fp32 additions, each within 2⁻²⁴ relative of its exact
  // result; |partial sums| ≤ Σ|terms| ≤ m + |dTable0| with these unit-sized values.
  const m = Math.max(...[...groups.offsets].slice(1).map((end, u) => end - groups.offsets[u]));
  expectClose(await readTensor(device, dTable), expected, { atol: (m + 1) * (m + 1) * 2 ** -24, rtol: 0 }, `grouped backward ${vocab}×${dim} ids ${ids.join(',')}`);
}

describe('embeddingBackwardGrouped (repeated ids: a word table’s gradient) matches its float64 reference', () => {
  it('on one row', () => checkGrouped(5, [4], 1));
  it('with every row the same id (pads), and the table’s first and last rows', () => checkGrouped(9, [8, 8, 8, 8, 8, 0, 8, 0], 7));
  it('on a batch of token ids, rows·dim past one workgroup', () => checkGrouped(40, Array.from({ length: 45 }, (_, r) => (r * r * 7 + 3) % 13), 33));
});

// A table larger than one binding is held as row chunks, each dispatched with its rows: every id
// is handled by exactly one chunk, so the chunks together give the whole table's result, exactly
// (the same copies and the same per-group sums, in the same order).
describe('row chunks of a table (tableRows) match the float64 reference and, together, the whole table', () => {
  // Uneven chunks; the last is open-ended, as split tables dispatch it.
  const chunks = [{ first: 0, end: 7 }, { first: 7, end: 19 }, { first: 19 }];
  const vocab = 23;
  const dim = 13;
  const ids = [22, 0, 6, 7, 18, 19, 6, 3, 22, 22, 11, 0, 7];
  const rows = ids.length;
  const slice = (table: Float64Array, c: { first: number; end?: number }) => table.slice(c.first * dim, (c.end ?? vocab) * dim);

  it('forward: each chunk writes only its ids’ rows; all chunks make the gather', async () => {
    const { device } = await testGpu();
    const table = f32(randomArray(vocab * dim, 7));
    const out0 = f32(randomArray(rows * dim, 8));
    const idsTensor = uploadTensor(device, ids, [rows], 'u32');
    const all = uploadTensor(device, out0, [rows, dim]);
    for (const [i, c] of chunks.entries()) {
      const part = slice(table, c);
      const chunk = uploadTensor(device, part, [part.length / dim, dim]);
      const alone = uploadTensor(device, out0, [rows, dim]);
      runDispatches(device, [
        embeddingForward(device, { table: chunk, ids: idsTensor, out: alone, rows, dim, tableRows: c }),
        embeddingForward(device, { table: chunk, ids: idsTensor, out: all, rows, dim, tableRows: c }),
      ]);
      expectClose(await readTensor(device, alone), embeddingForwardRef({ table: part, ids, rows, dim, out: out0, tableRows: c }), EXACT, `forward, chunk ${i}`);
    }
    expectClose(await readTensor(device, all), embeddingForwardRef({ table, ids, rows, dim }), EXACT, 'forward, all chunks');
  });

  it('grouped backward: each chunk adds only its ids’ groups; all chunks make the table’s gradient', async () => {
    const { device } = await testGpu();
    const dOut = f32(randomArray(rows * dim, 9));
    const dTable0 = f32(randomArray(vocab * dim, 10));
    const groups = groupRows(ids);
    const u32 = (data: Uint32Array) => uploadTensor(device, data, [data.length], 'u32');
    const grouped = { dOut: uploadTensor(device, dOut, [rows, dim]), order: u32(groups.order), offsets: u32(groups.offsets), ids: u32(groups.ids), rows, dim };
    const whole = uploadTensor(device, dTable0, [vocab, dim]);
    runDispatches(device, [embeddingBackwardGrouped(device, { ...grouped, dTable: whole })]);
    const parts: Float32Array[] = [];
    for (const [i, c] of chunks.entries()) {
      const part = slice(dTable0, c);
      const dTable = uploadTensor(device, part, [part.length / dim, dim]);
      runDispatches(device, [embeddingBackwardGrouped(device, { ...grouped, dTable, tableRows: c })]);
      const got = await readTensor(device, dTable);
      const m = 3; // the largest group: id 22 three times
      expectClose(got, embeddingBackwardGroupedRef({ dOut, ...groups, dTable: part, rows, dim, tableRows: c }), { atol: (m + 1) * (m + 1) * 2 ** -24, rtol: 0 }, `grouped backward, chunk ${i}`);
      parts.push(got);
    }
    expectClose(Float32Array.from(parts.flatMap((p) => [...p])), await readTensor(device, whole), EXACT, 'grouped backward, all chunks against the whole table');
  });

  it('backward (unique ids): each chunk adds only its ids’ rows', async () => {
    const { device } = await testGpu();
    const unique = [22, 0, 6, 7, 18, 19, 3];
    const dOut = f32(randomArray(unique.length * dim, 11));
    const dTable0 = f32(randomArray(vocab * dim, 12));
    for (const [i, c] of chunks.entries()) {
      const part = slice(dTable0, c);
      const dTable = uploadTensor(device, part, [part.length / dim, dim]);
      runDispatches(device, [embeddingBackward(device, { dOut: uploadTensor(device, dOut, [unique.length, dim]), ids: uploadTensor(device, unique, [unique.length], 'u32'), dTable, rows: unique.length, dim, tableRows: c })]);
      expectClose(await readTensor(device, dTable), embeddingBackwardRef({ dOut, ids: unique, dTable: part, rows: unique.length, dim, tableRows: c }), ONE_ADD, `backward, chunk ${i}`);
    }
  });
});
