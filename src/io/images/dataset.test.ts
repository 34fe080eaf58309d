// Image datasets in the three layouts users bring, on the tiny ViT fixture's real folder and on
// small generated ones; every bad input is named by its path.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { zipSync } from 'fflate';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../safetensors.ts';
import { countPerClass, loadPixelValues, readImageDataset, readImageDatasetZip, type DroppedFiles } from './dataset.ts';
import { decodeImageNode } from './decode-node.ts';
import { parseImageProcessorConfig, VIT_DEFAULTS } from './image-processor.ts';

const FIXTURE = join(import.meta.dirname, '../../../../shared/fixtures/hf-tiny/vit');

/** A w×h RGB PNG filled with one gray level. */
function png(level: number, w = 3, h = 2): ArrayBuffer {
  const image = new PNG({ width: w, height: h });
  image.data.fill(level);
  for (let k = 3; k < image.data.length; k += 4) image.data[k] = 255;
  const bytes = PNG.sync.write(image, { colorType: 2 });
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
const text = (s: string) => new TextEncoder().encode(s).buffer as ArrayBuffer;
const folder = (name: string, files: Record<string, ArrayBuffer>): DroppedFiles => ({ name, files });

function readFolder(dir: string): DroppedFiles {
  const files: Record<string, ArrayBuffer> = {};
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const p = join(d, entry);
      if (statSync(p).isDirectory()) walk(p);
      else files[relative(dir, p)] = new Uint8Array(readFileSync(p)).buffer;
    }
  };
  walk(dir);
  return { name: 'vit', files };
}

describe('imagefolder', () => {
  it('takes class names from the folders (sorted) under the dropped folder', async () => {
    const ds = await readImageDataset(folder('pets', { 'pets/dog/2.png': png(2), 'pets/cat/1.png': png(1), 'pets/dog/3.png': png(3), 'pets/.DS_Store': text('x'), 'pets/dog/notes.txt': text('hi') }));
    expect(ds.layout).toBe('imagefolder');
    expect(ds.labelNames).toEqual(['cat', 'dog']);
    expect(ds.splits.train.map((e) => [e.path, e.label])).toEqual([['pets/cat/1.png', 0], ['pets/dog/2.png', 1], ['pets/dog/3.png', 1]]);
    expect(countPerClass(ds.splits.train, ds.labelNames)).toEqual([1, 2]);
    expect(ds.splits.validation).toBeUndefined();
  });

  it('recognises train/ and val/ (and test/) split folders', async () => {
    const ds = await readImageDataset(folder('d', { 'd/train/a/1.png': png(1), 'd/train/b/2.png': png(2), 'd/val/b/3.png': png(3), 'd/test/a/4.png': png(4) }));
    expect(ds.labelNames).toEqual(['a', 'b']);
    expect(ds.splits.validation!.map((e) => [e.path, e.label])).toEqual([['d/val/b/3.png', 1]]);
    expect(ds.splits.test!.map((e) => e.label)).toEqual([0]);
  });

  it('names an empty class, a class missing from training, a stray image and a single class', async () => {
    await expect(readImageDataset(folder('d', { 'd/train/a/1.png': png(1), 'd/train/b/readme.txt': text('no images yet'), 'd/train/c/2.png': png(2) }))).rejects.toThrow('d/train/b/: the class folder holds no images');
    await expect(readImageDataset(folder('d', { 'd/train/a/1.png': png(1), 'd/train/b/2.png': png(2), 'd/validation/c/3.png': png(3) }))).rejects.toThrow('d/validation/c/: the class "c" has no training images (no d/train/c/)');
    await expect(readImageDataset(folder('d', { 'd/a/1.png': png(1), 'd/b/2.png': png(2), 'd/3.png': png(3) }))).rejects.toThrow('d/3.png: the image is not inside a class folder');
    await expect(readImageDataset(folder('d', { 'd/x/a/1.png': png(1), 'd/x/a/2.png': png(2) }))).rejects.toThrow(/only one class folder|not inside a class folder/);
    await expect(readImageDataset(folder('empty', { 'empty/notes.md': text('#') }))).rejects.toThrow('empty: no images (.png, .jpg) and no data table');
  });

  it('reads the same folder from a zip, and names a corrupt zip', async () => {
    const zip = zipSync({ 'pets/cat/1.png': bytesOf(png(1)), 'pets/dog/2.png': bytesOf(png(2)), '__MACOSX/pets/._x': new Uint8Array(3) });
    const ds = await readImageDatasetZip(zip.buffer as ArrayBuffer, 'pets.zip');
    expect(ds.splits.train.map((e) => [e.path, e.label])).toEqual([['pets/cat/1.png', 0], ['pets/dog/2.png', 1]]);
    await expect(readImageDatasetZip(zip.slice(0, 30).buffer as ArrayBuffer, 'cut.zip')).rejects.toThrow(/cut\.zip/);
  });

  it('names a corrupt image when the examples are decoded', async () => {
    const ds = await readImageDataset(folder('d', { 'd/a/1.png': png(1), 'd/b/broken.png': png(2).slice(0, 40) }));
    await expect(loadPixelValues(ds.splits.train, decodeImageNode, { ...VIT_DEFAULTS, size: { height: 4, width: 4 } })).rejects.toThrow(/^d\/b\/broken\.png: a damaged PNG/);
  });
});

