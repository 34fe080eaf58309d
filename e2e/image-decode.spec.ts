// The browser's image decoding (createImageBitmap, no premultiplication, no colour conversion)
// feeds the same preprocessing as the CLI: on the tiny ViT fixture's PNGs it must give
// transformers' pixel_values, and on PNGs it must agree with the Node decoder exactly.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { decodeImageNode } from '../src/io/images/decode-node.ts';
import { readSafetensors } from '../src/io/safetensors.ts';

const vit = path.resolve(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'hf-tiny', 'vit');

test('browser decoding + preprocessing reproduces the ViT fixture and the Node decoder', async ({ page }) => {
  await page.goto('/');
  const config = JSON.parse(readFileSync(path.join(vit, 'preprocessor_config.json'), 'utf8'));
  const names = Array.from({ length: 12 }, (_, i) => `images/${i}.png`);
  const pngs = names.map((n) => Array.from(readFileSync(path.join(vit, n))));

  // Gray, gray + alpha and opaque RGBA PNGs (pngjs), and a JPEG of a smooth colour gradient.
  const make = (colorType: 0 | 4 | 6) => {
    const png = new PNG({ width: 13, height: 7 });
    for (let k = 0; k < png.data.length; k++) png.data[k] = k % 4 === 3 ? (colorType === 4 ? (k * 7) % 256 : 255) : (k * 37) % 256;
    return Array.from(PNG.sync.write(png, { colorType, inputColorType: 6 }));
  };
  const others = { gray: make(0), grayAlpha: make(4), rgba: make(6) };
  const rgba = new Uint8Array(32 * 24 * 4).map((_, k) => (k % 4 === 3 ? 255 : Math.round(((k >> 2) % 32) * 6 + ((k >> 2) / 32) * 3 + (k % 4) * 20)));
  const jpegBytes = Array.from(jpeg.encode({ width: 32, height: 24, data: rgba }, 90).data);
  // The same JPEG tagged EXIF orientation 6 (rotate 90°), as phones write: PIL ignores the tag.
  const app1 = [0xff, 0xe1, 0, 34, ...Array.from('Exif\0\0MM', (ch) => ch.charCodeAt(0)), 0, 0x2a, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0];
  const exifJpeg = [...jpegBytes.slice(0, 2), ...app1, ...jpegBytes.slice(2)];

  const result = await page.evaluate(
    async ({ pngs, names, config, others, jpegBytes, exifJpeg }) => {
      const decodeUrl = '/src/io/images/decode-browser.ts';
      const processorUrl = '/src/io/images/image-processor.ts';
      const { decodeImageBrowser } = await import(/* @vite-ignore */ decodeUrl);
      const { parseImageProcessorConfig, preprocessImage } = await import(/* @vite-ignore */ processorUrl);
      const cfg = parseImageProcessorConfig(config, 'preprocessor_config.json');
      const pixelValues: number[] = [];
      for (const [i, bytes] of pngs.entries()) {
        const image = await decodeImageBrowser(new Uint8Array(bytes), names[i]);
        pixelValues.push(...preprocessImage(image, cfg, names[i]));
      }
      const decoded: Record<string, { width: number; height: number; channels: number; data: number[] }> = {};
      for (const [name, bytes] of Object.entries({ ...others, jpeg: jpegBytes, exif: exifJpeg })) {
        const image = await decodeImageBrowser(new Uint8Array(bytes as number[]), name);
        decoded[name] = { ...image, data: Array.from(image.data as Uint8Array) };
      }
      const errors: string[] = [];
      for (const [bytes, name] of [[pngs[0].slice(0, 60), 'images/cut.png'], [Array.from(new TextEncoder().encode('GIF89a...')), 'cat.gif']] as const) {
        try {
          await decodeImageBrowser(new Uint8Array(bytes), name);
          errors.push(`${name}: no error`);
        } catch (error) {
          errors.push((error as Error).message);
        }
      }
      return { pixelValues, decoded, errors };
    },
    { pngs, names, config, others, jpegBytes, exifJpeg },
  );

  const reference = readSafetensors(readFileSync(path.join(vit, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors.get('pixel_values')!;
  expect(result.pixelValues.length).toBe(reference.data.length);
  const worst = result.pixelValues.reduce((m, v, k) => Math.max(m, Math.abs(v - reference.data[k])), 0);
  expect(worst).toBeLessThan(1e-5);

  // PNG is lossless: the browser's RGB (alpha dropped, gray expanded) equals Node's.
  for (const [name, bytes] of Object.entries(others)) {
    const node = await decodeImageNode(Uint8Array.from(bytes), name);
    const browser = result.decoded[name];
    expect([browser.width, browser.height, browser.channels]).toEqual([node.width, node.height, 4]);
    for (let p = 0; p < node.width * node.height; p++) {
      for (let c = 0; c < 3; c++) {
        const alpha = node.channels === 2 ? node.data[p * 2 + 1] : node.channels === 4 ? node.data[p * 4 + 3] : 255;
        // The canvas stores premultiplied colour: only opaque pixels survive exactly.
        if (alpha === 255) expect(browser.data[p * 4 + c], `${name} pixel ${p}`).toBe(node.data[p * node.channels + (node.channels <= 2 ? 0 : c)]);
      }
    }
  }

  // JPEG decoders differ in IDCT and chroma upsampling: report how far, bound it loosely.
  const node = await decodeImageNode(Uint8Array.from(jpegBytes), 'gradient.jpg');
  let jpegWorst = 0;
  for (let p = 0; p < node.width * node.height; p++) for (let c = 0; c < 3; c++) jpegWorst = Math.max(jpegWorst, Math.abs(result.decoded.jpeg.data[p * 4 + c] - node.data[p * 3 + c]));
  console.log(`JPEG: browser vs jpeg-js, largest difference ${jpegWorst} levels`);
  expect(jpegWorst).toBeLessThanOrEqual(4);
  // The EXIF orientation is ignored, as PIL ignores it: same size, same pixels as without the tag.
  const exif = result.decoded.exif;
  expect([exif.width, exif.height]).toEqual([32, 24]);
  expect(exif.data).toEqual(result.decoded.jpeg.data);
  const nodeExif = await decodeImageNode(Uint8Array.from(exifJpeg), 'exif.jpg');
  expect(nodeExif.data).toEqual(node.data);

  expect(result.errors[0]).toMatch(/^images\/cut\.png: a damaged PNG/);
  expect(result.errors[1]).toBe('cat.gif: a GIF image: only PNG and JPEG are supported');
});
