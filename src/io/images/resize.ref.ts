// Float64 reference for resize.ts: the antialiased resample as its definition states it, with no
// fixed point and no tap windows. Output pixel i of an axis has its centre at (i + 0.5)·scale in
// input coordinates (scale = in/out); every input pixel j weighs filter((j + 0.5 − centre)/s)
// with s = max(scale, 1) (the filter stretched when shrinking), and the weights are normalised to
// sum to 1. Width first, then height, clamped to 0–255 after each pass (an 8-bit image is what
// each pass hands on), never rounded. The uint8 kernel must stay within about one level of it.

import type { PixelsU8, Resample } from './resize.ts';

export interface PixelsF64 {
  width: number;
  height: number;
  channels: number;
  data: Float64Array;
}

/** Triangle and Keys' cubic (a = −0.5) in their textbook piecewise form. */
export const REF_FILTERS: Record<Resample, (x: number) => number> = {
  bilinear: (x) => Math.max(0, 1 - Math.abs(x)),
  bicubic: (x) => {
    const t = Math.abs(x);
    if (t < 1) return 1.5 * t ** 3 - 2.5 * t ** 2 + 1;
    if (t < 2) return -0.5 * t ** 3 + 2.5 * t ** 2 - 4 * t + 2;
    return 0;
  },
};

/** The normalised weight of every input pixel for every output pixel: [out][in]. */
export function referenceWeights(inSize: number, outSize: number, resample: Resample): Float64Array[] {
  const scale = inSize / outSize;
  const stretch = Math.max(scale, 1);
  return Array.from({ length: outSize }, (_, i) => {
    const centre = (i + 0.5) * scale;
    const w = Float64Array.from({ length: inSize }, (_, j) => REF_FILTERS[resample]((j + 0.5 - centre) / stretch));
    const total = w.reduce((a, b) => a + b, 0);
    return w.map((v) => v / total);
  });
}

function passRef(src: PixelsF64, outSize: number, resample: Resample, horizontal: boolean): PixelsF64 {
  const { width, height, channels: c } = src;
  const w = referenceWeights(horizontal ? width : height, outSize, resample);
  const ow = horizontal ? outSize : width;
  const oh = horizontal ? height : outSize;
  const out = new Float64Array(ow * oh * c);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let ch = 0; ch < c; ch++) {
        let acc = 0;
        if (horizontal) for (let j = 0; j < width; j++) acc += w[x][j] * src.data[(y * width + j) * c + ch];
        else for (let j = 0; j < height; j++) acc += w[y][j] * src.data[(j * width + x) * c + ch];
        out[(y * ow + x) * c + ch] = Math.min(255, Math.max(0, acc));
      }
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}

export function resizeRef(image: PixelsU8, width: number, height: number, resample: Resample): PixelsF64 {
  let out: PixelsF64 = { ...image, data: Float64Array.from(image.data) };
  if (width !== image.width) out = passRef(out, width, resample, true);
  if (height !== image.height) out = passRef(out, height, resample, false);
  return out;
}
