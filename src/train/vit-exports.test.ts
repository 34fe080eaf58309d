// An image classifier's run and exports on the hf-tiny ViT: trained on its PNG rows, the merged
// folder is a Hugging Face ViTForImageClassification with preprocessor_config.json copied, whose
// reloaded float64 reference gives the trained GPU model's logits; the vectors export, imported
// into a fresh run on the base model, gives them too. A ViTModel checkpoint (bare keys, no
// classifier) trains with a classifier initialised as Hugging Face does and exports a full one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImageData, readModelDir } from '../cli/files.ts';
import { decodeImageNode } from '../io/images/decode-node.ts';
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
import { pixelBatch } from '../model/batch.ts';
import { buildReferenceModel, referenceLogits } from '../model/reference.ts';
import { HF_TINY } from '../model/test-folders.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from './defaults.ts';
import { buildExport, readVectorsExport, VECTORS_FILE } from './exports.ts';
import { ImagePixels } from './image-pixels.ts';
import { loadModel } from './load.ts';
import { Trainer } from './trainer.ts';

const VIT = join(HF_TINY, 'vit');

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

async function imageDataset(): Promise<Dataset> {
  const data = await readImageData(join(VIT, 'data.jsonl'));
  return { task: 'classification', labelNames: data.labelNames, train: data.examples, validation: data.examples, name: 'data.jsonl' };
}

async function train(files: ModelFiles, dataset: Dataset, steps = 3): Promise<Trainer> {
  const trainer = await Trainer.create({
    gpu: await testGpu(),
    files,
    dataset,
    // maxLength is a text setting: an image is always its CLS token and 16 patches.
    config: defaultConfig(12, { epochs: steps, batchSize: 12, lr: 0.05, lrSchedule: 'constant', maxLength: 8 }),
    emit: () => {},
    decodeImage: decodeImageNode,
  });
  await trainer.train(() => false);
  return trainer;
}

describe('a ViT run on hf-tiny/vit', () => {
  it('exports a Hugging Face ViTForImageClassification with its preprocessor_config.json, and vectors that reproduce the run', async () => {
    const files = await readModelDir(VIT);
    const dataset = await imageDataset();
    const trainer = await train(files, dataset);
    expect(Object.keys(trainer.lastMetrics)).toEqual(expect.arrayContaining(['accuracy', 'loss']));
    const logits = await trainer.logits(dataset.validation);

    const merged = Object.fromEntries((await buildExport(trainer, 'merged')).map((f) => [f.name, f.bytes]));
    expect(Object.keys(merged).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
    expect(new Uint8Array(merged['preprocessor_config.json'])).toEqual(new Uint8Array(readFileSync(join(VIT, 'preprocessor_config.json'))));
    const config = JSON.parse(new TextDecoder().decode(merged['config.json']));
    expect(config).toMatchObject({ architectures: ['ViTForImageClassification'], model_type: 'vit', num_labels: 3, image_size: 16, patch_size: 4 });
    // Same tensors, names and shapes as the checkpoint (the Conv2d stays 4-D).
    const base = readSafetensors(readFileSync(join(VIT, 'model.safetensors')), 'model.safetensors').tensors;
    const ours = readSafetensors(merged['model.safetensors'], 'model.safetensors').tensors;
    expect(new Map([...ours].map(([k, t]) => [k, t.shape]))).toEqual(new Map([...base].map(([k, t]) => [k, t.shape])));

    // Reloaded: the float64 reference on the merged (dense) weights gives the trained logits.
    const reloaded = await loadModel({ name: 'merged', files: merged }, dataset, 0);
    if (reloaded.input !== 'pixels') throw new Error('the merged ViT reloads as an image model');
    const pixels = await new ImagePixels(decodeImageNode, reloaded.imageProcessor).batch(dataset.validation, 'data.jsonl');
    const batch = pixelBatch(reloaded.weights.layout, pixels, dataset.validation.length);
    const reference = referenceLogits(buildReferenceModel(reloaded.config, reloaded.weights), batch, 'dense');
    const before = referenceLogits(buildReferenceModel(trainer.loaded.config, trainer.loaded.weights), batch, 'dense');
    const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => norm(Array.from(a, (v, i) => v - b[i])) / norm(b);
    expect(diff(logits, before), 'training moved the logits').toBeGreaterThan(1e-2);
    // fp32 forward and fp32 U·diag(Σ)·Vᵀ against float64: ~1e-6.
    expect(diff(logits, reference)).toBeLessThan(2e-5);

    // The vectors, imported into a fresh run on the base model, give the same logits.
    const vectors = Object.fromEntries((await buildExport(trainer, 'vectors')).map((f) => [f.name, f.bytes]));
    expect(JSON.parse(new TextDecoder().decode(vectors['adapter_config.json']))).toMatchObject({ model_type: 'vit', task: 'classification', num_labels: 3, head_modules: ['classifier'] });
    const lora = Object.fromEntries((await buildExport(trainer, 'lora', { rank: 4 })).map((f) => [f.name, f.bytes]));
    expect(JSON.parse(new TextDecoder().decode(lora['adapter_config.json']))).toMatchObject({ peft_type: 'LORA', task_type: null, modules_to_save: ['classifier'], r: 4 });
    const fresh = await train(files, dataset, 0);
    fresh.importVectors(readVectorsExport(vectors[VECTORS_FILE]));
    expect(Array.from(await fresh.logits(dataset.validation))).toEqual(Array.from(logits));
  });

  it('trains a ViTModel checkpoint (bare keys, no classifier) with a classifier initialised as Hugging Face does, and exports it whole', async () => {
    const source = readSafetensors(readFileSync(join(VIT, 'model.safetensors')), 'model.safetensors').tensors;
    const bare = [...source].filter(([k]) => !k.startsWith('classifier.')).map(([k, t]) => ({ name: k.replace(/^vit\./, ''), dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(t.data) }));
    const weights = writeSafetensors(bare, { format: 'pt' });
    const rawConfig = { ...JSON.parse(readFileSync(join(VIT, 'config.json'), 'utf8')), architectures: ['ViTModel'], id2label: undefined, label2id: undefined };
    const buffer = (bytes: Uint8Array) => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const files: ModelFiles = {
      name: 'vit-base',
      files: {
        'config.json': buffer(new TextEncoder().encode(JSON.stringify(rawConfig))),
        'model.safetensors': buffer(weights),
        'preprocessor_config.json': buffer(readFileSync(join(VIT, 'preprocessor_config.json'))),
      },
    };
    const trainer = await train(files, await imageDataset());
    expect(trainer.loaded.weights.initialised).toEqual(['classifier.weight', 'classifier.bias']);
    const losses = trainer.log.filter((r) => r.type === 'step').map((r) => r.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]);
    const merged = Object.fromEntries((await buildExport(trainer, 'merged')).map((f) => [f.name, f.bytes]));
    const tensors = readSafetensors(merged['model.safetensors'], 'model.safetensors').tensors;
    expect(tensors.get('classifier.weight')!.shape).toEqual([3, 32]);
    expect(tensors.has('vit.embeddings.cls_token')).toBe(true);
    expect(JSON.parse(new TextDecoder().decode(merged['config.json'])).architectures).toEqual(['ViTForImageClassification']);
  });
});
