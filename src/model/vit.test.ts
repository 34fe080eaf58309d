// ViT beyond the hf-tiny folder's shape: grayscale and 2-channel inputs, non-square images, no
// qkv bias, other head widths — the float64 reference against finite differences and its dense
// form, the GPU model against the reference on its own factors — and a ViTModel checkpoint (bare
// keys, a pooler, no classifier) loaded with its classifier initialised as Hugging Face does.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { testGpu } from '../test/gpu.ts';
import { exportNames } from './architectures.ts';
import { architectureFor } from './config.ts';
import { GpuModel } from './gpu-model.ts';
import { buildReferenceModel, parameter, referenceGradients, referenceLogits, referenceLoss } from './reference.ts';
import { HF_TINY, readFolder } from './test-folders.ts';
import { randomPixels, randomVit, VIT_VARIANTS } from './test-vits.ts';
import { loadWeights, type SourceTensor } from './weights.ts';

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>, floor = 0): number {
  return norm(Array.from(ours, (g, i) => g - ref[i])) / Math.max(norm(ref), floor);
}

const LABELS = [2, 0, 1];

describe.each(VIT_VARIANTS)('a ViT with %s', (_, overrides) => {
  const { config, weights } = randomVit(overrides, 11);
  const batch = randomPixels(weights, 3, 5);

  it('has the trainable vectors its qkv_bias implies, and reference gradients equal to central differences', () => {
    const model = buildReferenceModel(config, weights);
    const names = exportNames(architectureFor(config), config);
    expect(names.some((n) => n.endsWith('attention.attention.query.bias'))).toBe(overrides.qkv_bias !== false);
    expect(names).toContain('vit.encoder.layer.1.attention.output.dense.bias');
    const { grads } = referenceGradients(model, batch, LABELS);
    expect(new Set(grads.keys())).toEqual(new Set(names));
    const samples = [
      'vit.encoder.layer.0.attention.attention.query.sigma',
      'vit.encoder.layer.0.attention.attention.key.sigma',
      'vit.encoder.layer.1.attention.output.dense.bias',
      'vit.encoder.layer.0.intermediate.dense.sigma',
      'vit.encoder.layer.1.output.dense.bias',
      'classifier.weight',
    ];
    // As for the hf-tiny folders (reference.test.ts): h = 1e-5, errors ~1e-10.
    const h = 1e-5;
    for (const name of samples) {
      const p = parameter(model, name);
      const g = grads.get(name)!;
      let i = 0;
      for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[i])) i = j;
      const saved = p[i];
      p[i] = saved + h;
      const up = referenceLoss(model, batch, LABELS).loss;
      p[i] = saved - h;
      const down = referenceLoss(model, batch, LABELS).loss;
      p[i] = saved;
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(numeric - g[i]), `${name}[${i}]: ${g[i]} vs ${numeric}`).toBeLessThan(1e-6 * Math.abs(numeric) + 1e-9);
    }
    expect(relativeError(referenceLogits(model, batch, 'factored'), referenceLogits(model, batch, 'dense'))).toBeLessThan(1e-12);
  });

  it.each(['factored', 'recomposed'] as const)('on the GPU (%s linears) matches the float64 reference on its own factors', async (linearForms) => {
    const { device } = await testGpu();
    const gpu = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, { maxBatch: 4, maxSeq: batch.seq + 3, trains: () => true, factorOn: 'cpu', linearForms });
    gpu.setBatch(batch, LABELS);
    submitPlan(device, gpu.trainPlan(batch.batch, batch.seq));
    const loss = (await readTensor(device, gpu.loss))[0];
    const logits = (await readTensor(device, gpu.logits)).subarray(0, batch.batch * config.numLabels);
    const grads = await readTensor(device, gpu.gradsTensor);
    const reference = buildReferenceModel(config, weights);
    for (const [path, f] of await gpu.readFactors()) {
      const m = reference.modules.get(path)!;
      m.u = Float64Array.from(f.u);
      m.sigma = Float64Array.from(f.sigma);
      m.v = Float64Array.from(f.v);
    }
    const same = referenceGradients(reference, batch, LABELS);
    // As in gpu-model.test.ts: fp32 against float64, a few hundred ops deep.
    expect(Math.abs(loss - same.loss)).toBeLessThan(2e-5 * Math.max(1, same.loss));
    expect(relativeError(logits, same.logits)).toBeLessThan(2e-5);
    const entries = gpu.params.entries.filter((e) => !(e.role === 'bias' && e.module === 'k'));
    const largest = Math.max(...entries.map((e) => norm(same.grads.get(e.name)!)));
    for (const e of entries) expect(relativeError(grads.subarray(e.offset, e.offset + e.length), same.grads.get(e.name)!, 1e-3 * largest), e.name).toBeLessThan(2e-5);
  });
});

describe('a ViTModel checkpoint (bare keys, a pooler, no classifier)', () => {
  const { config, tensors } = readFolder(join(HF_TINY, 'vit'));
  const bare = new Map<string, SourceTensor>();
  for (const [key, t] of tensors) if (!key.startsWith('classifier.')) bare.set(key.replace(/^vit\./, ''), t);
  bare.set('pooler.dense.weight', { shape: [32, 32], data: new Float32Array(32 * 32) });
  bare.set('pooler.dense.bias', { shape: [32], data: new Float32Array(32) });

  it('loads, ignoring the pooler, and gets a classifier as Hugging Face initialises it: trunc_normal(0, initializer_range), bias 0', () => {
    const labels = ['a', 'b', 'c', 'd', 'e'];
    const wide = { ...config, numLabels: 5, labelNames: labels, initializerRange: 1.5 };
    const weights = loadWeights(wide, architectureFor(wide), bare, 3);
    expect(weights.initialised).toEqual(['classifier.weight', 'classifier.bias']);
    expect([...weights.tensors.keys()].some((k) => k.includes('pooler'))).toBe(false);
    expect(weights.tensors.get('vit.embeddings.cls_token')!.data).toEqual(tensors.get('vit.embeddings.cls_token')!.data);
    const w = weights.tensors.get('classifier.weight')!;
    expect(w.shape).toEqual([5, 32]);
    expect(Array.from(weights.tensors.get('classifier.bias')!.data)).toEqual([0, 0, 0, 0, 0]);
    // std 1.5 puts ~18% of N(0, 1.5²) outside [−2, 2]: torch redraws those, so none remain.
    expect(Math.max(...Array.from(w.data, Math.abs))).toBeLessThanOrEqual(2);
    const mean = w.data.reduce((a, b) => a + b, 0) / w.data.length;
    expect(Math.abs(mean)).toBeLessThan(0.3);
    expect(Math.max(...Array.from(w.data, Math.abs))).toBeGreaterThan(1);
  });
});
