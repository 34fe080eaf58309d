// Datasets read from disk as the CLI reads them: the ViT fixture's data.jsonl names images
// relative to itself, and the model files beside it are not read.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageDatasetFromDisk } from './dataset-node.ts';

const FIXTURE = join(import.meta.dirname, '../../../../shared/fixtures/hf-tiny/vit');

describe('readImageDatasetFromDisk', () => {
  it('reads a table file with image paths relative to it', async () => {
    const ds = await readImageDatasetFromDisk(join(FIXTURE, 'data.jsonl'));
    expect(ds.layout).toBe('table');
    expect(ds.splits.train).toHaveLength(12);
    expect(ds.splits.train[0]).toMatchObject({ path: 'images/0.png', label: 1 });
  });

  it('reads the folder (its data.jsonl, not its config JSON files)', async () => {
    const ds = await readImageDatasetFromDisk(FIXTURE);
    expect(ds.splits.train.map((e) => e.path)).toEqual(Array.from({ length: 12 }, (_, i) => `images/${i}.png`));
  });

  it('names a path that does not exist', async () => {
    await expect(readImageDatasetFromDisk(join(FIXTURE, 'nope.jsonl'))).rejects.toThrow(/nope\.jsonl: no such file or folder/);
  });
});
