// Image decoding in Node (CLI, tests): pngjs and jpeg-js, pure JS. Samples come out as Pillow
// stores them, so preprocessing matches transformers fed by PIL: palette images expand to their
// colours (alpha kept when the palette has it), 1/2/4-bit gray scales to 0–255 (v·255/max,
// exact for these depths), 16-bit samples keep their high byte (PIL's RGB/RGBA reading; PIL's
// 16-bit grayscale mode "I;16" clips instead), and a tRNS colour key is ignored because PIL's
// convert('RGB') keeps such pixels' colour (pngjs would zero them).

import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { checkDimensions, ImageDecodeError, sniffImageFormat, type DecodedImage, type ImageDecoder } from './decode.ts';

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export const decodeImageNode: ImageDecoder = async (bytes, path) => {
  const format = sniffImageFormat(bytes, path);
  return format === 'png' ? decodePng(bytes, path) : decodeJpeg(bytes, path);
};

/** IHDR: width, height, bit depth, colour type (the first chunk, at a fixed offset). */
function readIhdr(bytes: Uint8Array, path: string) {
  if (bytes.length < 33 || String.fromCharCode(...bytes.subarray(12, 16)) !== 'IHDR') throw new ImageDecodeError(path, 'a damaged PNG: no IHDR header');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20), depth: bytes[24], colorType: bytes[25] };
}

/** The PNG without its tRNS chunk (chunks are independent: each has its own CRC). */
function withoutTrns(bytes: Uint8Array): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let at = 8;
  let dropped = false;
  while (at + 12 <= bytes.length) {
    const end = at + 12 + view.getUint32(at);
    if (end > bytes.length) break;
    if (String.fromCharCode(...bytes.subarray(at + 4, at + 8)) === 'tRNS') dropped = true;
    else keep.push(bytes.subarray(at, end));
    at = end;
  }
  if (!dropped) return bytes;
  keep.push(bytes.subarray(at));
  const out = new Uint8Array(keep.reduce((n, part) => n + part.length, 0));
  let o = 0;
  for (const part of keep) {
    out.set(part, o);
    o += part.length;
  }
  return out;
}

function decodePng(bytes: Uint8Array, path: string): DecodedImage {
  const { width, height, depth, colorType } = readIhdr(bytes, path);
  checkDimensions(width, height, path);
  const colourKeyed = colorType === 0 || colorType === 2;
  let png: { width: number; height: number; data: ArrayLike<number>; palette?: unknown; alpha?: boolean };
  try {
    png = PNG.sync.read(Buffer.from(colourKeyed ? withoutTrns(bytes) : bytes), { skipRescale: depth === 16 }) as unknown as typeof png;
  } catch (error) {
    throw new ImageDecodeError(path, `a damaged PNG (${message(error)})`);
  }
  // pngjs always returns RGBA; keep the channels the file has.
  const channels = colorType === 0 ? 1 : colorType === 4 ? 2 : colorType === 2 ? 3 : colorType === 6 ? 4 : png.alpha ? 4 : 3;
  const shift = depth === 16 ? 8 : 0;
  const pick = channels === 1 ? [0] : channels === 2 ? [0, 3] : channels === 3 ? [0, 1, 2] : [0, 1, 2, 3];
  const data = new Uint8Array(width * height * channels);
  for (let p = 0; p < width * height; p++) {
    for (let k = 0; k < channels; k++) data[p * channels + k] = png.data[p * 4 + pick[k]] >> shift;
  }
  return { width, height, channels, data };
}

function decodeJpeg(bytes: Uint8Array, path: string): DecodedImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
  } catch (error) {
    throw new ImageDecodeError(path, `a damaged JPEG (${message(error)})`);
  }
  const { width, height, data } = decoded;
  checkDimensions(width, height, path);
  const channels = data.length / (width * height);
  if (channels !== 1 && channels !== 3) throw new ImageDecodeError(path, `a JPEG with ${channels} colour components (CMYK?) is not supported`);
  return { width, height, channels, data };
}
