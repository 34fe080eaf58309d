import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readSafetensors, readSafetensorsHeader, SafetensorsError, writeSafetensors } from './safetensors.ts';

const SHARED = new URL('../../../shared/', import.meta.url);
const fixture = (path: string) => readFileSync(new URL(path, SHARED));

/** A safetensors file from raw parts: the header text exactly as given (no padding), then `data`. */
function rawFile(header: string | object, data: ArrayLike<number> = [], headerLength?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  const view = new DataView(out.buffer);
  const length = headerLength ?? json.length;
  view.setUint32(0, length % 2 ** 32, true);
  view.setUint32(4, Math.floor(length / 2 ** 32), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (begin: number, count: number) => ({ dtype: 'F32', shape: [count], data_offsets: [begin, begin + 4 * count] });

/** Expects `bytes` to be refused with a SafetensorsError naming the file and matching `problem`. */
function expectRefused(bytes: Uint8Array, problem: RegExp): void {
  let error: unknown;
  try {
    readSafetensors(bytes, 'hostile.safetensors');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(SafetensorsError);
  expect((error as Error).message).toMatch(/^hostile\.safetensors: /);
  expect((error as Error).message).toMatch(problem);
}

describe('writeSafetensors', () => {
  it('writes the bytes the reference library writes (its own serialisation test vectors)', () => {
    // huggingface/safetensors tensor.rs test_serialization: "attn.0", F32 [1, 2, 3], values 0…5.
    const out = writeSafetensors([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], data: [0, 1, 2, 3, 4, 5] }]);
    const header = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(header.length).toBe(64);
    expect([...out]).toEqual([64, 0, 0, 0, 0, 0, 0, 0, ...new TextEncoder().encode(header), ...new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer)]);
    // test_empty: "{}" padded with spaces to 8 bytes, and with metadata.
    expect([...writeSafetensors([])]).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    const withMetadata = writeSafetensors([], { framework: 'pt' });
    expect(new TextDecoder().decode(withMetadata.subarray(8))).toBe('{"__metadata__":{"framework":"pt"}}     ');
    expect(withMetadata[0]).toBe(40);
  });

  it('reproduces real files written by transformers byte for byte', () => {
    for (const path of ['fixtures/hf-tiny/bert/model.safetensors', 'fixtures/hf-tiny/bert/ref-grads.safetensors', 'fixtures/hf-tiny/roberta/model.safetensors']) {
      const original = fixture(path);
      const file = readSafetensors(original, path);
      const tensors = [...file.tensors].map(([name, t]) => ({ name, dtype: t.dtype as 'F32' | 'F64', shape: t.shape, data: t.data }));
      const rewritten = writeSafetensors(tensors.reverse(), Object.keys(file.metadata).length ? file.metadata : undefined);
      expect(Buffer.compare(Buffer.from(rewritten), original), path).toBe(0);
    }
  });

  it('puts F64 before F32, then orders names by UTF-8 bytes, with integer-like names kept in that order', () => {
    const out = writeSafetensors([
      { name: 'b', dtype: 'F32', shape: [1], data: [1] },
      { name: '10', dtype: 'F32', shape: [1], data: [2] },
      { name: '\u{1F600}', dtype: 'F32', shape: [1], data: [3] }, // beyond U+FFFF: sorts after U+FFFD in UTF-8
      { name: '\uFFFD', dtype: 'F32', shape: [1], data: [4] },
      { name: '2', dtype: 'F32', shape: [1], data: [5] },
      { name: 'z', dtype: 'F64', shape: [1], data: [6] },
    ]);
    const header = readSafetensorsHeader(out, 'order.safetensors');
    expect([...header.tensors.keys()]).toEqual(['z', '10', '2', 'b', '\uFFFD', '\u{1F600}']);
    expect(header.dataStart % 8).toBe(0);
  });

  it('refuses inconsistent input', () => {
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, 2], data: [1, 2, 3] }])).toThrow(/3 values for shape \[2,2\]/);
    expect(() => writeSafetensors([{ name: 'a', dtype: 'F32', shape: [1], data: [1] }, { name: 'a', dtype: 'F64', shape: [1], data: [1] }])).toThrow(/twice/);
    expect(() => writeSafetensors([{ name: '__metadata__', dtype: 'F32', shape: [1], data: [1] }])).toThrow(/__metadata__/);
  });
});

