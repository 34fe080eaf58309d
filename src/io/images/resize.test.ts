// The uint8 antialiased resize (torch's kernel) against its float64 reference, and the reference
// itself against values worked out by hand. Exactness against torch is checked on the fixture's
// real images in image-processor.test.ts; here the shapes transformers' fixture does not cover:
// bicubic, upscaling, non-square, one axis unchanged.

import { describe, expect, it } from 'vitest';
import { axisTapsInt16, resizeU8, type PixelsU8, type Resample } from './resize.ts';
import { REF_FILTERS, referenceWeights, resizeRef } from './resize.ref.ts';

/** A deterministic image with edges and gradients (an LCG, so no two tests share noise). */
function testImage(width: number, height: number, channels: number, seed: number): PixelsU8 {
  let s = seed >>> 0;
  const data = new Uint8Array(width * height * channels);
  for (let k = 0; k < data.length; k++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Half the pixels saturate (0 or 255) so bicubic overshoot and the clamps are exercised.
    const r = s >>> 24;
    data[k] = r < 64 ? 0 : r > 191 ? 255 : r;
  }
  return { width, height, channels, data };
}

describe('float64 reference (resize.ref.ts)', () => {
  it('has the textbook filter values', () => {
    expect(REF_FILTERS.bilinear(0.25)).toBe(0.75);
    expect(REF_FILTERS.bicubic(0)).toBe(1);
    expect(REF_FILTERS.bicubic(1)).toBe(0);
    expect(REF_FILTERS.bicubic(0.5)).toBe(0.5625);
    expect(REF_FILTERS.bicubic(1.5)).toBe(-0.0625);
    expect(REF_FILTERS.bicubic(2)).toBe(0);
  });

  it('halves with the stretched triangle [1, 3, 3, 1]/8, renormalised at the edge', () => {
    const w = referenceWeights(8, 4, 'bilinear');
    expect(Array.from(w[1])).toEqual([0, 1 / 8, 3 / 8, 3 / 8, 1 / 8, 0, 0, 0]);
    expect(Array.from(w[0]).map((v) => v * 7)).toEqual([3, 3, 1, 0, 0, 0, 0, 0].map((v) => expect.closeTo(v, 12)));
  });

  it("gives PIL's antialiased values that PyTorch's own tests hold (8×8 ramp → 2×2)", () => {
    // test_nn.py, test_upsamplingBi{Linear,Cubic}2d_aa_correctness: channel 0 of arange(3·8·8)
    // resized by PIL in float mode (resample LINEAR, BICUBIC), float32 values.
    const ramp = { width: 8, height: 8, channels: 1, data: Uint8Array.from({ length: 64 }, (_, k) => k) };
    const close = (values: number[]) => values.map((v) => expect.closeTo(v, 5));
    expect(Array.from(resizeRef(ramp, 2, 2, 'bilinear').data)).toEqual(close([17.035713, 20.25, 42.75, 45.964287]));
    expect(Array.from(resizeRef(ramp, 2, 2, 'bicubic').data)).toEqual(close([15.1205635, 18.760439, 44.23956, 47.879436]));
  });

  it('doubles [0, 100] to [0, 25, 75, 100] (bilinear keeps the edge pixels)', () => {
    const out = resizeRef({ width: 2, height: 1, channels: 1, data: new Uint8Array([0, 100]) }, 4, 1, 'bilinear');
    expect(Array.from(out.data)).toEqual([0, 25, 75, 100]);
  });
});

describe('resizeU8 (torch uint8 antialiased kernel)', () => {
  it('picks 15-bit weights for the fixture (20 → 16 bilinear) and keeps each output summing to one', () => {
    const taps = axisTapsInt16(20, 16, 'bilinear');
    expect(taps.precision).toBe(15);
    for (let i = 0; i < 16; i++) {
      const sum = taps.weights.slice(i * taps.taps, (i + 1) * taps.taps).reduce((a, b) => a + b, 0);
      expect(Math.abs(sum - 2 ** 15)).toBeLessThanOrEqual(taps.taps);
    }
  });

  it('doubles [0, 100] to exactly [0, 25, 75, 100]', () => {
    const out = resizeU8({ width: 2, height: 1, channels: 1, data: new Uint8Array([0, 100]) }, 4, 1, 'bilinear');
    expect(Array.from(out.data)).toEqual([0, 25, 75, 100]);
  });

  it('leaves a constant image constant and a same-size image unchanged', () => {
    const flat = { width: 13, height: 7, channels: 3, data: new Uint8Array(13 * 7 * 3).fill(173) };
    for (const resample of ['bilinear', 'bicubic'] as const) {
      expect(resizeU8(flat, 5, 11, resample).data.every((v) => v === 173)).toBe(true);
    }
    const img = testImage(9, 6, 3, 1);
    expect(resizeU8(img, 9, 6, 'bicubic').data).toEqual(img.data);
  });

  const cases: [string, number, number, number, number, number, Resample][] = [
    ['bilinear, non-square, shrink x and grow y', 23, 9, 7, 13, 3, 'bilinear'],
    ['bicubic, shrink both (the ViT case)', 40, 31, 16, 16, 3, 'bicubic'],
    ['bicubic, upscale 5×4 → 16×16', 5, 4, 16, 16, 3, 'bicubic'],
    ['bicubic, non-square, grow x and shrink y', 6, 29, 17, 8, 1, 'bicubic'],
    ['bilinear, upscale by a non-integer factor', 7, 3, 19, 10, 3, 'bilinear'],
    ['bicubic, only the width changes', 30, 5, 11, 5, 3, 'bicubic'],
  ];
  it.each(cases)('stays within 1.3 levels of the float64 reference: %s', (_, w, h, ow, oh, c, resample) => {
    const img = testImage(w, h, c, w * 31 + h);
    const got = resizeU8(img, ow, oh, resample);
    const ref = resizeRef(img, ow, oh, resample);
    expect([got.width, got.height, got.channels]).toEqual([ow, oh, c]);
    let worst = 0;
    let total = 0;
    for (let k = 0; k < got.data.length; k++) {
      const d = Math.abs(got.data[k] - ref.data[k]);
      worst = Math.max(worst, d);
      total += d;
    }
    // Rounding after the horizontal pass (≤ 0.5), carried through weights whose absolute sum is
    // ≤ 1.25 for the cubic, plus the final rounding (≤ 0.5) and the 15-bit weights (< 0.05).
    expect(worst).toBeLessThan(1.3);
    // Rounding errors are spread out, not a systematic shift.
    expect(total / got.data.length).toBeLessThan(0.5);
  });

  it('rejects a target size that is not a positive integer', () => {
    expect(() => resizeU8(testImage(4, 4, 1, 0), 0, 4, 'bilinear')).toThrow(/positive integers/);
  });
});
