// The GPU memory estimate against what the engine really allocates for the demo LLM (its training
// run and the playground's two decoders), its parts counted by hand, and the refusal when a tensor
// exceeds one binding; tables and logits held in row chunks are refused only when 64 rows are.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { testGpu } from '../test/gpu.ts';
import { Optimizer } from '../train/optimizer.ts';
import { ARCHITECTURES, describeModel } from './architectures.ts';
import { parseModelConfig } from './config.ts';
import { GpuDecoder, playgroundDecoders } from './gpu-decode.ts';
import { GpuModel } from './gpu-model.ts';
import { assertFitsAdapter, describeMemory, estimateTrainingMemory, GpuMemoryError, relativeTensors, type MemoryEstimate } from './memory.ts';
import { DEBERTA_DIR } from './test-deberta.ts';
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
  // Held in row chunks: the logits in blocks of token rows, the word table in vocabulary rows.
  const of = (what: string) => estimate.items.find((i) => i.what === what)!;
  expect(of('logits').split).toEqual({ name: 'logits [tokens × vocab]', bytes: 4 * 16 * 64 * 2759, chunkBytes: 4 * 64 * 2759 });
  expect(of('logits').largest).toBeNull();
  expect(of('frozen weights').split).toEqual({ name: 'model.embed_tokens.weight', bytes: 4 * 2759 * 96, chunkBytes: 4 * 64 * 96 });
  expect(of('frozen weights').largest).toEqual({ name: 'model.norm.weight', bytes: 4 * 96 });
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

it('refuses a tensor larger than one binding, saying by how much; split tables and logits never are', () => {
  const estimate = estimateTrainingMemory(layout, 32, 128);
  // 43.1 MiB of logits (4096 tokens × 2759) against a 32 MiB binding: split, so they fit.
  const limits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 32 * 2 ** 20 };
  expect(() => assertFitsAdapter(estimate, limits)).not.toThrow();
  expect(describeMemory(estimate, limits)).toMatch(/^The run needs about [0-9.]+ MiB of GPU memory at 4096 tokens per batch \(frozen weights 1\.0 MiB, U and V 1\.7 MiB, .*logits 43\.1 MiB\); the adapter allows 256\.0 MiB per buffer and 32\.0 MiB per storage binding$/);
  // A 512 KiB binding: the embedding table (2759 × 96 × 4 B = 1.0 MiB) is split into row chunks,
  // but the largest of the activations, one layer's attention probabilities (32 × 4 heads × 128² ×
  // 4 B = 8 MiB), and of the backward scratch, their gradient, cannot be bound, nor can 64 rows of
  // the logits (64 × 2759 × 4 B).
  const small = { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 512 * 2 ** 10 };
  expect(() => assertFitsAdapter(estimate, small)).toThrow(GpuMemoryError);
  expect(() => assertFitsAdapter(estimate, small)).toThrow(
    'This model does not fit the GPU adapter: layer 0 attention probabilities needs 8.0 MiB in one binding, 7.5 MiB more than the adapter\'s 512.0 KiB (at 4096 tokens per batch: lower the batch size, with gradient accumulation to keep the effective batch, or the max length); ' +
      'score gradients needs 8.0 MiB in one binding, 7.5 MiB more than the adapter\'s 512.0 KiB (at 4096 tokens per batch: lower the batch size, with gradient accumulation to keep the effective batch, or the max length); ' +
      'logits [tokens × vocab] is split into chunks of 64 rows or more, and 64 rows need 689.8 KiB in one binding, 177.8 KiB more than the adapter\'s 512.0 KiB. The run needs',
  );
});

/** Qwen2.5-0.5B's shape: a 151,936 × 896 tied embedding (544 MB), 24 layers, GQA 14/2. */
const qwen = describeModel(ARCHITECTURES.qwen2, parseModelConfig({
  model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24,
  num_attention_heads: 14, num_key_value_heads: 2, vocab_size: 151936, max_position_embeddings: 32768, rms_norm_eps: 1e-6,
  rope_theta: 1e6, tie_word_embeddings: true, hidden_act: 'silu',
}));