describe('readSafetensors', () => {
  it('round-trips F32 and F64 tensors of awkward shapes with metadata', () => {
    const tensors = [
      { name: 'scalar', dtype: 'F32' as const, shape: [], data: [Math.PI] },
      { name: 'empty', dtype: 'F32' as const, shape: [3, 0], data: [] },
      { name: 'odd', dtype: 'F32' as const, shape: [3, 5], data: Array.from({ length: 15 }, (_, i) => i / 7 - 1) },
      { name: 'one', dtype: 'F64' as const, shape: [1], data: [1 / 3] },
      { name: 'grad', dtype: 'F64' as const, shape: [2, 1, 3], data: [1e-300, -0, Infinity, -Infinity, 5e-324, 1 / 7] },
    ];
    const file = readSafetensors(writeSafetensors(tensors, { format: 'pt', '0': 'zero' }), 'round.safetensors');
    expect(file.metadata).toEqual({ format: 'pt', '0': 'zero' });
    expect(file.tensors.size).toBe(tensors.length);
    for (const t of tensors) {
      const read = file.tensors.get(t.name)!;
      expect(read.dtype).toBe(t.dtype);
      expect(read.shape).toEqual(t.shape);
      expect(read.data).toBeInstanceOf(t.dtype === 'F64' ? Float64Array : Float32Array);
      expect([...read.data]).toEqual(t.dtype === 'F64' ? t.data : t.data.map(Math.fround));
    }
  });

  it('reads a transformers checkpoint, its F64 reference gradients and both shards of the demo model', () => {
    const model = readSafetensors(fixture('fixtures/hf-tiny/bert/model.safetensors'), 'model.safetensors');
    expect(model.metadata).toEqual({ format: 'pt' });
    expect(model.tensors.size).toBe(41);
    const ln = model.tensors.get('bert.embeddings.LayerNorm.weight')!;
    expect(ln.shape).toEqual([32]);
    // Values Python's struct module reads at the same offsets.
    expect([...ln.data.subarray(0, 3)]).toEqual([0.8522008657455444, 0.8601173162460327, 0.939210832118988]);

    const grads = readSafetensors(fixture('fixtures/hf-tiny/bert/ref-grads.safetensors'), 'ref-grads.safetensors');
    expect(grads.tensors.size).toBe(30);
    const loss = grads.tensors.get('loss')!;
    expect(loss).toMatchObject({ dtype: 'F64', shape: [1] });
    expect(loss.data).toBeInstanceOf(Float64Array);
    expect(loss.data[0]).toBe(1.0133955809880544);
    expect(grads.tensors.get('logits')!.shape).toEqual([12, 3]);

    const dir = 'models/vectorfit-demo-bert-tiny/';
    const shard1 = readSafetensors(fixture(`${dir}model-00001-of-00002.safetensors`), 'shard 1');
    const shard2 = readSafetensors(fixture(`${dir}model-00002-of-00002.safetensors`), 'shard 2');
    expect(shard1.tensors.get('bert.embeddings.word_embeddings.weight')!.shape).toEqual([30522, 128]);
    expect(shard2.tensors.size).toBe(41);
  });

  it('returns views of an owned buffer but copies out of a window into a larger one', () => {
    const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: [1, 2] }]);
    const owned = readSafetensors(bytes.buffer, 'owned.safetensors').tensors.get('w')!.data;
    expect(owned.buffer).toBe(bytes.buffer);

    // The same file inside a bigger buffer (as Node's pooled Buffers hold small files).
    const pool = new Uint8Array(bytes.length + 16);
    pool.set(bytes, 8);
    const windowed = readSafetensors(pool.subarray(8, 8 + bytes.length), 'pooled.safetensors').tensors.get('w')!.data;
    pool.fill(0);
    expect([...windowed]).toEqual([1, 2]);
  });

  it('decodes F16 bit patterns: zeros, subnormals, normals, infinities and NaN, also at an odd offset', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x8000, -0], [0x0001, 2 ** -24], [0x03ff, 1023 * 2 ** -24], [0x8001, -(2 ** -24)],
      [0x0400, 2 ** -14], [0x3c00, 1], [0xc000, -2], [0x3555, 0.333251953125], [0x7bff, 65504],
      [0x7c00, Infinity], [0xfc00, -Infinity], [0x7e00, NaN], [0x7c01, NaN], [0xfe00, NaN],
    ];
    // A one-byte U8 tensor first puts the F16 data at an odd address: the reader must copy to align.
    const halves = new Uint8Array(new Uint16Array(cases.map(([bits]) => bits)).buffer);
    const bytes = rawFile(
      { pad: { dtype: 'U8', shape: [1], data_offsets: [0, 1] }, h: { dtype: 'F16', shape: [cases.length], data_offsets: [1, 1 + halves.length] } },
      [7, ...halves],
    );
    const file = readSafetensors(bytes, 'half.safetensors');
    expect([...file.tensors.get('pad')!.data]).toEqual([7]);
    const data = file.tensors.get('h')!.data;
    expect(data).toBeInstanceOf(Float32Array);
    cases.forEach(([bits, value], i) => expect(Object.is(data[i], value), `0x${bits.toString(16)} → ${data[i]}, expected ${value}`).toBe(true));
  });

  it('decodes BF16 bit patterns: zeros, f32 subnormals, normals, infinities and NaN', () => {
    const cases: [number, number][] = [
      [0x0000, 0], [0x8000, -0], [0x0001, 2 ** -133], [0x007f, 127 * 2 ** -133], [0x0080, 2 ** -126],
      [0x3f80, 1], [0xbf80, -1], [0x4049, 3.140625], [0x7f7f, 3.3895313892515355e38],
      [0x7f80, Infinity], [0xff80, -Infinity], [0x7fc0, NaN], [0xffc1, NaN],
    ];
    const halves = new Uint8Array(new Uint16Array(cases.map(([bits]) => bits)).buffer);
    const bytes = rawFile({ b: { dtype: 'BF16', shape: [cases.length], data_offsets: [0, halves.length] } }, halves);
    const data = readSafetensors(bytes, 'bf16.safetensors').tensors.get('b')!.data;
    cases.forEach(([bits, value], i) => expect(Object.is(data[i], value), `0x${bits.toString(16)} → ${data[i]}, expected ${value}`).toBe(true));
  });

  it('decodes integer dtypes (position ids, masks) to Float64Array', () => {
    const parts: [string, ArrayBufferView, number[]][] = [
      ['I64', new BigInt64Array([-5n, 2n ** 40n]), [-5, 2 ** 40]],
      ['U64', new BigUint64Array([0n, 2n ** 52n]), [0, 2 ** 52]],
      ['I32', new Int32Array([-(2 ** 31), 7]), [-(2 ** 31), 7]],
      ['U32', new Uint32Array([2 ** 32 - 1]), [2 ** 32 - 1]],
      ['I16', new Int16Array([-32768, 3]), [-32768, 3]],
      ['U16', new Uint16Array([65535]), [65535]],
      ['I8', new Int8Array([-128, 127]), [-128, 127]],
      ['U8', new Uint8Array([255, 0]), [255, 0]],
      ['BOOL', new Uint8Array([1, 0, 1]), [1, 0, 1]],
    ];
    const header: Record<string, object> = {};
    const data: number[] = [];
    for (const [dtype, array, values] of parts) {
      header[dtype] = { dtype, shape: [values.length], data_offsets: [data.length, data.length + array.byteLength] };
      data.push(...new Uint8Array(array.buffer));
    }
    const file = readSafetensors(rawFile(header, data), 'ints.safetensors');
    for (const [dtype, , values] of parts) {
      const t = file.tensors.get(dtype)!;
      expect(t.data, dtype).toBeInstanceOf(Float64Array);
      expect([...t.data], dtype).toEqual(values);
    }
  });

  it('lists tensors in the order of their bytes, whatever the header order', () => {
    const bytes = rawFile({ second: f32(4, 1), first: f32(0, 1) }, new Uint8Array(new Float32Array([1, 2]).buffer));
    expect([...readSafetensors(bytes, 'order.safetensors').tensors.keys()]).toEqual(['first', 'second']);
  });
});

