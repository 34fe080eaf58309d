// Preprocessing as transformers 5's ViTImageProcessor (torchvision backend): exact on the tiny ViT
// fixture's PNGs against the pixel_values transformers stored, and against the float64 reference
// for the options that fixture does not use (bicubic, ImageNet mean/std, grayscale, no resize).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../safetensors.ts';
import { decodeImageNode } from './decode-node.ts';
import { normalizationOf, parseImageProcessorConfig, preprocessImage, readImageProcessorConfig, VIT_DEFAULTS, type ImageProcessorConfig } from './image-processor.ts';
import type { PixelsU8 } from './resize.ts';
import { resizeRef } from './resize.ref.ts';

const FIXTURE = join(import.meta.dirname, '../../../../shared/fixtures/hf-tiny/vit');

describe('the tiny ViT fixture (20×20 RGB PNGs → 16×16 bilinear, mean = std = 0.5)', () => {
  it('reproduces the pixel_values transformers computed, within 1e-5', async () => {
    const config = readImageProcessorConfig(readFileSync(join(FIXTURE, 'preprocessor_config.json')), 'vit/preprocessor_config.json');
    expect(config).toMatchObject({ size: { height: 16, width: 16 }, resample: 'bilinear' });
    const reference = readSafetensors(readFileSync(join(FIXTURE, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors.get('pixel_values')!;
    expect(reference.shape).toEqual([12, 3, 16, 16]);
    const rows = readFileSync(join(FIXTURE, 'data.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { image: string });
    let worst = 0;
    for (const [i, row] of rows.entries()) {
      const image = await decodeImageNode(readFileSync(join(FIXTURE, row.image)), row.image);
      expect([image.width, image.height, image.channels]).toEqual([20, 20, 3]);
      const pixels = preprocessImage(image, config, row.image);
      for (let k = 0; k < pixels.length; k++) worst = Math.max(worst, Math.abs(pixels[k] - reference.data[i * pixels.length + k]));
    }
    expect(worst).toBeLessThan(1e-5);
  });
});

function gradient(width: number, height: number, channels: number): PixelsU8 {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = (x * 37 + y * 91 + c * 53 + ((x * y) % 7) * 29) % 256;
    }
  }
  return { width, height, channels, data };
}

const IMAGENET: ImageProcessorConfig = {
  ...VIT_DEFAULTS,
  size: { height: 12, width: 10 },
  resample: 'bicubic',
  imageMean: [0.485, 0.456, 0.406],
  imageStd: [0.229, 0.224, 0.225],
};

/** The float64 pipeline: reference resize, then (x/255 − mean)/std, CHW. */
function preprocessRef(image: PixelsU8, config: ImageProcessorConfig): Float64Array {
  const rgb: PixelsU8 = image.channels === 3 ? image : { ...image, channels: 3, data: Uint8Array.from({ length: image.width * image.height * 3 }, (_, k) => image.data[Math.floor(k / 3) * image.channels]) };
  const r = config.doResize ? resizeRef(rgb, config.size.width, config.size.height, config.resample) : { ...rgb, data: Float64Array.from(rgb.data) };
  const n = r.width * r.height;
  const out = new Float64Array(3 * n);
  for (let c = 0; c < 3; c++) for (let p = 0; p < n; p++) out[c * n + p] = (r.data[p * 3 + c] * config.rescaleFactor - config.imageMean[c]) / config.imageStd[c];
  return out;
}

describe('preprocessImage against the float64 reference', () => {
  it('bicubic, non-square, ImageNet mean/std: within 1.3 resize levels', () => {
    const image = gradient(27, 19, 3);
    const got = preprocessImage(image, IMAGENET, 'x.png');
    const ref = preprocessRef(image, IMAGENET);
    expect(got.length).toBe(3 * 12 * 10);
    const n = 12 * 10;
    for (let k = 0; k < got.length; k++) {
      const levels = Math.abs(got[k] - ref[k]) * 255 * IMAGENET.imageStd[Math.floor(k / n)];
      expect(levels).toBeLessThan(1.3);
    }
  });

  it('normalises in float32 as transformers fuses rescale and normalise (within 2e-6 of float64 on every level)', () => {
    const { shift, divide } = normalizationOf(IMAGENET);
    // float32(0.485) · 255 in float32, not 0.485 · 255.
    expect(shift[0]).toBe(Math.fround(Math.fround(0.485) * 255));
    expect(divide[2]).toBe(Math.fround(Math.fround(0.225) * 255));
    const one = { ...IMAGENET, doResize: false };
    const levels: PixelsU8 = { width: 256, height: 1, channels: 3, data: Uint8Array.from({ length: 768 }, (_, k) => Math.floor(k / 3)) };
    const got = preprocessImage(levels, one, 'levels.png');
    const ref = preprocessRef(levels, one);
    for (let k = 0; k < got.length; k++) expect(Math.abs(got[k] - ref[k])).toBeLessThan(2e-6);
    // mean = std = 0.5: 0 → −1, 255 → 1, exactly.
    const half = preprocessImage({ width: 2, height: 1, channels: 3, data: new Uint8Array([0, 0, 0, 255, 255, 255]) }, { ...VIT_DEFAULTS, doResize: false }, 'h.png');
    expect(Array.from(half)).toEqual([-1, 1, -1, 1, -1, 1]);
  });

  it('rescale alone is float32 x·factor; neither leaves the levels', () => {
    const image: PixelsU8 = { width: 1, height: 1, channels: 3, data: new Uint8Array([0, 51, 255]) };
    const rescaled = preprocessImage(image, { ...VIT_DEFAULTS, doResize: false, doNormalize: false }, 'r.png');
    expect(Array.from(rescaled)).toEqual([0, Math.fround(51 * Math.fround(1 / 255)), Math.fround(255 * Math.fround(1 / 255))]);
    const raw = preprocessImage(image, { ...VIT_DEFAULTS, doResize: false, doNormalize: false, doRescale: false }, 'r.png');
    expect(Array.from(raw)).toEqual([0, 51, 255]);
  });

  it('grayscale (with or without alpha) becomes three equal channels; RGBA drops alpha', () => {
    const gray = gradient(9, 14, 1);
    const asRgb: PixelsU8 = { ...gray, channels: 3, data: Uint8Array.from({ length: gray.data.length * 3 }, (_, k) => gray.data[Math.floor(k / 3)]) };
    const withAlpha: PixelsU8 = { ...gray, channels: 2, data: Uint8Array.from({ length: gray.data.length * 2 }, (_, k) => (k % 2 ? 7 : gray.data[k / 2])) };
    const rgba: PixelsU8 = { ...gray, channels: 4, data: Uint8Array.from({ length: gray.data.length * 4 }, (_, k) => (k % 4 === 3 ? 0 : asRgb.data[Math.floor(k / 4) * 3 + (k % 4)])) };
    const expected = preprocessImage(asRgb, IMAGENET, 'rgb.png');
    expect(preprocessImage(gray, IMAGENET, 'g.png')).toEqual(expected);
    expect(preprocessImage(withAlpha, IMAGENET, 'ga.png')).toEqual(expected);
    expect(preprocessImage(rgba, IMAGENET, 'rgba.png')).toEqual(expected);
    const ref = preprocessRef(gray, IMAGENET);
    const n = 120;
    for (let k = 0; k < expected.length; k++) expect(Math.abs(expected[k] - ref[k]) * 255 * IMAGENET.imageStd[Math.floor(k / n)]).toBeLessThan(1.3);
  });
});

describe('parseImageProcessorConfig', () => {
  it('fills ViTImageProcessor defaults and reads a scalar mean', () => {
    const c = parseImageProcessorConfig({ resample: 3, image_mean: 0.5, size: { height: 32, width: 48 } }, 'p.json');
    expect(c).toMatchObject({ resample: 'bicubic', imageMean: [0.5, 0.5, 0.5], size: { height: 32, width: 48 }, rescaleFactor: 1 / 255 });
  });

  it('names a file that is not JSON', () => {
    expect(() => readImageProcessorConfig(new TextEncoder().encode('{"size": }'), 'm/preprocessor_config.json')).toThrow(/^m\/preprocessor_config\.json: not valid JSON: .* at line 1, column 10/);
  });

  it.each([
    [{ resample: 0 }, /p\.json: "resample" 0 \(nearest\) is not supported/],
    [{ do_center_crop: true }, /p\.json: "do_center_crop" is not supported/],
    [{ size: { shortest_edge: 224 } }, /p\.json: "size" must be \{"height"/],
    [{ size: { height: 0, width: 3 } }, /positive integers/],
    [{ image_std: [0.5, 0, 0.5] }, /"image_std" must be three positive numbers/],
    [{ image_mean: [0.5, 0.5] }, /"image_mean" must be three numbers/],
    [{ do_resize: 'yes' }, /"do_resize" must be true or false/],
    [[1, 2], /p\.json: expected a JSON object/],
  ])('names the file and the key: %j', (json, message) => {
    expect(() => parseImageProcessorConfig(json, 'p.json')).toThrow(message);
  });
});
