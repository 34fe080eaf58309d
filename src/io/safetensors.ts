// safetensors: u64 LE header length N, N bytes of UTF-8 JSON (name → {dtype, shape, data_offsets},
// plus an optional "__metadata__" string map), then the tensor bytes, little-endian, row-major.
// The reader validates a file the way the reference library (huggingface/safetensors) does, and
// a little more (duplicate keys), because every file here comes from a user and may lie.

import { JsonSyntaxError, parseJson } from './strict-json.ts';

/** Bytes per element of every dtype the reader decodes. */
const DTYPE_SIZE: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, U64: 8, I32: 4, U32: 4, I16: 2, U16: 2, I8: 1, U8: 1, BOOL: 1,
};
/** Dtypes the reference library knows that the studio cannot use. */
const UNSUPPORTED_DTYPES = ['F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64'];
/** The reference library refuses larger headers. */
const MAX_HEADER_BYTES = 100_000_000;

export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'SafetensorsError';
  }
}

export interface TensorEntry {
  dtype: string;
  shape: number[];
  /** F32/F16/BF16 as Float32Array; F64 and the integer dtypes (position ids, masks) as Float64Array. */
  data: Float32Array<ArrayBuffer> | Float64Array<ArrayBuffer>;
}

export interface SafetensorsFile {
  metadata: Record<string, string>;
  /** In the order of the tensors' bytes in the file. */
  tensors: Map<string, TensorEntry>;
}

