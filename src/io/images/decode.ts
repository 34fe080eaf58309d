// The one image-decoding interface the datasets and the playground use. Node (CLI, tests) and the
// browser (studio) decode differently (decode-node.ts: pure-JS PNG/JPEG decoders; decode-browser.ts:
// createImageBitmap), and the caller picks one. Both accept exactly PNG and JPEG, told apart by
// their signature bytes, so a dataset reads the same in the CLI and the studio.

import type { PixelsU8 } from './resize.ts';

/** Decoded pixels: `channels` is 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA), interleaved. */
export type DecodedImage = PixelsU8;

/** Decodes the bytes of the file at `path` (named in errors); throws ImageDecodeError. */
export type ImageDecoder = (bytes: Uint8Array, path: string) => Promise<DecodedImage>;

export class ImageDecodeError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ImageDecodeError';
  }
}

export type ImageFormat = 'png' | 'jpeg';

const SIGNATURES: [string, number[]][] = [
  ['GIF', [0x47, 0x49, 0x46, 0x38]],
  ['BMP', [0x42, 0x4d]],
  ['TIFF', [0x49, 0x49, 0x2a, 0x00]],
  ['TIFF', [0x4d, 0x4d, 0x00, 0x2a]],
];

const startsWith = (bytes: Uint8Array, prefix: number[]) => prefix.every((b, i) => bytes[i] === b);

/** PNG or JPEG by signature; anything else is an ImageDecodeError saying what it looks like. */
export function sniffImageFormat(bytes: Uint8Array, path: string): ImageFormat {
  if (bytes.length === 0) throw new ImageDecodeError(path, 'the file is empty');
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  const riff = startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && String.fromCharCode(...bytes.subarray(8, 12)) === 'WEBP';
  const known = riff ? 'WebP' : SIGNATURES.find(([, sig]) => startsWith(bytes, sig))?.[0];
  throw new ImageDecodeError(path, `${known ? `a ${known} image` : 'not an image this studio reads'}: only PNG and JPEG are supported`);
}

/** Largest image accepted (pixels): a decoded 8k × 8k RGBA image is 256 MiB. */
export const MAX_PIXELS = 8192 * 8192;

export function checkDimensions(width: number, height: number, path: string): void {
  if (!(width > 0 && height > 0)) throw new ImageDecodeError(path, `the image has no pixels (${width}×${height})`);
  if (width * height > MAX_PIXELS) throw new ImageDecodeError(path, `the image is ${width}×${height}, larger than the ${MAX_PIXELS / 2 ** 20} Mpx this studio decodes`);
}

/**
 * The file without its EXIF metadata (JPEG APP1 "Exif" segments, PNG eXIf chunks). Browsers turn
 * images by the EXIF orientation; PIL, and so transformers, do not: a phone photo must reach the
 * model as stored, in the studio as in the CLI.
 */
export function withoutExif(bytes: Uint8Array, format: ImageFormat): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: [number, number][] = [];
  let at: number;
  if (format === 'jpeg') {
    // Marker segments up to the start of scan: FF xx, then a big-endian length that counts itself.
    at = 2;
    keep.push([0, 2]);
    while (at + 4 <= bytes.length && bytes[at] === 0xff && bytes[at + 1] !== 0xda) {
      const end = at + 2 + view.getUint16(at + 2);
      const exif = bytes[at + 1] === 0xe1 && String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'Exif';
      if (!exif) keep.push([at, end]);
      at = Math.min(end, bytes.length);
    }
  } else {
    // Chunks: length, type, data, CRC; each stands alone.
    at = 8;
    keep.push([0, 8]);
    while (at + 12 <= bytes.length) {
      const end = at + 12 + view.getUint32(at);
      if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) !== 'eXIf') keep.push([at, Math.min(end, bytes.length)]);
      at = Math.min(end, bytes.length);
    }
  }
  keep.push([at, bytes.length]);
  const length = keep.reduce((n, [a, b]) => n + b - a, 0);
  if (length === bytes.length) return bytes;
  const out = new Uint8Array(length);
  let o = 0;
  for (const [a, b] of keep) {
    out.set(bytes.subarray(a, b), o);
    o += b - a;
  }
  return out;
}
