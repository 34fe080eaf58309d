import { readdirSync, readFileSync } from 'node:fs';
import { zipSync, type Zippable } from 'fflate';
import { describe, expect, it } from 'vitest';
import { ModelFolderError, readModelFolder } from './model-folder.ts';
import { writeSafetensors } from './safetensors.ts';
import { crc32, unzipEntries, unzipModel, ZipError } from './zip.ts';

const BERT = new URL('../../../shared/fixtures/hf-tiny/bert/', import.meta.url);
const text = (s: string) => new TextEncoder().encode(s);
const weights = writeSafetensors([{ name: 'a', dtype: 'F32', shape: [3], data: [1, 2, 3] }]);

function zip(entries: Zippable, level: 0 | 6 = 6): ArrayBuffer {
  return zipSync(entries, { level }).buffer as ArrayBuffer;
}

function expectCorrupt(bytes: ArrayBuffer, message: RegExp): void {
  let error: unknown;
  try {
    unzipModel(bytes, 'model.zip');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ModelFolderError);
  expect((error as Error).message).toMatch(message);
  expect((error as ModelFolderError).file).toBe('model.zip');
}

/** Byte offset of the first central directory header (signature PK\1\2). */
function centralHeader(bytes: Uint8Array): number {
  for (let i = bytes.length - 46; i >= 0; i--) if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 1 && bytes[i + 3] === 2 && bytes[i - 1] !== 0x4b) return i;
  throw new Error('no central directory');
}

describe('unzipModel', () => {
  it.each([0, 6] as const)('gives back a zipped folder that reads like the folder itself (level %i)', (level) => {
    const folder: Record<string, Uint8Array> = {};
    for (const name of readdirSync(BERT)) folder[name] = new Uint8Array(readFileSync(new URL(name, BERT)));
    const bytes = zip({ 'bert-tiny/': {}, 'bert-tiny': folder, '__MACOSX/bert-tiny/._config.json': text('junk'), 'bert-tiny/.DS_Store': text('junk') }, level);
    const model = unzipModel(bytes, 'bert-tiny.zip');
    expect(model.name).toBe('bert-tiny');
    expect(Object.keys(model.files).sort()).toEqual(Object.keys(folder).map((name) => `bert-tiny/${name}`).sort());
    for (const [name, content] of Object.entries(folder)) expect(new Uint8Array(model.files[`bert-tiny/${name}`]), name).toEqual(content);
    const read = readModelFolder(model);
    expect(read.tensors.size).toBe(41);
    expect(read.config.model_type).toBe('bert');
  });

  it('does not inflate pickles when safetensors are there, but keeps them when they are the only weights', () => {
    const config = text('{"model_type": "bert"}');
    const both = unzipModel(zip({ m: { 'config.json': config, 'model.safetensors': weights, 'pytorch_model.bin': text('pickle'), 'optimizer.pt': text('pickle') } }), 'm.zip');
    expect(Object.keys(both.files).sort()).toEqual(['m/config.json', 'm/model.safetensors']);
    const only = unzipModel(zip({ m: { 'config.json': config, 'pytorch_model.bin': text('pickle') } }), 'm.zip');
    expect(() => readModelFolder(only)).toThrow(/m\/pytorch_model\.bin is a pickled PyTorch checkpoint/);
  });

  it('refuses a file that is not a zip', () => expectCorrupt(text('PK but not really a zip, just text').buffer as ArrayBuffer, /^model\.zip is not a readable zip file \(invalid zip data\)/));

  it('refuses a truncated zip', () => {
    const bytes = new Uint8Array(zip({ 'config.json': text('{}'), 'model.safetensors': weights }));
    expectCorrupt(bytes.slice(0, bytes.length - 30).buffer, /^model\.zip is not a readable zip file .*damaged or truncated/);
  });

  it('refuses damaged compressed data', () => {
    const content = text('{"model_type": "bert", "padding": "' + 'x'.repeat(500) + '"}');
    const bytes = new Uint8Array(zip({ 'config.json': content }));
    // The local header is 30 bytes + the name; the deflate stream follows. 0xff starts a block of the reserved type 3.
    bytes.fill(0xff, 30 + 'config.json'.length, 30 + 'config.json'.length + 4);
    expectCorrupt(bytes.buffer, /^model\.zip is not a readable zip file \(invalid block type\)/);
  });

  it.each([0, 6] as const)('refuses an entry shorter than the zip says (level %i), which fflate lets through', (level) => {
    const bytes = new Uint8Array(zip({ 'config.json': text('{"model_type": "bert"}') }, level));
    const sizeField = centralHeader(bytes) + 24; // uncompressed size in the central directory
    const view = new DataView(bytes.buffer);
    view.setUint32(sizeField, view.getUint32(sizeField, true) + 1, true);
    expectCorrupt(bytes.buffer, /config\.json is 22 bytes, the zip says 23/);
  });

  it('refuses a zip with no files', () => {
    expectCorrupt(zip({}), /^model\.zip contains no files/);
    expectCorrupt(zip({ 'folder/': {}, '__MACOSX/._x': text('junk') }), /^model\.zip contains no files/);
  });
});

describe('zip CRC-32', () => {
  it('computes the standard CRC-32 and matches what fflate records for every entry', () => {
    expect(crc32(text('123456789'))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it.each([0, 6] as const)('refuses a model zip with one byte flipped inside model.safetensors, naming the entry (level %i)', (level) => {
    const safetensors = new Uint8Array(readFileSync(new URL('model.safetensors', BERT)));
    const bytes = new Uint8Array(zip({ 'config.json': text('{"model_type": "bert"}'), 'model.safetensors': safetensors }, level));
    // Flip a byte of the stored weights (level 0 keeps them verbatim); for deflate, a literal inside the stream.
    const at = level === 0 ? indexOf(bytes, safetensors.subarray(4000, 4016)) + 8 : centralHeader(bytes) - 200;
    bytes[at] ^= 0x01;
    let error: unknown;
    try {
      unzipModel(bytes.buffer, 'model.zip');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelFolderError);
    // A flipped deflate bit may also break the stream itself; either way the zip is refused.
    expect((error as Error).message).toMatch(level === 0 ? /^model\.zip is not a readable zip file \(model\.safetensors has CRC-32 [0-9a-f]{8}, the zip records [0-9a-f]{8}: its bytes were damaged\)/ : /^model\.zip is not a readable zip file/);
  });

  it('unzipEntries keeps only what the filter accepts and checks each', () => {
    const bytes = zip({ d: { 'train.csv': text('text,label\na,1\n'), 'notes.md': text('hi') } });
    expect(Object.keys(unzipEntries(bytes, 'd.zip', () => (info) => info.name.endsWith('.csv')))).toEqual(['d/train.csv']);
    const damaged = new Uint8Array(zip({ 'train.csv': text('text,label\nsome row here,1\n') }, 0));
    damaged[indexOf(damaged, text('some row'))] ^= 0x20;
    expect(() => unzipEntries(damaged.buffer, 'd.zip')).toThrow(ZipError);
    expect(() => unzipEntries(damaged.buffer, 'd.zip')).toThrow(/d\.zip .*train\.csv has CRC-32/);
  });
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error('not found');
}
