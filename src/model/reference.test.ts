import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportNames } from './architectures.ts';
import { architectureFor } from './config.ts';
import { buildReferenceModel, referenceGradients, referenceLogits, referenceLoss } from './reference.ts';
import { expectCentralDifferences } from './test-finite-differences.ts';
import { HF_TINY, loadFolderWeights, readFixtureBatch, readTensors, readVitBatch } from './test-folders.ts';

function loadReferenceModel(dir: string) {
  const { config, weights } = loadFolderWeights(dir);
  return buildReferenceModel(config, weights);
}

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** ‖a − e‖ / max(‖e‖, floor). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 0): number {
  expect(actual.length).toBe(expected.length);
  const diff = Array.from(expected, (e, i) => actual[i] - e);
  return norm(diff) / Math.max(norm(expected), floor);
}

// Both sides are float64 from the same float32 weights; they differ only in summation order and
// in the SVD (ours: Jacobi; transformers: LAPACK). Measured: loss and logits ≤ 5e-14 relative,
// gradients ≤ 5e-13, except the key bias (exactly 0 in exact arithmetic, ~1e-17 of rounding noise
// on both sides) at ≤ 7e-11 of its floor. 1e-9 leaves margin and still catches a wrong eps
// (DistilBERT's fixed 1e-12 read as 1e-5) or a wrong position offset by orders of magnitude.
const FIXTURE_TOL = 1e-9;

describe.each(['bert', 'bert-regression', 'roberta', 'distilbert'])('hf-tiny/%s', (folder) => {
  const dir = join(HF_TINY, folder);
  const model = loadReferenceModel(dir);
  const { batch, labels } = readFixtureBatch(dir);
  const expected = readTensors(join(dir, 'ref-grads.safetensors'));
  const result = referenceGradients(model, batch, labels);

  it('matches the loss and logits transformers computed in float64', () => {
    expect(Math.abs(result.loss - expected.get('loss')!.data[0]) / Math.abs(expected.get('loss')!.data[0])).toBeLessThan(FIXTURE_TOL);
    expect(relativeError(result.logits, expected.get('logits')!.data)).toBeLessThan(FIXTURE_TOL);
  });

  it('matches every Σ, bias and head gradient transformers computed', () => {
    const names = exportNames(architectureFor(model.config), model.config);
    expect(new Set(names)).toEqual(new Set([...expected.keys()].filter((k) => k !== 'loss' && k !== 'logits')));
    expect(new Set(result.grads.keys())).toEqual(new Set(names));
    // The key bias gradient is ~0 in exact arithmetic: judge every tensor against a floor of
    // 1e-6 × the largest gradient norm rather than its own (rounding-noise) norm.
    const floor = 1e-6 * Math.max(...names.map((n) => norm(expected.get(n)!.data)));
    for (const name of names) {
      expect(relativeError(result.grads.get(name)!, expected.get(name)!.data, floor), name).toBeLessThan(FIXTURE_TOL);
    }
  });

  it('gives the same logits factored as unfactored', () => {
    // Only rounding separates U·diag(Σ)·Vᵀ·x from W·x: ~1e-15 relative per product.
    expect(relativeError(referenceLogits(model, batch, 'factored'), referenceLogits(model, batch, 'dense'))).toBeLessThan(1e-12);
  });
});

describe('hf-tiny/vit (ViTForImageClassification on transformers\' pixel_values)', () => {
  const dir = join(HF_TINY, 'vit');
  const model = loadReferenceModel(dir);
  const { batch, labels } = readVitBatch(dir);
  const expected = readTensors(join(dir, 'ref-grads.safetensors'));
  const result = referenceGradients(model, batch, labels);

  it('reads pixel values stored exactly as float32', () => {
    expect(Float64Array.from(batch.pixelValues)).toEqual(expected.get('pixel_values')!.data);
  });

  it('matches the loss and logits transformers computed in float64', () => {
    expect(Math.abs(result.loss - expected.get('loss')!.data[0]) / Math.abs(expected.get('loss')!.data[0])).toBeLessThan(FIXTURE_TOL);
    expect(relativeError(result.logits, expected.get('logits')!.data)).toBeLessThan(FIXTURE_TOL);
  });

  it('matches every Σ, bias and head gradient transformers computed', () => {
    const names = exportNames(architectureFor(model.config), model.config);
    expect(new Set(names)).toEqual(new Set([...expected.keys()].filter((k) => !['loss', 'logits', 'pixel_values'].includes(k))));
    expect(new Set(result.grads.keys())).toEqual(new Set(names));
    const floor = 1e-6 * Math.max(...names.map((n) => norm(expected.get(n)!.data)));
    for (const name of names) {
      expect(relativeError(result.grads.get(name)!, expected.get(name)!.data, floor), name).toBeLessThan(FIXTURE_TOL);
    }
  });

  it('gives the same logits factored as unfactored', () => {
    expect(relativeError(referenceLogits(model, batch, 'factored'), referenceLogits(model, batch, 'dense'))).toBeLessThan(1e-12);
  });

  it('matches central finite differences of its loss for sampled Σ, bias and head entries', () => {
    const samples: [string, number][] = [
      ['vit.encoder.layer.0.attention.attention.query.sigma', 0],
      ['vit.encoder.layer.0.attention.attention.value.sigma', 17],
      ['vit.encoder.layer.1.attention.output.dense.sigma', 3],
      ['vit.encoder.layer.0.intermediate.dense.sigma', 31],
      ['vit.encoder.layer.1.output.dense.sigma', 9],
      ['vit.encoder.layer.1.attention.attention.query.bias', 12],
      ['vit.encoder.layer.0.attention.attention.value.bias', 4],
      ['vit.encoder.layer.0.output.dense.bias', 5],
      ['vit.encoder.layer.1.intermediate.dense.bias', 63],
      ['classifier.weight', 40],
      ['classifier.bias', 2],
    ];
    expectCentralDifferences(model, result.grads, samples, () => referenceLoss(model, batch, labels).loss);
  });
});