describe('a table of image paths and labels', () => {
  it('reads the ViT fixture folder (data.jsonl beside images/) into the pixel_values transformers computed', async () => {
    const ds = await readImageDataset(readFolder(FIXTURE));
    expect(ds.layout).toBe('table');
    const rows = readFileSync(join(FIXTURE, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; label: number });
    expect(ds.splits.train.map((e) => [e.path, e.label])).toEqual(rows.map((r) => [r.image, r.label]));
    expect(ds.labelNames).toEqual(['0', '1', '2']);
    const config = parseImageProcessorConfig(JSON.parse(readFileSync(join(FIXTURE, 'preprocessor_config.json'), 'utf8')), 'preprocessor_config.json');
    const pixels = await loadPixelValues(ds.splits.train, decodeImageNode, config);
    const reference = readSafetensors(readFileSync(join(FIXTURE, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors.get('pixel_values')!;
    expect(pixels.length).toBe(reference.data.length);
    let worst = 0;
    for (let k = 0; k < pixels.length; k++) worst = Math.max(worst, Math.abs(pixels[k] - reference.data[k]));
    expect(worst).toBeLessThan(1e-5);
  });

  it('reads a metadata.csv with file_name and class names, and split tables by name', async () => {
    const ds = await readImageDataset(
      folder('d', {
        'd/train.csv': text('file_name,label\nimgs/1.png,cat\n./imgs/2.png,dog\n'),
        'd/validation.csv': text('file_name,label\nimgs/3.png,dog\n'),
        'd/imgs/1.png': png(1),
        'd/imgs/2.png': png(2),
        'd/imgs/3.png': png(3),
      }),
    );
    expect(ds.labelNames).toEqual(['cat', 'dog']);
    expect(ds.splits.train.map((e) => [e.path, e.label])).toEqual([['d/imgs/1.png', 0], ['d/imgs/2.png', 1]]);
    expect(ds.splits.validation!.map((e) => [e.path, e.label])).toEqual([['d/imgs/3.png', 1]]);
  });

  it('names the table line of a missing image, a missing path and an unknown class', async () => {
    const base = { 'd/a.png': png(1), 'd/b.png': png(2) };
    await expect(readImageDataset(folder('d', { ...base, 'd/data.jsonl': text('{"image": "a.png", "label": 0}\n{"image": "c.png", "label": 1}\n') }))).rejects.toThrow('d/data.jsonl, line 2: the image "c.png" is not in the folder (looked for d/c.png)');
    await expect(readImageDataset(folder('d', { ...base, 'd/data.jsonl': text('{"image": "a.png", "label": 0}\n{"label": 1}\n') }))).rejects.toThrow('d/data.jsonl, line 2: the image path ("image") is missing');
    await expect(
      readImageDataset(folder('d', { ...base, 'd/train.csv': text('image,label\na.png,x\nb.png,y\n'), 'd/test.csv': text('image,label\na.png,z\n') })),
    ).rejects.toThrow('d/test.csv, line 2: the label "z" is not one of the classes x, y');
    await expect(readImageDataset(folder('d', { ...base, 'd/data.csv': text('picture,kind,extra\na.png,0,1\n') }))).rejects.toThrow('d/data.csv: no label column');
    await expect(readImageDataset(folder('d', { ...base, 'd/train.csv': text('image,label\na.png,0\n'), 'd/training.jsonl': text('{"image": "b.png", "label": 1}\n') }))).rejects.toThrow(/a second train table \(d\/train\.csv, d\/training\.jsonl\)/);
  });
});

/** A Hub-style Parquet file: image {bytes, path} structs, an INT64 label, ClassLabel names in the metadata. */
function hubParquet(images: { bytes: Uint8Array | null; path: string | null }[], labels: number[], names?: string[]): ArrayBuffer {
  const features = { image: { _type: 'Image' }, label: names ? { _type: 'ClassLabel', names } : { _type: 'Value', dtype: 'int64' } };
  return parquetWriteBuffer({
    columnData: [
      { name: 'image', data: images },
      { name: 'label', data: labels.map(BigInt) },
    ],
    schema: [
      { name: 'root', num_children: 2 },
      { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
      { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
      { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
    ],
    kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }],
  });
}
const bytesOf = (b: ArrayBuffer) => new Uint8Array(b);

describe('Hub Parquet with an image column of {bytes, path} structs', () => {
  it('reads splits by file name, ClassLabel names from the metadata and the image bytes', async () => {
    const ds = await readImageDataset(
      folder('mnist', {
        'mnist/train-00000-of-00001.parquet': hubParquet([{ bytes: bytesOf(png(10)), path: '0.png' }, { bytes: bytesOf(png(20)), path: null }], [1, 0], ['zero', 'one']),
        'mnist/test-00000-of-00001.parquet': hubParquet([{ bytes: bytesOf(png(30)), path: null }], [1], ['zero', 'one']),
      }),
    );
    expect(ds.layout).toBe('parquet');
    expect(ds.labelNames).toEqual(['zero', 'one']);
    expect(ds.splits.train.map((e) => [e.path, e.label])).toEqual([['mnist/train-00000-of-00001.parquet, row 1', 1], ['mnist/train-00000-of-00001.parquet, row 2', 0]]);
    expect(ds.splits.test!.map((e) => e.label)).toEqual([1]);
    const image = await decodeImageNode(ds.splits.train[1].bytes, ds.splits.train[1].path);
    expect([image.width, image.height, image.data[0]]).toEqual([3, 2, 20]);
  });

  it('takes a path-only image from the folder, and names a row whose image is nowhere', async () => {
    const ok = await readImageDataset(folder('d', { 'd/data.parquet': hubParquet([{ bytes: null, path: 'pics/a.png' }, { bytes: bytesOf(png(5)), path: null }], [0, 2]), 'd/pics/a.png': png(7) }));
    expect(ok.labelNames).toEqual(['0', '1', '2']);
    expect(ok.splits.train[0].bytes).toEqual(bytesOf(png(7)));
    await expect(readImageDataset(folder('d', { 'd/data.parquet': hubParquet([{ bytes: bytesOf(png(1)), path: null }, { bytes: null, path: 'gone.png' }], [0, 1]) }))).rejects.toThrow('d/data.parquet, row 2: the image has no bytes and "gone.png" is not in the folder');
    await expect(readImageDataset(folder('d', { 'd/data.parquet': text('PAR1 not really') }))).rejects.toThrow('d/data.parquet: not a readable Parquet file');
  });
});
