// Image datasets dropped in the studio: a folder or zip of class folders becomes a classification
// Dataset with its validation split, every image is decoded once in the background (grayscale
// noticed, for the playground's canvas), and a corrupt image, an unsupported format or an empty
// class is named by its path; a text file drop is unchanged.
import { zipSync } from 'fflate';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { PNG } from 'pngjs';
import { beforeEach, describe, expect, it } from 'vitest';
import { decodeImageNode } from '../io/images/decode-node.ts';
import { useErrors } from './errors.ts';
import { setImageDecoder, useFiles, type DroppedFile } from './files.ts';

/** A 4×4 PNG: gray (colour type 0) of one level, or RGB with a red tint. */
function png(level: number, rgb = false): Uint8Array {
  const image = new PNG({ width: 4, height: 4 });
  for (let p = 0; p < 16; p++) image.data.set([rgb ? 255 : level, level, level, 255], 4 * p);
  return new Uint8Array(PNG.sync.write(image, { colorType: rgb ? 2 : 0 }));
}
const file = (path: string, bytes: Uint8Array | string): DroppedFile => ({ path, file: new File([bytes as BlobPart], path.split('/').pop()!) });
/** digits/{train,validation}/{a,b}/N.png: 3 training and 1 validation image per class. */
function digits(extra: DroppedFile[] = [], rgb = false): DroppedFile[] {
  const out: DroppedFile[] = [];
  for (const cls of ['a', 'b']) {
    for (let i = 0; i < 3; i++) out.push(file(`digits/train/${cls}/${i}.png`, png(40 * i, rgb)));
    out.push(file(`digits/validation/${cls}/9.png`, png(200, rgb)));
  }
  return [...out, ...extra];
}
const settled = () => new Promise<void>((resolve) => {
  const done = () => {
    const { images } = useFiles.getState();
    if (!images || images.broken || images.check.done === images.check.total) resolve();
    else setTimeout(done, 5);
  };
  done();
});

beforeEach(() => {
  setImageDecoder(decodeImageNode);
  useFiles.setState({ train: null, validation: null, folder: null, images: null, columns: {}, validationSource: 'fraction', validationFraction: 0.1, validationNote: null, dataset: null });
  useErrors.setState({ errors: [] });
});