describe('hf-tiny/deberta-v3 (disentangled relative attention)', () => {
  const dir = join(HF_TINY, 'deberta-v3');
  const model = loadReferenceModel(dir);
  const { batch, labels } = readFixtureBatch(dir);
  const expected = readTensors(join(dir, 'ref-grads.safetensors'));
  const result = referenceGradients(model, batch, labels);
  // DebertaV2ForSequenceClassification takes its cross-entropy on `logits.float()`: the fixture's
  // loss is a float32 value (it is exactly representable as one) and dLogits, hence every
  // gradient, carries float32 rounding (measured here: loss 1.1e-7, gradients 4e-8…7e-8
  // relative, uniformly, while the logits agree to 1e-14). So the logits are held to the float64
  // bound and the loss and gradients to float32's, still far below any modelling error.
  const FLOAT32_LOSS_TOL = 1e-6;

  it('matches the logits transformers computed in float64, and its float32 loss', () => {
    expect(relativeError(result.logits, expected.get('logits')!.data)).toBeLessThan(FIXTURE_TOL);
    expect(Math.abs(result.loss - expected.get('loss')!.data[0]) / expected.get('loss')!.data[0]).toBeLessThan(FLOAT32_LOSS_TOL);
  });

  it('matches every Σ, bias and head gradient, the key bias’s included (the p2c term makes it non-zero)', () => {
    const names = exportNames(architectureFor(model.config), model.config);
    expect(new Set(names)).toEqual(new Set([...expected.keys()].filter((k) => k !== 'loss' && k !== 'logits')));
    expect(new Set(result.grads.keys())).toEqual(new Set(names));
    const largest = Math.max(...names.map((n) => norm(expected.get(n)!.data)));
    for (const name of names) {
      if (name.endsWith('key_proj.bias')) expect(norm(expected.get(name)!.data), name).toBeGreaterThan(1e-2 * largest);
      expect(relativeError(result.grads.get(name)!, expected.get(name)!.data), name).toBeLessThan(FLOAT32_LOSS_TOL);
    }
  });

  it('gives the same logits factored as unfactored', () => {
    expect(relativeError(referenceLogits(model, batch, 'factored'), referenceLogits(model, batch, 'dense'))).toBeLessThan(1e-12);
  });
});

describe('referenceGradients on hf-tiny/bert', () => {
  const model = loadReferenceModel(join(HF_TINY, 'bert'));
  const { batch, labels } = readFixtureBatch(join(HF_TINY, 'bert'));
  const { grads } = referenceGradients(model, batch, labels);

  it('matches central finite differences of referenceLoss for sampled Σ, bias and head entries', () => {
    const samples: [string, number][] = [
      ['bert.encoder.layer.0.attention.self.query.sigma', 0],
      ['bert.encoder.layer.0.attention.self.value.sigma', 31],
      ['bert.encoder.layer.0.intermediate.dense.sigma', 7],
      ['bert.encoder.layer.1.attention.output.dense.sigma', 3],
      ['bert.encoder.layer.1.output.dense.sigma', 30],
      ['bert.encoder.layer.0.output.dense.bias', 5],
      ['bert.encoder.layer.1.attention.self.query.bias', 12],
      ['bert.encoder.layer.1.intermediate.dense.bias', 63],
      ['bert.pooler.dense.weight', 100],
      ['bert.pooler.dense.bias', 2],
      ['classifier.weight', 40],
      ['classifier.bias', 1],
    ];
    expectCentralDifferences(model, grads, samples, () => referenceLoss(model, batch, labels).loss);
  });
});
