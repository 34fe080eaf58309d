// Test helpers: tiny random ViTs built from the hf-tiny vit folder's config with overrides (image
// size, patch, channels, qkv_bias), and random pixel batches for them.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededNormal } from '../util/random.ts';
import { describeModel, type LinearLayout, type NormLayout } from './architectures.ts';
import { patchEmbeddings, pixelBatch, type PixelBatch } from './batch.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from './config.ts';
import { HF_TINY } from './test-folders.ts';
import { loadWeights, type ModelWeights, type SourceTensor } from './weights.ts';

/** A ViT from the vit folder's config with `overrides`, every weight random (biases, norm
 * weights, CLS token and positions too, so none is trivially 0 or 1). */
export function randomVit(overrides: Record<string, unknown>, seed: number): { config: ModelConfig; weights: ModelWeights } {
  const raw = { ...JSON.parse(readFileSync(join(HF_TINY, 'vit/config.json'), 'utf8')), ...overrides };
  const config = parseModelConfig(raw);
  const arch = architectureFor(config);
  const layout = describeModel(arch, config);
  const random = seededNormal(seed);
  const source = new Map<string, SourceTensor>();
  const put = (key: string, shape: number[], mean = 0, std = 0.3) =>
    source.set(key, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => mean + std * random()) });
  const linear = (l: LinearLayout) => {
    put(l.weight, [l.dOut, l.dIn]);
    if (l.bias) put(l.bias, [l.dOut], 0, 0.1);
  };
  const normWeights = (n: NormLayout | null) => {
    if (!n) return;
    put(n.weight, [n.dim], 1, 0.1);
    if (n.bias) put(n.bias, [n.dim], 0, 0.1);
  };
  const patches = patchEmbeddings(layout);
  put(patches.projection.weight, [config.hidden, patches.channels, patches.patch, patches.patch]);
  put(patches.projection.bias!, [config.hidden], 0, 0.1);
  put(patches.cls, [1, 1, config.hidden]);
  put(patches.position.key, [1, patches.position.rows, config.hidden]);
  for (const layer of layout.layers) {
    layer.modules.forEach(linear);
    normWeights(layer.attentionNorm);
    normWeights(layer.ffnNorm);
  }
  normWeights(layout.finalNorm);
  layout.head.forEach((s) => linear(s.linear));
  return { config, weights: loadWeights(config, arch, source, 0) };
}

/** `batch` random images of the model's size, values as a mean-0.5/std-0.5 processor gives them. */
export function randomPixels(weights: ModelWeights, batch: number, seed: number): PixelBatch {
  const { channels, image } = patchEmbeddings(weights.layout);
  const random = seededNormal(seed);
  const pixels = Float32Array.from({ length: batch * channels * image.height * image.width }, () => Math.max(-1, Math.min(1, 0.6 * random())));
  return pixelBatch(weights.layout, pixels, batch);
}

/** Shapes and options beyond the vit folder, as config.json overrides. */
export const VIT_VARIANTS: [string, Record<string, unknown>][] = [
  ['grayscale, non-square 12×8 images, no qkv bias', { num_channels: 1, image_size: [12, 8], qkv_bias: false }],
  ['2 channels, 8×20 images in 4×4 patches, 3 heads of 12', { num_channels: 2, image_size: [8, 20], hidden_size: 36, num_attention_heads: 3, intermediate_size: 40 }],
];
