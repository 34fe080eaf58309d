// Zips as users drop them (a model folder, a dataset folder). fflate lists the entries first
// (central directory only), so OS junk, directories and — when safetensors are there — pickled
// checkpoints, which may be gigabytes of optimizer state, are never inflated. fflate checks no
// CRC, so every inflated entry's CRC-32 is compared with the one the zip records: a damaged
// download must not train on damaged weights or rows.

import { unzipSync, type UnzipFileInfo } from 'fflate';
import type { ModelFiles } from './types.ts';
import { ModelFolderError } from './model-folder.ts';

const JUNK = /(^|\/)(__MACOSX\/|\._|\.DS_Store$|Thumbs\.db$)/;
const NOT_SAFETENSORS_WEIGHTS = /\.(bin|pt|pth|ckpt|h5|msgpack|onnx|gguf)$/i;

export class ZipError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'ZipError';
  }
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (IEEE 802.3, as zip uses it). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Each entry's recorded CRC-32, read from the central directory (zip64 included). */
function centralCrcs(data: Uint8Array): Map<string, number> {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let end = -1;
  for (let i = data.length - 22; i >= Math.max(0, data.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('no end of central directory');
  let offset = view.getUint32(end + 16, true);
  if (offset === 0xffffffff && end >= 20 && view.getUint32(end - 20, true) === 0x07064b50) {
    offset = Number(view.getBigUint64(Number(view.getBigUint64(end - 12, true)) + 48, true));
  }
  const decoder = new TextDecoder();
  const crcs = new Map<string, number>();
  while (offset + 46 <= data.length && view.getUint32(offset, true) === 0x02014b50) {
    const nameLength = view.getUint16(offset + 28, true);
    const name = decoder.decode(data.subarray(offset + 46, offset + 46 + nameLength));
    crcs.set(name, view.getUint32(offset + 16, true));
    offset += 46 + nameLength + view.getUint16(offset + 30, true) + view.getUint16(offset + 32, true);
  }
  return crcs;
}

/**
 * The zip's files (directories and OS junk left out) that `keep` accepts, each checked against
 * its recorded size and CRC-32; throws ZipError naming `fileName` (and the entry) when the zip is
 * damaged. `keep` sees every file entry, so it can decide by what else the zip holds.
 */
export function unzipEntries(bytes: ArrayBuffer, fileName: string, keep: (files: UnzipFileInfo[]) => (info: UnzipFileInfo) => boolean = () => () => true): Record<string, Uint8Array> {
  const data = new Uint8Array(bytes);
  const corrupt = (error: unknown): never => {
    const detail = error instanceof Error ? error.message : String(error);
    throw new ZipError(`${fileName} is not a readable zip file (${detail}); it may be damaged or truncated.`, fileName);
  };
  const entries: UnzipFileInfo[] = [];
  let crcs = new Map<string, number>();
  try {
    unzipSync(data, {
      filter: (info) => {
        entries.push(info);
        return false;
      },
    });
    crcs = centralCrcs(data);
  } catch (error) {
    corrupt(error);
  }
  const files = entries.filter((info) => !info.name.endsWith('/') && !JUNK.test(info.name));
  const accepts = keep(files);
  const wanted = new Map(files.filter(accepts).map((info) => [info.name, info]));
  if (wanted.size === 0) throw new ZipError(`${fileName} contains no files.`, fileName);
  let unzipped: Record<string, Uint8Array> = {};
  try {
    unzipped = unzipSync(data, { filter: (info) => wanted.has(info.name) });
  } catch (error) {
    corrupt(error);
  }
  for (const [name, content] of Object.entries(unzipped)) {
    // fflate cuts a stored entry short at the end of the data without a word.
    if (content.length !== wanted.get(name)!.originalSize) corrupt(new Error(`${name} is ${content.length} bytes, the zip says ${wanted.get(name)!.originalSize}`));
    const recorded = crcs.get(name);
    if (recorded === undefined) corrupt(new Error(`${name} is missing from the central directory`));
    const actual = crc32(content);
    if (actual !== recorded) {
      corrupt(new Error(`${name} has CRC-32 ${hex(actual)}, the zip records ${hex(recorded!)}: its bytes were damaged`));
    }
  }
  return unzipped;
}

const hex = (n: number) => n.toString(16).padStart(8, '0');

/** An entry's bytes as an ArrayBuffer of its own (no copy when it already is one). */
export function ownBuffer(content: Uint8Array): ArrayBuffer {
  const whole = content.byteOffset === 0 && content.byteLength === content.buffer.byteLength;
  return (whole ? content.buffer : content.slice().buffer) as ArrayBuffer;
}

/** Unzips a dropped model folder; throws ModelFolderError naming `fileName` when the zip is corrupt. */
export function unzipModel(bytes: ArrayBuffer, fileName: string): ModelFiles {
  let unzipped: Record<string, Uint8Array>;
  try {
    unzipped = unzipEntries(bytes, fileName, (files) => {
      // Without safetensors the other weights are kept (unread later), so the folder reader can
      // say what they are and how to convert them.
      const hasSafetensors = files.some((info) => info.name.endsWith('.safetensors'));
      return (info) => !(hasSafetensors && NOT_SAFETENSORS_WEIGHTS.test(info.name));
    });
  } catch (error) {
    if (error instanceof ZipError) throw new ModelFolderError(error.message, fileName);
    throw error;
  }
  const out: Record<string, ArrayBuffer> = {};
  for (const [name, content] of Object.entries(unzipped)) out[name] = ownBuffer(content);
  return { name: fileName.replace(/\.zip$/i, ''), files: out };
}
