// Node decoding: every PNG colour type as Pillow reads it, JPEG, and bad files named by path.

import { deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImageNode } from './decode-node.ts';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set([...type].map((ch) => ch.charCodeAt(0)), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
/** A PNG written by hand (filter 0 on every row), so any colour type, depth and chunk can be made. */
function makePng(width: number, height: number, depth: number, colorType: number, rows: number[][], extra: [string, number[]][] = []): Uint8Array {
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([depth, colorType, 0, 0, 0], 8);
  const raw = Uint8Array.from(rows.flatMap((row) => [0, ...row]));
  const parts = [
    Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra.map(([type, data]) => chunk(type, Uint8Array.from(data))),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array()),
  ];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}

describe('decodeImageNode: PNG', () => {
  it('reads 8-bit gray, gray + alpha, RGB and RGBA with the channels the file has', async () => {
    expect(await decodeImageNode(makePng(2, 1, 8, 0, [[10, 200]]), 'g.png')).toEqual({ width: 2, height: 1, channels: 1, data: Uint8Array.from([10, 200]) });
    expect((await decodeImageNode(makePng(1, 2, 8, 4, [[10, 99], [20, 0]]), 'ga.png')).data).toEqual(Uint8Array.from([10, 99, 20, 0]));
    expect(await decodeImageNode(makePng(1, 1, 8, 2, [[1, 2, 3]]), 'rgb.png')).toMatchObject({ channels: 3, data: Uint8Array.from([1, 2, 3]) });
    // A fully transparent pixel keeps its stored colour (PIL does not premultiply).
    expect(await decodeImageNode(makePng(1, 1, 8, 6, [[1, 2, 3, 0]]), 'rgba.png')).toMatchObject({ channels: 4, data: Uint8Array.from([1, 2, 3, 0]) });
  });

  it('expands a palette (with alpha when tRNS gives it) and scales low-depth gray as Pillow does', async () => {
    const palette: [string, number[]][] = [['PLTE', [255, 0, 0, 0, 0, 255]]];
    expect(await decodeImageNode(makePng(2, 1, 8, 3, [[1, 0]], palette), 'p.png')).toMatchObject({ channels: 3, data: Uint8Array.from([0, 0, 255, 255, 0, 0]) });
    const withAlpha = await decodeImageNode(makePng(2, 1, 8, 3, [[1, 0]], [...palette, ['tRNS', [128]]]), 'pa.png');
    expect(withAlpha).toMatchObject({ channels: 4, data: Uint8Array.from([0, 0, 255, 255, 255, 0, 0, 128]) });
    // 4-bit gray 0, 5, 15 → 0, 85, 255 (×17).
    expect((await decodeImageNode(makePng(3, 1, 4, 0, [[0x05, 0xf0]]), 'g4.png')).data).toEqual(Uint8Array.from([0, 85, 255]));
  });

  it('keeps the high byte of 16-bit samples and ignores a tRNS colour key', async () => {
    expect((await decodeImageNode(makePng(1, 1, 16, 2, [[0x12, 0xff, 0xab, 0x01, 0x00, 0x80]]), 'rgb16.png')).data).toEqual(Uint8Array.from([0x12, 0xab, 0x00]));
    // The key marks gray 7 transparent; convert('RGB') keeps 7 (pngjs alone would give 0).
    expect((await decodeImageNode(makePng(2, 1, 8, 0, [[7, 9]], [['tRNS', [0, 7]]]), 'key.png')).data).toEqual(Uint8Array.from([7, 9]));
  });

  it('names a truncated or damaged PNG', async () => {
    const png = makePng(4, 4, 8, 2, Array.from({ length: 4 }, () => Array(12).fill(90)));
    await expect(decodeImageNode(png.subarray(0, 20), 'cut.png')).rejects.toThrow(/^cut\.png: a damaged PNG/);
    const broken = png.slice();
    broken[broken.length - 20] ^= 0xff;
    await expect(decodeImageNode(broken, 'dir/bad.png')).rejects.toThrow(/^dir\/bad\.png: a damaged PNG/);
  });
});

describe('decodeImageNode: JPEG and other formats', () => {
  it('decodes an RGB JPEG', async () => {
    const rgba = new Uint8Array(8 * 8 * 4).map((_, k) => (k % 4 === 0 ? 200 : k % 4 === 1 ? 40 : k % 4 === 2 ? 90 : 255));
    const bytes = jpeg.encode({ width: 8, height: 8, data: rgba }, 95).data;
    const image = await decodeImageNode(bytes, 'a.jpg');
    expect([image.width, image.height, image.channels]).toEqual([8, 8, 3]);
    // Lossy, but a flat colour survives within a few levels.
    for (let k = 0; k < image.data.length; k++) expect(Math.abs(image.data[k] - [200, 40, 90][k % 3])).toBeLessThanOrEqual(3);
  });

  it('names a damaged JPEG, an unsupported format and an empty file', async () => {
    await expect(decodeImageNode(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]), 'x/broken.jpg')).rejects.toThrow(/^x\/broken\.jpg: a damaged JPEG/);
    await expect(decodeImageNode(new TextEncoder().encode('GIF89a....'), 'cat.gif')).rejects.toThrow('cat.gif: a GIF image: only PNG and JPEG are supported');
    await expect(decodeImageNode(new TextEncoder().encode('hello'), 'notes.png')).rejects.toThrow('notes.png: not an image this studio reads');
    await expect(decodeImageNode(new Uint8Array(), 'empty.png')).rejects.toThrow('empty.png: the file is empty');
  });
});
