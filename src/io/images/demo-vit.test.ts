// The ViT digits demo (public/demo-vit, bench/torch/pretrain_tiny_vit.py) read through the
// studio's own readers: the manifest names what is there, the model is a ViT backbone whose new
// classifier is initialised for the 5 classes, and the zipped imagefolder holds 200 training and
// 60 validation 28×28 grayscale digits per class, 5 to 9.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../../cli/files.ts';
import { loadModel } from '../../train/load.ts';
import { countPerClass, readImageDatasetZip } from './dataset.ts';
import { decodeImageNode } from './decode-node.ts';

const DEMO = new URL('../../../public/demo-vit/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(`${DEMO}manifest.json`, 'utf8')) as {
  model: { name: string; files: string[] };
  dataset: { train: string; validation?: string };
  config: { epochs: number; batchSize: number; lr: number; avf: { start: number; interval: number; count: number; k: number } };
};
const zip = () => {
  const bytes = readFileSync(`${DEMO}${manifest.dataset.train}`);
  return readImageDatasetZip(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, manifest.dataset.train);
};

describe('the ViT digits demo (public/demo-vit)', () => {
  it('holds digits 5–9 as an imagefolder: 200 training and 60 validation images a class, 28×28 grayscale', async () => {
    const data = await zip();
    expect([data.layout, data.labelNames]).toEqual(['imagefolder', ['5', '6', '7', '8', '9']]);
    expect(countPerClass(data.splits.train, data.labelNames)).toEqual([200, 200, 200, 200, 200]);
    expect(countPerClass(data.splits.validation!, data.labelNames)).toEqual([60, 60, 60, 60, 60]);
    for (const e of [...data.splits.train, ...data.splits.validation!]) {
      const image = await decodeImageNode(e.bytes, e.path);
      expect([image.width, image.height, image.channels]).toEqual([28, 28, 1]);
    }
  });

  it('is a ViT backbone: the files the manifest names, no classifier, one initialised for the 5 classes', async () => {
    const model = await readModelDir(`${DEMO}model`);
    expect(Object.keys(model.files).sort()).toEqual([...manifest.model.files].sort());
    const data = await zip();
    const loaded = await loadModel(model, { task: 'classification', labelNames: data.labelNames }, 42);
    expect([loaded.config.modelType, loaded.config.layers, loaded.config.hidden, loaded.input]).toEqual(['vit', 4, 64, 'pixels']);
    expect(loaded.weights.initialised.sort()).toEqual(['classifier.bias', 'classifier.weight']);
    expect(loaded.weights.tensors.get('classifier.weight')?.shape).toEqual([5, 64]);
    expect(loaded.totalParameters).toBe(140_741);
    if (loaded.input !== 'pixels') throw new Error('not an image model');
    expect(loaded.imageProcessor).toMatchObject({ size: { height: 28, width: 28 }, resample: 'bilinear', imageMean: [0.5, 0.5, 0.5], imageStd: [0.5, 0.5, 0.5] });
  });

  it('trains for 3 epochs of 32 steps with AVF ending two thirds in', () => {
    const { epochs, batchSize, lr, avf } = manifest.config;
    const steps = epochs * Math.ceil(1000 / batchSize);
    expect([steps, lr]).toEqual([96, 0.01]);
    expect(avf.start + (avf.count - 1) * avf.interval).toBeLessThanOrEqual((2 / 3) * steps);
  });
});
