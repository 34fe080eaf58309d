// Image datasets in the studio: a dropped folder, zip or Parquet file recognised as images, made
// into the Dataset the engine trains on (one example per image, its bytes kept encoded until its
// batch is built), and checked by decoding every image once, so that a corrupt file is named
// before training starts rather than in the middle of an epoch.
import { splitValidation, type Table } from '../io/dataset.ts';
import type { ImageDataset, ImageExample } from '../io/images/dataset.ts';
import type { DecodedImage, ImageDecoder } from '../io/images/decode.ts';
import { imageRows } from '../io/images/examples.ts';
import type { Dataset } from '../io/types.ts';

const IMAGE_FILE = /\.(png|jpe?g|gif|webp|bmp|tiff?)$/i;

/** A dropped folder with image files is an image dataset (class folders, or a table of paths beside them). */
export function holdsImages(paths: readonly string[]): boolean {
  return paths.some((p) => IMAGE_FILE.test(p) && !p.split('/').some((part) => part.startsWith('.') || part === '__MACOSX'));
}

/** A table (a Parquet file read as one) with a column of {bytes, path} image structs, as the Hub stores Image features. */
export function hasImageCells(table: Table): boolean {
  const first = table.rows[0];
  return !!first && first.some((cell) => !!cell && typeof cell === 'object' && 'bytes' in cell);
}

/**
 * The Dataset of an image dataset: its validation split when it has one and `holdOut` is null,
 * else `holdOut` of the training images held out (seeded, like a text dataset's rows).
 */
export function imageDataset(name: string, data: ImageDataset, holdOut: number | null, seed: number): Dataset {
  const train = imageRows(data.splits.train);
  const split = holdOut === null && data.splits.validation ? { train, validation: imageRows(data.splits.validation) } : splitValidation(train, holdOut ?? 0.1, seed);
  return { task: 'classification', labelNames: data.labelNames, ...split, name };
}

export interface ImageCheck {
  /** Images decoded so far, of `total`. */
  done: number;
  total: number;
  /** Every image decoded so far has equal red, green and blue (a digit or X-ray dataset): the
   * playground then offers a canvas to draw on. */
  grayscale: boolean;
}

function isGray(image: DecodedImage): boolean {
  const { channels, data } = image;
  if (channels <= 2) return true;
  for (let i = 0; i < data.length; i += channels) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  return true;
}

/**
 * Decodes every image once; the first that fails throws its ImageDecodeError, which names the
 * path. `progress` hears about every `every` images; `cancelled` stops the check (a newer drop).
 */
export async function checkImages(
  examples: readonly ImageExample[],
  decode: ImageDecoder,
  progress: (check: ImageCheck) => void,
  cancelled: () => boolean,
  every = 100,
): Promise<ImageCheck> {
  const check: ImageCheck = { done: 0, total: examples.length, grayscale: true };
  for (const e of examples) {
    if (cancelled()) return check;
    const image = await decode(e.bytes, e.path);
    check.grayscale &&= isGray(image);
    check.done++;
    if (check.done % every === 0 && check.done < check.total) progress({ ...check });
  }
  progress({ ...check });
  return check;
}