export interface TensorHeader {
  dtype: string;
  shape: number[];
  /** [begin, end) in bytes, relative to the data buffer that follows the header. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** In the order of the tensors' bytes in the file. */
  tensors: Map<string, TensorHeader>;
  /** Where the data buffer starts in the file: 8 + header length. */
  dataStart: number;
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function asBytes(bytes: ArrayBuffer | Uint8Array): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

/** Validates the whole file's structure (header, offsets, coverage of the data) without decoding. */
export function readSafetensorsHeader(bytes: ArrayBuffer | Uint8Array, fileName: string): SafetensorsHeader {
  const u8 = asBytes(bytes);
  const fail = (problem: string): never => {
    throw new SafetensorsError(fileName, problem);
  };
  if (u8.length < 8) fail(`the file is ${u8.length} bytes long, shorter than the 8-byte header length`);
  const lengthView = new DataView(u8.buffer, u8.byteOffset, 8);
  const headerLength = lengthView.getUint32(0, true) + lengthView.getUint32(4, true) * 2 ** 32;
  if (headerLength > MAX_HEADER_BYTES) fail(`the header claims ${headerLength} bytes, more than the ${MAX_HEADER_BYTES} a safetensors header may have: not a safetensors file, or a damaged one`);
  const dataStart = 8 + headerLength;
  if (dataStart > u8.length) fail(`the header claims ${headerLength} bytes but the file has only ${u8.length - 8} after the length: the file is truncated or not safetensors`);

  let text: string;
  try {
    // ignoreBOM keeps a byte-order mark in the text, so it fails the '{' check as in the reference library.
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(u8.subarray(8, dataStart));
  } catch {
    return fail('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail(`the header does not start with '{' (not a safetensors file?)`);
  let json: Record<string, unknown>;
  try {
    json = parseJson(text, { rejectDuplicateKeys: true }) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof JsonSyntaxError) return fail(`the header is not valid JSON: ${error.message}`);
    throw error;
  }

  const metadata: Record<string, string> = {};
  const rawMetadata = json.__metadata__;
  // The reference library reads a null __metadata__ as absent.
  if (rawMetadata !== undefined && rawMetadata !== null) {
    if (typeof rawMetadata !== 'object' || Array.isArray(rawMetadata)) fail('"__metadata__" is not an object of strings');
    for (const [key, value] of Object.entries(rawMetadata as Record<string, unknown>)) {
      if (typeof value !== 'string') fail(`"__metadata__" entry ${JSON.stringify(key)} is not a string`);
      metadata[key] = value as string;
    }
  }

  const dataLength = u8.length - dataStart;
  const entries: [string, TensorHeader][] = [];
  for (const [name, info] of Object.entries(json)) {
    if (name === '__metadata__') continue;
    const tensor = `tensor ${JSON.stringify(name)}`;
    if (typeof info !== 'object' || info === null || Array.isArray(info)) fail(`${tensor} is not an object with dtype, shape and data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`${tensor} has no dtype string`);
    const size = DTYPE_SIZE[dtype as string];
    if (size === undefined) {
      fail(UNSUPPORTED_DTYPES.includes(dtype as string)
        ? `${tensor} has dtype ${dtype}, which VectorFit Studio does not support (use F32, F16, BF16 or F64)`
        : `${tensor} has an unknown dtype ${JSON.stringify(dtype)}`);
    }
    if (!Array.isArray(shape) || !shape.every(isSize)) fail(`${tensor}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize) || offsets[0] > offsets[1]) {
      fail(`${tensor}: data_offsets ${JSON.stringify(offsets)} is not [begin, end] with 0 ≤ begin ≤ end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) fail(`${tensor}: data_offsets [${begin}, ${end}] run past the ${dataLength} bytes of data (truncated file?)`);
    const numel = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== numel * size) {
      fail(`${tensor}: shape [${shape}] of ${dtype} needs ${numel * size} bytes but data_offsets [${begin}, ${end}] hold ${end - begin}`);
    }
    entries.push([name, { dtype: dtype as string, shape: [...(shape as number[])], dataOffsets: [begin, end] }]);
  }

  entries.sort(([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  let covered = 0;
  let previous = '';
  for (const [name, { dataOffsets: [begin, end] }] of entries) {
    if (begin < covered) fail(`tensors ${JSON.stringify(previous)} and ${JSON.stringify(name)} overlap in the data`);
    if (begin > covered) fail(`bytes ${covered}–${begin} of the data belong to no tensor (a hole)`);
    covered = end;
    previous = name;
  }
  if (covered !== dataLength) fail(`bytes ${covered}–${dataLength} of the data belong to no tensor (a hole at the end)`);
  return { metadata, tensors: new Map(entries), dataStart };
}

function isSize(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * Reads and decodes every tensor of a safetensors file, rejecting malformed files with a
 * SafetensorsError that names `fileName` and the problem.
 *
 * No copy where possible: aligned F32 and F64 tensors are views into the file's bytes, so they keep
 * them alive, and break if that buffer is later transferred or written. They alias `bytes` only
 * when it is an ArrayBuffer or a Uint8Array spanning its whole (unshared) buffer, i.e. the file's own
 * bytes as File.arrayBuffer() or readFileSync give them. A Uint8Array that is a window into a larger
 * buffer (Node's pooled Buffers, part of a bigger download) is copied once first, because the rest
 * of that buffer belongs to someone who may reuse it.
 */
export function readSafetensors(bytes: ArrayBuffer | Uint8Array, fileName: string): SafetensorsFile {
  const header = readSafetensorsHeader(bytes, fileName);
  if (!isLittleEndian) throw new SafetensorsError(fileName, 'big-endian machines are not supported');
  const given = asBytes(bytes);
  const shared = typeof SharedArrayBuffer !== 'undefined' && given.buffer instanceof SharedArrayBuffer;
  const whole = given.byteOffset === 0 && given.byteLength === given.buffer.byteLength;
  const own = (whole && !shared ? given : given.slice()) as Uint8Array<ArrayBuffer>;
  const tensors = new Map<string, TensorEntry>();
  for (const [name, { dtype, shape, dataOffsets: [begin, end] }] of header.tensors) {
    tensors.set(name, { dtype, shape, data: decode(dtype, own.subarray(header.dataStart + begin, header.dataStart + end)) });
  }
  return { metadata: header.metadata, tensors };
}

type ViewConstructor<T> = { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number };

/** A typed view of `raw`: in place when aligned, else over a copy. */
function viewOf<T>(Type: ViewConstructor<T>, raw: Uint8Array<ArrayBuffer>): T {
  const length = raw.byteLength / Type.BYTES_PER_ELEMENT;
  if (raw.byteOffset % Type.BYTES_PER_ELEMENT === 0) return new Type(raw.buffer, raw.byteOffset, length);
  return new Type(raw.slice().buffer, 0, length);
}

function decode(dtype: string, raw: Uint8Array<ArrayBuffer>): Float32Array<ArrayBuffer> | Float64Array<ArrayBuffer> {
  switch (dtype) {
    case 'F32':
      return viewOf(Float32Array, raw);
    case 'F64':
      return viewOf(Float64Array, raw);
    case 'F16': {
      const table = halfTable();
      const half = viewOf(Uint16Array, raw);
      const out = new Float32Array(half.length);
      for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32.
      const half = viewOf(Uint16Array, raw);
      const out = new Float32Array(half.length);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
      return out;
    }
    case 'I64':
      return Float64Array.from(viewOf(BigInt64Array, raw), Number);
    case 'U64':
      return Float64Array.from(viewOf(BigUint64Array, raw), Number);
    case 'I32':
      return Float64Array.from(viewOf(Int32Array, raw));
    case 'U32':
      return Float64Array.from(viewOf(Uint32Array, raw));
    case 'I16':
      return Float64Array.from(viewOf(Int16Array, raw));
    case 'U16':
      return Float64Array.from(viewOf(Uint16Array, raw));
    case 'I8':
      return Float64Array.from(viewOf(Int8Array, raw));
    default: // U8, BOOL: readSafetensorsHeader admitted no other dtype.
      return Float64Array.from(raw);
  }
}

let halfToFloat: Float32Array | undefined;

/** Every IEEE binary16 bit pattern as an f32 (256 KiB, built on first use). */
function halfTable(): Float32Array {
  if (halfToFloat) return halfToFloat;
  halfToFloat = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) halfToFloat[h] = sign * mantissa * 2 ** -24; // zero and subnormals
    else if (exponent === 31) halfToFloat[h] = mantissa ? NaN : sign * Infinity;
    else halfToFloat[h] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  return halfToFloat;
}

export interface TensorToWrite {
  name: string;
  dtype: 'F32' | 'F64';
  shape: number[];
  data: ArrayLike<number>;
}

/**
 * Serialises tensors as the reference library does, byte for byte: tensors sorted by descending
 * dtype alignment (F64 before F32) then by name (UTF-8 byte order), offsets contiguous,
 * "__metadata__" first, and the header padded with spaces to a multiple of 8 bytes so every
 * tensor starts aligned. Metadata keys, a hash map there, are sorted here for reproducible files.
 */
export function writeSafetensors(tensors: TensorToWrite[], metadata?: Record<string, string>): Uint8Array<ArrayBuffer> {
  const names = new Set<string>();
  for (const { name, shape, data } of tensors) {
    if (name === '__metadata__') throw new Error('writeSafetensors: "__metadata__" cannot name a tensor');
    if (names.has(name)) throw new Error(`writeSafetensors: tensor ${JSON.stringify(name)} is given twice`);
    names.add(name);
    if (!shape.every(isSize)) throw new Error(`writeSafetensors: tensor ${JSON.stringify(name)} has shape [${shape}]`);
    const numel = shape.reduce((a, b) => a * b, 1);
    if (data.length !== numel) throw new Error(`writeSafetensors: tensor ${JSON.stringify(name)} has ${data.length} values for shape [${shape}]`);
  }
  const ordered = [...tensors].sort((a, b) => (a.dtype === b.dtype ? compareUtf8(a.name, b.name) : a.dtype === 'F64' ? -1 : 1));

  // Built by hand: JSON.stringify of an object would move integer-like keys ("0", "12") first.
  const members: string[] = [];
  if (metadata) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    members.push(`"__metadata__":{${keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`).join(',')}}`);
  }
  let offset = 0;
  const placed = ordered.map((tensor) => {
    const begin = offset;
    offset += tensor.data.length * DTYPE_SIZE[tensor.dtype];
    members.push(`${JSON.stringify(tensor.name)}:{"dtype":"${tensor.dtype}","shape":[${tensor.shape.join(',')}],"data_offsets":[${begin},${offset}]}`);
    return { tensor, begin };
  });
  const json = new TextEncoder().encode(`{${members.join(',')}}`);
  const headerLength = Math.ceil(json.length / 8) * 8;
  const dataStart = 8 + headerLength;

  const out = new Uint8Array(dataStart + offset);
  const lengthView = new DataView(out.buffer);
  lengthView.setUint32(0, headerLength % 2 ** 32, true);
  lengthView.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, dataStart);
  if (!isLittleEndian) throw new Error('writeSafetensors: big-endian machines are not supported');
  for (const { tensor, begin } of placed) {
    const Type = tensor.dtype === 'F64' ? Float64Array : Float32Array;
    new Type(out.buffer, dataStart + begin, tensor.data.length).set(tensor.data);
  }
  return out;
}

/** Orders strings by code point, which is UTF-8 byte order (Rust's str ordering); JS's `<` compares
 * UTF-16 units and differs for characters beyond U+FFFF. */
function compareUtf8(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return (x.done ? 0 : 1) - (y.done ? 0 : 1);
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return d;
  }
}