describe('readSafetensors refuses hostile files', () => {
  const eight = new Uint8Array(8);
  it('shorter than the 8-byte length', () => {
    expectRefused(new Uint8Array(0), /0 bytes long/);
    expectRefused(new Uint8Array(5), /5 bytes long/);
  });
  it('with a header length beyond the file', () => expectRefused(rawFile('{}', [], 50), /claims 50 bytes but the file has only 2/));
  it('with an absurd header length', () => {
    expectRefused(rawFile('{}', [], 100_000_001), /100000001 bytes, more than/);
    expectRefused(rawFile('{}', [], 2 ** 40), /more than the 100000000/);
  });
  it('with a header that is not UTF-8', () => {
    const bytes = rawFile('{"a":1}');
    bytes[8 + 2] = 0xff; // the "a": a byte that never occurs in UTF-8
    expectRefused(bytes, /not valid UTF-8/);
  });
  it('with a header that does not start with {', () => {
    expectRefused(rawFile('[1, 2]'), /does not start with '\{'/);
    expectRefused(rawFile(' {}'), /does not start with '\{'/);
    expectRefused(rawFile('\uFEFF{}'), /does not start with '\{'/); // a byte-order mark
    expectRefused(rawFile(''), /does not start with '\{'/);
  });
  it('with a header that is not JSON', () => {
    expectRefused(rawFile('{"a": {"dtype": "F32",\n "shape": [1] "data_offsets": [0, 4]}}', eight.subarray(4)), /not valid JSON: expected ',' or '\}', found "\\"" at line 2, column 15/);
    expectRefused(rawFile('{"a": 1}}'), /not valid JSON: unexpected "\}" after the end of the JSON value at line 1, column 9/);
    expectRefused(rawFile('{' + '['.repeat(100_000)), /not valid JSON/);
  });
  it('with an unknown or unsupported dtype', () => {
    expectRefused(rawFile({ a: { dtype: 'F128', shape: [1], data_offsets: [0, 16] } }, new Uint8Array(16)), /"a" has an unknown dtype "F128"/);
    expectRefused(rawFile({ a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, [0]), /dtype F8_E4M3, which VectorFit Studio does not support/);
    expectRefused(rawFile({ a: { shape: [1], data_offsets: [0, 4] } }, eight.subarray(4)), /"a" has no dtype/);
  });
  it('with a tensor entry that is not an object', () => expectRefused(rawFile({ a: [0, 4] }, eight.subarray(4)), /"a" is not an object/));
  it('with a shape that is not a list of non-negative integers', () => {
    for (const shape of [3, [-1], [1.5], ['2'], null, [2 ** 60]]) {
      expectRefused(rawFile({ a: { dtype: 'F32', shape, data_offsets: [0, 4] } }, eight.subarray(4)), /shape .* is not a list of non-negative integers/);
    }
  });
  it('with data_offsets that are not [begin, end], begin ≤ end', () => {
    for (const offsets of [[4, 0], [0], [0, 4, 8], 'x', [-1, 3], [0, 4.5]]) {
      expectRefused(rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: offsets } }, eight.subarray(4)), /data_offsets .* is not \[begin, end\]/);
    }
  });
  it('with offsets outside the data', () => expectRefused(rawFile({ a: f32(0, 25) }, eight), /run past the 8 bytes of data/));
  it('with a byte range that does not match shape × dtype size', () => {
    expectRefused(rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, eight), /shape \[3\] of F32 needs 12 bytes but data_offsets \[0, 8\] hold 8/);
    expectRefused(rawFile({ a: { dtype: 'F64', shape: [], data_offsets: [0, 4] } }, eight.subarray(4)), /needs 8 bytes/);
  });
  it('with overlapping tensors', () => expectRefused(rawFile({ a: f32(0, 2), b: f32(4, 2) }, new Uint8Array(12)), /"a" and "b" overlap/));
  it('with holes in the data', () => {
    expectRefused(rawFile({ a: f32(0, 1), b: f32(8, 1) }, new Uint8Array(12)), /bytes 4–8 of the data belong to no tensor/);
    expectRefused(rawFile({ a: f32(4, 1) }, eight), /bytes 0–4 of the data belong to no tensor/);
    expectRefused(rawFile({ a: f32(0, 1) }, eight), /bytes 4–8 .*\(a hole at the end\)/);
    expectRefused(rawFile({}, [1]), /bytes 0–1 .*\(a hole at the end\)/);
  });
  it('with duplicate keys, which JSON.parse would silently resolve', () => {
    expectRefused(rawFile(`{"a":${JSON.stringify(f32(0, 1))},"a":${JSON.stringify(f32(4, 1))}}`, eight), /duplicate key "a" at line 1, column 55/);
    expectRefused(rawFile(`{"a":${JSON.stringify(f32(0, 1))},"\\u0061":${JSON.stringify(f32(4, 1))}}`, eight), /duplicate key "a"/);
    expectRefused(rawFile('{"a":{"dtype":"F32","dtype":"F64","shape":[1],"data_offsets":[0,4]}}', eight.subarray(4)), /duplicate key "dtype"/);
  });
  it('with __metadata__ that is not a map of strings', () => {
    expectRefused(rawFile({ __metadata__: { format: 1 } }), /"__metadata__" entry "format" is not a string/);
    expectRefused(rawFile({ __metadata__: 'pt' }), /"__metadata__" is not an object of strings/);
    expectRefused(rawFile({ __metadata__: ['pt'] }), /"__metadata__" is not an object of strings/);
  });
  it('but accepts an empty file and a null __metadata__, as the reference library does', () => {
    expect(readSafetensors(rawFile('{}  '), 'empty.safetensors').tensors.size).toBe(0);
    expect(readSafetensors(rawFile({ __metadata__: null }), 'null.safetensors').metadata).toEqual({});
  });
});