it('fits Qwen2.5-0.5B’s 544 MB embedding under WebGPU’s default 128 MiB binding, split; refuses where 64 rows cannot be bound', () => {
  const estimate = estimateTrainingMemory(qwen, 1, 128, playgroundDecoders(qwen));
  const frozen = estimate.items.find((i) => i.what === 'frozen weights')!;
  expect(frozen.split).toEqual({ name: 'model.embed_tokens.weight', bytes: 4 * 151936 * 896, chunkBytes: 4 * 64 * 896 });
  expect(() => assertFitsAdapter(estimate, { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 })).not.toThrow();
  // 64 rows of the table are 224 KiB, of the logits 37.1 MiB: a 200 KiB binding holds neither.
  expect(() => assertFitsAdapter(estimate, { maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 200 * 2 ** 10 })).toThrow(
    /model\.embed_tokens\.weight is split into chunks of 64 rows or more, and 64 rows need 224\.0 KiB in one binding, 24\.0 KiB more than the adapter's 200\.0 KiB/,
  );
});

it('counts the playground’s base and fine-tuned decoders (KV caches and activations) exactly as they allocate', async () => {
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 2, maxSeq: 16, trains: () => true, factorOn: 'cpu' });
  const generation = playgroundDecoders(layout);
  // The demo LLM's 128 positions bound the playground's 512.
  expect(generation).toEqual({ decoders: 2, capacity: 128, chunk: 64 });
  const create = device.createBuffer;
  let allocated = 0;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    allocated += descriptor.size;
    return create.call(device, descriptor);
  };
  try {
    for (const weights of ['base', 'tuned'] as const) new GpuDecoder(model, { capacity: generation.capacity, weights });
  } finally {
    device.createBuffer = create;
  }
  const without = estimateTrainingMemory(layout, 4, 32);
  const estimate = estimateTrainingMemory(layout, 4, 32, generation);
  const item = estimate.items.find((i) => i.what === 'generation (2 decoders, 128 tokens each)')!;
  expect(item.bytes).toBe(allocated);
  expect(estimate.total - without.total).toBe(allocated);
  // Of which the KV caches: 2 decoders × 3 layers × K and V × 128 tokens × 2 KV heads × 24.
  expect(estimate.items.length).toBe(without.items.length + 1);
  expect(allocated).toBeGreaterThan(4 * 2 * 3 * 2 * 128 * 48);
  expect(describeMemory(estimate, device.limits)).toContain(`generation (2 decoders, 128 tokens each) ${(allocated / 2 ** 20).toFixed(1)} MiB`);
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

/** DeBERTa-v3-base's shape (the fixture's config at full size): 12 layers of 12 heads of 64,
 * 256 position buckets over 512 relative positions, a 128,100 × 768 word table. */
const debertaBase = describeModel(ARCHITECTURES['deberta-v2'], parseModelConfig({
  ...JSON.parse(readFileSync(join(DEBERTA_DIR, 'config.json'), 'utf8')),
  hidden_size: 768, intermediate_size: 3072, num_attention_heads: 12, num_hidden_layers: 12, vocab_size: 128100,
  max_position_embeddings: 512, position_buckets: 256, pooler_hidden_size: 768,
}));

it('counts DeBERTa-v3-base’s rel / dRel for the batch rows one binding holds: 32 × 256 fits a 128 MiB binding', () => {
  const limits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20 };
  const rel = (estimate: MemoryEstimate) => estimate.items.find((i) => i.what === 'backward scratch')!.largest!;
  // 12 heads × 256 tokens × 385 columns × 4 B a batch row: 144.4 MiB for all 32, 28 rows in one
  // binding (the largest scratch tensor; the score gradients are 96 MiB).
  const row = 12 * 256 * 385 * 4;
  const unsplit = estimateTrainingMemory(debertaBase, 32, 256);
  expect(rel(unsplit)).toEqual({ name: 'relative rel / dRel', bytes: 32 * row });
  expect(() => assertFitsAdapter(unsplit, limits)).toThrow(/relative rel \/ dRel needs 144\.4 MiB in one binding/);
  const split = estimateTrainingMemory(debertaBase, 32, 256, undefined, 128 * 2 ** 20);
  expect(rel(split)).toEqual({ name: 'relative rel / dRel', bytes: 28 * row });
  expect(split.total).toBe(unsplit.total - 4 * row);
  expect(() => assertFitsAdapter(split, limits)).not.toThrow();
  // A binding smaller than one batch row still counts one row, which the binding check refuses.
  const tiny = relativeTensors(debertaBase, 32, 256, 4 * 2 ** 20).scratch.find((t) => t.name === 'relative rel / dRel')!;
  expect(tiny.elements * 4).toBe(row);
});