describe('image datasets in the files store', () => {
  it('a folder of class folders with train/ and validation/ splits: labels, splits, check, grayscale', async () => {
    await useFiles.getState().dropDataset('train', [...digits(), file('digits/README.txt', 'notes'), file('digits/.DS_Store', 'finder')]);
    await settled();
    const s = useFiles.getState();
    expect(useErrors.getState().errors).toEqual([]);
    expect(s.images?.data.labelNames).toEqual(['a', 'b']);
    expect(s.images?.check).toEqual({ done: 8, total: 8, grayscale: true });
    // A saved run keeps the folder's files it read (its hidden files left out), by their paths.
    expect(Object.keys(s.images?.source ?? {}).sort()).toEqual([...digits().map((f) => f.path), 'digits/README.txt'].sort());
    expect(s.dataset?.task).toBe('classification');
    expect([s.dataset?.train.length, s.dataset?.validation.length, s.validationSource]).toEqual([6, 2, 'file']);
    const first = s.dataset!.train[0];
    expect([first.text, first.label, first.image?.path, first.image?.bytes.length]).toEqual(['digits/train/a/0.png', 0, 'digits/train/a/0.png', png(0).length]);
    // Holding out training images instead of the validation split.
    useFiles.getState().setValidationSource('fraction');
    useFiles.getState().setValidationFraction(0.5);
    expect([useFiles.getState().dataset?.train.length, useFiles.getState().dataset?.validation.length]).toEqual([3, 3]);
  });

  it("a folder's kept files, dropped back in as a reopened run does, make the same dataset", async () => {
    await useFiles.getState().dropDataset('train', [...digits(), file('digits/.hidden/x.png', png(1))]);
    await settled();
    const before = useFiles.getState();
    const kept = Object.entries(before.images!.source as Record<string, ArrayBuffer>).map(([path, bytes]) => file(path, new Uint8Array(bytes)));
    await useFiles.getState().dropDataset('train', kept);
    await settled();
    const after = useFiles.getState();
    expect(useErrors.getState().errors).toEqual([]);
    expect(after.images?.name).toBe('digits');
    expect(after.dataset?.name).toBe(before.dataset?.name);
    const examples = (d: typeof after.dataset) => [...d!.train, ...d!.validation].map((e) => [e.text, e.label]);
    expect(examples(after.dataset)).toEqual(examples(before.dataset));
  });

  it('a zip of the same folder, in colour', async () => {
    const entries = Object.fromEntries(await Promise.all(digits([], true).map(async (f) => [f.path, new Uint8Array(await f.file.arrayBuffer())] as const)));
    await useFiles.getState().dropDataset('train', file('digits.zip', zipSync(entries)));
    await settled();
    const s = useFiles.getState();
    expect(useErrors.getState().errors).toEqual([]);
    expect([s.images?.name, s.images?.check.grayscale, s.dataset?.train.length]).toEqual(['digits.zip', false, 6]);
    // The zip is kept for a saved run, not its unpacked images.
    expect((s.images?.source as File).name).toBe('digits.zip');
  });

  it('Hub Parquet files of an Image feature, dropped alone or as a folder of splits, are image datasets', async () => {
    const parquet = (levels: number[]) =>
      parquetWriteBuffer({
        columnData: [
          { name: 'image', data: levels.map((l, i) => ({ bytes: png(l), path: `${i}.png` })) },
          { name: 'label', data: levels.map((_, i) => BigInt(i % 2)) },
        ],
        schema: [
          { name: 'root', num_children: 2 },
          { name: 'image', repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'bytes', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' },
          { name: 'path', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'label', type: 'INT64', repetition_type: 'OPTIONAL' },
        ],
        kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features: { image: { _type: 'Image' }, label: { _type: 'ClassLabel', names: ['odd', 'even'] } } } }) }],
      });
    await useFiles.getState().dropDataset('train', file('train-00000-of-00001.parquet', new Uint8Array(parquet([0, 50, 100, 150]))));
    await settled();
    let s = useFiles.getState();
    expect(useErrors.getState().errors).toEqual([]);
    expect([s.images?.data.layout, s.images?.data.labelNames, (s.images?.source as File).name, s.dataset?.train.length]).toEqual(['parquet', ['odd', 'even'], 'train-00000-of-00001.parquet', 3]);
    await useFiles.getState().dropDataset('train', [
      file('mnist/data/train-00000-of-00001.parquet', new Uint8Array(parquet([0, 50, 100, 150]))),
      file('mnist/data/test-00000-of-00001.parquet', new Uint8Array(parquet([200, 250]))),
    ]);
    await settled();
    s = useFiles.getState();
    expect([s.images?.name, s.images?.check.total, s.dataset?.train.length]).toEqual(['mnist', 4, 3]);
  });

  it('names a corrupt image, an unsupported format and an empty class by path; a good drop clears it', async () => {
    const broken = png(10).slice(0, 40);
    await useFiles.getState().dropDataset('train', digits([file('digits/train/b/7.png', broken)]));
    await settled();
    expect(useFiles.getState().dataset).toBeNull();
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual([expect.stringMatching(/^digits\/train\/b\/7\.png: a damaged PNG/)]);
    // The message stays while other settings change.
    useFiles.getState().setValidationFraction(0.2);
    expect(useErrors.getState().errors).toHaveLength(1);

    const gif = new TextEncoder().encode('GIF89a\u0001\u0000\u0001\u0000');
    await useFiles.getState().dropDataset('train', digits([file('digits/train/a/x.gif', gif)]));
    await settled();
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual(['digits/train/a/x.gif: a GIF image: only PNG and JPEG are supported']);

    // A drop that cannot be read leaves the last dataset (and its message) in place.
    await useFiles.getState().dropDataset('train', digits([file('digits/train/c/notes.txt', 'no images here')]));
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual([
      'digits/train/a/x.gif: a GIF image: only PNG and JPEG are supported',
      'digits/train/c/: the class folder holds no images (.png, .jpg)',
    ]);

    await useFiles.getState().dropDataset('train', digits());
    await settled();
    expect([useErrors.getState().errors, useFiles.getState().dataset?.train.length]).toEqual([[], 6]);
  });

  it('an image folder dropped as validation data is refused with a reason; a text file still reads as a table', async () => {
    await useFiles.getState().dropDataset('validation', digits());
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual([expect.stringContaining('digits: drop an image dataset as training data')]);
    useErrors.setState({ errors: [] });
    await useFiles.getState().dropDataset('train', digits());
    await settled();
    await useFiles.getState().dropDataset('train', file('sst2.tsv', 'sentence\tlabel\nfine\t1\nbad\t0\nok\t1'));
    const s = useFiles.getState();
    expect([s.images, s.train?.fileName, s.dataset?.train.length]).toEqual([null, 'sst2.tsv', 2]);
  });
});
