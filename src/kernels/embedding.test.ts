import { describe, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { embeddingBackward, embeddingForward } from './embedding.ts';
import { embeddingBackward as embeddingBackwardRef, embeddingForward as embeddingForwardRef } from './embedding.ref.ts';

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
