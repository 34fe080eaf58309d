// A Hugging Face image processor config (`preprocessor_config.json`) and what transformers 5's
// default torchvision-backed ViTImageProcessor does with it: convert to RGB, resize the uint8
// image (torch's antialiased kernel, see resize.ts), then rescale and normalise in float32.
// With both rescale and normalise on, transformers fuses them: mean and std become float32
// tensors multiplied by 1/rescale_factor, and the image is (x − mean·(1/f)) / (std·(1/f)),
// each step rounded to float32.

import { JsonSyntaxError, parseJson } from '../strict-json.ts';
import { resizeU8, type PixelsU8, type Resample } from './resize.ts';

export class ImageProcessorConfigError extends Error {
  constructor(
    readonly file: string,
    problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ImageProcessorConfigError';
  }
}

export interface ImageProcessorConfig {
  doResize: boolean;
  size: { height: number; width: number };
  resample: Resample;
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

/** ViTImageProcessor's class defaults, used for keys the file leaves out. */
export const VIT_DEFAULTS: ImageProcessorConfig = {
  doResize: true,
  size: { height: 224, width: 224 },
  resample: 'bilinear',
  doRescale: true,
  rescaleFactor: 1 / 255,
  doNormalize: true,
  imageMean: [0.5, 0.5, 0.5],
  imageStd: [0.5, 0.5, 0.5],
};

/**
 * PIL resampling codes as transformers maps them onto torchvision: LANCZOS (1) has no tensor
 * kernel, and transformers falls back to bicubic (with a warning), so do we.
 */
const RESAMPLE: Record<number, Resample | undefined> = { 1: 'bicubic', 2: 'bilinear', 3: 'bicubic' };
const RESAMPLE_NAMES: Record<number, string> = { 0: 'nearest', 4: 'box', 5: 'hamming' };

/** Reads the bytes of a preprocessor_config.json; bad JSON or a bad key is named with `file`. */
export function readImageProcessorConfig(bytes: ArrayBuffer | Uint8Array, file: string): ImageProcessorConfig {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ImageProcessorConfigError(file, 'not UTF-8 text');
  }
  let json: unknown;
  try {
    json = parseJson(text, { rejectDuplicateKeys: false });
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ImageProcessorConfigError(file, `not valid JSON: ${error.message}`);
    throw error;
  }
  return parseImageProcessorConfig(json, file);
}

/** Reads a parsed preprocessor_config.json; throws ImageProcessorConfigError naming `file` and the key. */
export function parseImageProcessorConfig(json: unknown, file: string): ImageProcessorConfig {
  const fail = (problem: string): never => {
    throw new ImageProcessorConfigError(file, problem);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail('expected a JSON object');
  const c = json as Record<string, unknown>;
  const bool = (key: string, fallback: boolean) => {
    const v = c[key];
    if (v === undefined || v === null) return fallback;
    return typeof v === 'boolean' ? v : fail(`"${key}" must be true or false, got ${JSON.stringify(v)}`);
  };
  const positiveNumber = (key: string, v: unknown) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fail(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
  const triple = (key: string, fallback: [number, number, number], positive: boolean): [number, number, number] => {
    let v = c[key];
    if (v === undefined || v === null) return fallback;
    if (typeof v === 'number') v = [v, v, v];
    if (!Array.isArray(v) || v.length !== 3 || !v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0))) {
      return fail(`"${key}" must be three ${positive ? 'positive ' : ''}numbers (one per RGB channel), got ${JSON.stringify(v)}`);
    }
    return v as [number, number, number];
  };

  if (bool('do_center_crop', false)) fail('"do_center_crop" is not supported (ViT processors resize straight to "size")');
  if (bool('do_pad', false)) fail('"do_pad" is not supported');

  let size = VIT_DEFAULTS.size;
  if (c.size !== undefined && c.size !== null) {
    const s = c.size as Record<string, unknown>;
    if (typeof c.size === 'number') size = { height: c.size, width: c.size };
    else if (typeof s === 'object' && 'height' in s && 'width' in s) size = { height: s.height as number, width: s.width as number };
    else fail(`"size" must be {"height": …, "width": …}, got ${JSON.stringify(c.size)} (shortest_edge resizing is not supported)`);
    if (![size.height, size.width].every((n) => Number.isInteger(n) && n > 0)) fail(`"size" must hold positive integers, got ${JSON.stringify(c.size)}`);
  }

  let resample = VIT_DEFAULTS.resample;
  if (c.resample !== undefined && c.resample !== null) {
    const code = c.resample;
    const r = typeof code === 'number' ? RESAMPLE[code] : undefined;
    if (!r) {
      const name = typeof code === 'number' ? RESAMPLE_NAMES[code] : undefined;
      fail(`"resample" ${JSON.stringify(code)}${name ? ` (${name})` : ''} is not supported: use 2 (bilinear) or 3 (bicubic)`);
    }
    resample = r!;
  }

  return {
    doResize: bool('do_resize', VIT_DEFAULTS.doResize),
    size,
    resample,
    doRescale: bool('do_rescale', VIT_DEFAULTS.doRescale),
    rescaleFactor: c.rescale_factor === undefined || c.rescale_factor === null ? VIT_DEFAULTS.rescaleFactor : positiveNumber('rescale_factor', c.rescale_factor),
    doNormalize: bool('do_normalize', VIT_DEFAULTS.doNormalize),
    imageMean: triple('image_mean', VIT_DEFAULTS.imageMean, false),
    imageStd: triple('image_std', VIT_DEFAULTS.imageStd, true),
  };
}

