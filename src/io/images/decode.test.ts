// The format sniffing and EXIF stripping shared by both decoders.

import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { sniffImageFormat, withoutExif } from './decode.ts';

const exifApp1 = [0xff, 0xe1, 0, 34, ...Array.from('Exif\0\0MM', (ch) => ch.charCodeAt(0)), 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0];

describe('withoutExif', () => {
  it('cuts the APP1 Exif segment of a JPEG and keeps every other byte', () => {
    const plain = jpeg.encode({ width: 4, height: 4, data: new Uint8Array(64).fill(128) }, 90).data;
    const tagged = Uint8Array.from([...plain.subarray(0, 2), ...exifApp1, ...plain.subarray(2)]);
    expect(withoutExif(tagged, 'jpeg')).toEqual(Uint8Array.from(plain));
    expect(withoutExif(plain, 'jpeg')).toBe(plain);
  });

  it('cuts an eXIf chunk from a PNG', () => {
    const plain = new Uint8Array(PNG.sync.write(new PNG({ width: 2, height: 2 })));
    // eXIf chunk with a 4-byte body and a (here unchecked) CRC, right after IHDR (8 + 25 bytes).
    const chunk = [0, 0, 0, 4, ...Array.from('eXIf', (ch) => ch.charCodeAt(0)), 1, 2, 3, 4, 9, 9, 9, 9];
    const tagged = Uint8Array.from([...plain.subarray(0, 33), ...chunk, ...plain.subarray(33)]);
    expect(withoutExif(tagged, 'png')).toEqual(plain);
  });
});

describe('sniffImageFormat', () => {
  it('tells PNG and JPEG by signature, not by name, and names WebP', () => {
    expect(sniffImageFormat(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]), 'photo.png')).toBe('jpeg');
    const webp = Uint8Array.from([...'RIFF'].map((c) => c.charCodeAt(0)).concat([0, 0, 0, 0], [...'WEBP'].map((c) => c.charCodeAt(0))));
    expect(() => sniffImageFormat(webp, 'a/b.webp')).toThrow('a/b.webp: a WebP image: only PNG and JPEG are supported');
  });
});
