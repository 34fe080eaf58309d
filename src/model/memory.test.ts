// The GPU memory estimate against what the engine really allocates for the demo LLM, its parts
// counted by hand, and the refusal when a tensor exceeds one binding.
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { testGpu } from '../test/gpu.ts';
import { Optimizer } from '../train/optimizer.ts';
import { GpuModel } from './gpu-model.ts';
import { assertFitsAdapter, describeMemory, estimateTrainingMemory, GpuMemoryError } from './memory.ts';
import { HF_TINY, loadFolderWeights } from './test-folders.ts';

const DEMO_LLM = join(import.meta.dirname, '../../public/demo-llm');
const { weights } = loadFolderWeights(DEMO_LLM);
const layout = weights.layout;

it('counts the demo LLM’s weights, factors, vectors and logits exactly', () => {
  // vocab 2759 × hidden 96 (tied head), 3 layers of 2 norms + a final norm; per layer the seven
  // linears' U and V: q, o 96×96 (r 96), k, v 48×96 (r 48), gate, up 256×96 and down 96×256 (r 96).
  const estimate = estimateTrainingMemory(layout, 16, 64);
  const bytes = Object.fromEntries(estimate.items.map((i) => [i.what, i.bytes]));
  expect(bytes['frozen weights']).toBe(4 * (2759 * 96 + 7 * 96));
  expect(bytes['U and V']).toBe(4 * 3 * (2 * 192 * 96 + 2 * 144 * 48 + 3 * 352 * 96));
  expect(bytes['trainable vectors ×5']).toBe(4 * 5 * 1728);
  expect(bytes.logits).toBe(4 * 16 * 64 * 2759);
  expect(estimate.items.find((i) => i.what === 'logits')!.largest.bytes).toBe(4 * 16 * 64 * 2759);
  expect(estimate.total).toBe(estimate.items.reduce((n, i) => n + i.bytes, 0));
});

it('is close to what the GPU model and optimizer allocate', async () => {
  const { device } = await testGpu();
  const create = device.createBuffer;
  // Bytes of the buffers still alive after creation (factoring's uploads and staging are freed).
  const live: [string, number][] = [];
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create.call(device, descriptor);
    const entry: [string, number] = [descriptor.label ?? '', descriptor.size];
    live.push(entry);
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      live.splice(live.indexOf(entry), 1);
      destroy.call(buffer);
    };
    return buffer;
  };
  try {
    const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 4, maxSeq: 32, trains: () => true, factorOn: 'cpu' });
    new Optimizer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  } finally {
    device.createBuffer = create;
  }
  const allocated = live.reduce((n, [, size]) => n + size, 0);
  const estimate = estimateTrainingMemory(layout, 4, 32).total;
  // Counted 9,439,436 live bytes against 9,304,576 estimated (1.4% under: small tensors such as
  // the inputs and the norms' statistics are left out).
  expect(Math.abs(estimate - allocated) / allocated).toBeLessThan(0.05);
});

it('refuses a tensor larger than one binding, saying by how much; split logits never are', () => {
  const estimate = estimateTrainingMemory(layout, 32, 128);
  // 43.1 MiB of logits (4096 tokens × 2759) against a 32 MiB binding: split, so they fit.
  const limits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 32 * 2 ** 20 };
  expect(() => assertFitsAdapter(estimate, limits)).not.toThrow();
  expect(describeMemory(estimate, limits)).toMatch(/^The run needs about [0-9.]+ MiB of GPU memory at 4096 tokens per batch \(frozen weights 1\.0 MiB, U and V 1\.7 MiB, .*logits 43\.1 MiB\); the adapter allows 256\.0 MiB per buffer and 32\.0 MiB per storage binding$/);
  // A 512 KiB binding: the embedding table (2759 × 96 × 4 B = 1.0 MiB) and the largest of the
  // activations, one layer's attention probabilities (32 × 4 heads × 128² × 4 B = 8 MiB), cannot
  // be bound (the first of an item's largest is named).
  const small = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 512 * 2 ** 10 };
  expect(() => assertFitsAdapter(estimate, small)).toThrow(GpuMemoryError);
  expect(() => assertFitsAdapter(estimate, small)).toThrow(
    'This model does not fit the GPU adapter: model.embed_tokens.weight needs 1.0 MiB in one binding, 522.6 KiB more than the adapter\'s 512.0 KiB; ' +
      'layer 0 attention probabilities needs 8.0 MiB in one binding, 7.5 MiB more than the adapter\'s 512.0 KiB (at 4096 tokens per batch: lower the batch size or max length)',
  );
});

it('counts an image model’s pixel values, patches and patch tokens, close to what the GPU model allocates (hf-tiny/vit)', async () => {
  const vit = loadFolderWeights(join(HF_TINY, 'vit')).weights;
  const estimate = estimateTrainingMemory(vit.layout, 12, 17);
  const activations = estimate.items.find((i) => i.what === 'activations')!;
  expect(activations.bytes).toBeGreaterThan(4 * (12 * 3 * 16 * 16 + 2 * 12 * 16 * 48));
  // projection 32 × 48 + bias, CLS and 17 positions, the two LayerNorms of each layer and the final one.
  expect(estimate.items.find((i) => i.what === 'frozen weights')!.bytes).toBe(4 * (32 * 48 + 32 + 18 * 32 + 5 * 2 * 32));
  const { device } = await testGpu();
  const create = device.createBuffer;
  let allocated = 0;
  const live = new Map<GPUBuffer, number>();
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = create.call(device, descriptor);
    live.set(buffer, descriptor.size);
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      live.delete(buffer);
      destroy.call(buffer);
    };
    return buffer;
  };
  try {
    const model = await GpuModel.create(device, vit, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 12, maxSeq: 17, trains: () => true, factorOn: 'cpu' });
    new Optimizer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  } finally {
    device.createBuffer = create;
  }
  for (const size of live.values()) allocated += size;
  // Counted 1,749,472 live bytes against 1,902,988 estimated (8.8% over: the per-layer counts are
  // the text layers' upper bounds, which weigh more beside this tiny model's weights).
  expect(Math.abs(estimate.total - allocated) / allocated).toBeLessThan(0.1);
});