/**
 * PIL's convert('RGB'): grayscale becomes three equal channels, alpha is dropped (not composited:
 * the stored colour of a transparent pixel is kept), as transformers' convert_to_rgb does.
 */
export function toRgb(image: PixelsU8, file: string): PixelsU8 {
  const { width, height, channels, data } = image;
  if (channels === 3) return image;
  if (![1, 2, 4].includes(channels)) throw new ImageProcessorConfigError(file, `cannot convert an image with ${channels} channels to RGB`);
  const out = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) {
    for (let ch = 0; ch < 3; ch++) out[p * 3 + ch] = data[p * channels + (channels <= 2 ? 0 : ch)];
  }
  return { width, height, channels: 3, data: out };
}

/** The per-channel float32 affine map transformers applies after the resize: out = (x − shift) / divide. */
export function normalizationOf(config: ImageProcessorConfig): { shift: number[]; divide: number[] } {
  const f = Math.fround;
  if (config.doNormalize && config.doRescale) {
    // torch.tensor(list) is float32; the product with the Python float 1/f is float32 too.
    const inv = f(1 / config.rescaleFactor);
    return { shift: config.imageMean.map((m) => f(f(m) * inv)), divide: config.imageStd.map((s) => f(f(s) * inv)) };
  }
  if (config.doNormalize) return { shift: config.imageMean.map(f), divide: config.imageStd.map(f) };
  // Rescale alone is uint8 × float: float32 (x · f).
  return { shift: [0, 0, 0], divide: [1, 1, 1] };
}

/** Preprocesses one decoded image into CHW float32 `pixel_values` (3 × height × width). */
export function preprocessImage(image: PixelsU8, config: ImageProcessorConfig, file: string): Float32Array {
  let rgb = toRgb(image, file);
  if (config.doResize) rgb = resizeU8(rgb, config.size.width, config.size.height, config.resample);
  const { width, height, data } = rgb;
  const out = new Float32Array(3 * width * height);
  const f = Math.fround;
  const rescaleOnly = config.doRescale && !config.doNormalize;
  const factor = f(config.rescaleFactor);
  const { shift, divide } = normalizationOf(config);
  for (let ch = 0; ch < 3; ch++) {
    for (let p = 0; p < width * height; p++) {
      const x = data[p * 3 + ch];
      out[ch * width * height + p] = rescaleOnly ? f(x * factor) : f(f(x - shift[ch]) / divide[ch]);
    }
  }
  return out;
}
