// Antialiased uint8 resize exactly as torch computes it for torchvision's `resize(uint8 tensor,
// antialias=True)`, which transformers 5's default (torchvision-backed) image processors call:
// ATen's UpSampleKernel.cpp, `_compute_indices_min_size_weights_aa` for Pillow's filter weights
// in float64, `_compute_index_ranges_int16_weights` to round them to 16-bit fixed point at a
// precision chosen per axis from the largest weight, then the horizontal pass, then the vertical
// one, each rounding and clamping to 0–255. Pillow itself uses 22 bits and differs by one level
// on some pixels, so neither Pillow nor a canvas can stand in for this.

export type Resample = 'bilinear' | 'bicubic';

/** An interleaved 8-bit image: `channels` samples per pixel, rows top to bottom. */
export interface PixelsU8 {
  width: number;
  height: number;
  channels: number;
  data: Uint8Array;
}

/** One axis' taps: output i reads `size[i]` inputs from `start[i]` with `weights[i·taps …]`. */
export interface AxisTaps {
  start: Int32Array;
  size: Int32Array;
  /** taps per output (the filter's widest support). */
  taps: number;
  weights: Float64Array;
}

/** One axis' taps in fixed point: weights are integers to be shifted right by `precision`. */
export interface AxisTapsInt16 extends AxisTaps {
  precision: number;
}

/** torch's `interp_size`: the filter's support at scale 1, in input pixels. */
const INTERP_SIZE: Record<Resample, number> = { bilinear: 2, bicubic: 4 };

/** HelperInterpLinear::aa_filter. */
function triangle(x: number): number {
  if (x < 0) x = -x;
  return x < 1 ? 1 - x : 0;
}

/** HelperInterpCubic::aa_filter: Keys' cubic with a = −0.5 (Pillow's bicubic), in UpSample.h's operation order. */
function cubic(x: number): number {
  const a = -0.5;
  x = Math.abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

export const FILTERS: Record<Resample, (x: number) => number> = { bilinear: triangle, bicubic: cubic };

/**
 * Pillow's antialiased taps for one axis, in float64 (`_compute_index_ranges_weights` with
 * antialias, align_corners false, no explicit scale): the filter is stretched by the
 * downscale factor when shrinking, each output's weights are normalised to sum to 1.
 */
export function axisTaps(inSize: number, outSize: number, resample: Resample): AxisTaps & { maxWeight: number } {
  const scale = inSize / outSize;
  const support = scale >= 1 ? INTERP_SIZE[resample] * 0.5 * scale : INTERP_SIZE[resample] * 0.5;
  const taps = Math.ceil(support) * 2 + 1;
  const invScale = scale >= 1 ? 1 / scale : 1;
  const filter = FILTERS[resample];
  const start = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const weights = new Float64Array(outSize * taps);
  let maxWeight = 0;
  for (let i = 0; i < outSize; i++) {
    const center = scale * (i + 0.5);
    // C++ casts to int64 truncate toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    // Rounding can make the span one longer than the filter allows: torch clamps it.
    const xsize = Math.min(Math.max(Math.min(Math.trunc(center + support + 0.5), inSize) - xmin, 0), taps);
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      const w = filter((j + xmin - center + 0.5) * invScale);
      weights[i * taps + j] = w;
      total += w;
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) {
        weights[i * taps + j] /= total;
        maxWeight = Math.max(maxWeight, weights[i * taps + j]);
      }
    }
    start[i] = xmin;
    size[i] = xsize;
  }
  return { start, size, taps, weights, maxWeight };
}

/**
 * The taps rounded to fixed point as torch does: the precision is the largest (≤ 22) at which
 * the largest weight still fits in int16, and each weight rounds half away from zero.
 */
export function axisTapsInt16(inSize: number, outSize: number, resample: Resample): AxisTapsInt16 {
  const { maxWeight, ...taps } = axisTaps(inSize, outSize, resample);
  let precision = 0;
  for (; precision < 22; precision++) {
    if (Math.trunc(0.5 + maxWeight * 2 ** (precision + 1)) >= 1 << 15) break;
  }
  const weights = new Float64Array(taps.weights.length);
  for (let k = 0; k < weights.length; k++) {
    const v = taps.weights[k] * 2 ** precision;
    weights[k] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v);
  }
  return { ...taps, weights, precision };
}

/**
 * One fixed-point pass along x (`horizontal`) or y, rounding and clamping to 0–255. Sums stay in
 * int32 as in torch: |weights| sum to at most ~1.25·2^22 (precision ≤ 22), times 255.
 */
function pass(src: PixelsU8, taps: AxisTapsInt16, horizontal: boolean): PixelsU8 {
  const { channels: c, data: input } = src;
  const width = horizontal ? taps.start.length : src.width;
  const height = horizontal ? src.height : taps.start.length;
  const out = new Uint8Array(width * height * c);
  const half = taps.precision > 0 ? 1 << (taps.precision - 1) : 0;
  const precision = taps.precision;
  const weights = Int32Array.from(taps.weights);
  const { start, size, taps: stride } = taps;
  // Stride between neighbouring taps in the source.
  const step = horizontal ? c : src.width * c;
  const rowLength = width * c;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = horizontal ? x : y;
      const base = horizontal ? (y * src.width + start[o]) * c : (start[o] * src.width + x) * c;
      const w0 = o * stride;
      const n = size[o];
      const at = y * rowLength + x * c;
      for (let ch = 0; ch < c; ch++) {
        let acc = half;
        for (let j = 0, k = base + ch; j < n; j++, k += step) acc = (acc + weights[w0 + j] * input[k]) | 0;
        // An arithmetic shift right: the floor of the quotient, negative sums included.
        const v = acc >> precision;
        out[at + ch] = v < 0 ? 0 : v > 255 ? 255 : v;
      }
    }
  }
  return { width, height, channels: c, data: out };
}

/** Resizes as torch's uint8 antialiased kernel does: horizontal pass first, an axis of equal size is left alone. */
export function resizeU8(image: PixelsU8, width: number, height: number, resample: Resample): PixelsU8 {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`resize target must be positive integers, got ${width}×${height}`);
  }
  let out = image;
  if (width !== image.width) out = pass(out, axisTapsInt16(image.width, width, resample), true);
  if (height !== image.height) out = pass(out, axisTapsInt16(image.height, height, resample), false);
  return out;
}
