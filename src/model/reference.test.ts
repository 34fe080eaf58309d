import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportNames } from './architectures.ts';
import { architectureFor } from './config.ts';
import { buildReferenceModel, parameter, referenceGradients, referenceLogits, referenceLoss } from './reference.ts';
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
    // As for BERT below: h = 1e-5 leaves truncation and rounding errors ~1e-10.
    const h = 1e-5;
    for (const [name, i] of samples) {
      const p = parameter(model, name);
      const saved = p[i];
      p[i] = saved + h;
      const up = referenceLoss(model, batch, labels).loss;
      p[i] = saved - h;
      const down = referenceLoss(model, batch, labels).loss;
      p[i] = saved;
      const numeric = (up - down) / (2 * h);
      const analytic = result.grads.get(name)![i];
      expect(Math.abs(numeric - analytic), `${name}[${i}]: ${analytic} vs ${numeric}`).toBeLessThan(1e-6 * Math.abs(numeric) + 1e-9);
    }
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
    // h = 1e-5: truncation error ~h²·|f'''| ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11, against
    // gradients of ~1e-3…1e-1: agreement to 1e-6 relative (with a 1e-9 absolute floor) is the
    // most the method can promise, and far tighter than any real bug.
    const h = 1e-5;
    for (const [name, i] of samples) {
      const p = parameter(model, name);
      const saved = p[i];
      p[i] = saved + h;
      const up = referenceLoss(model, batch, labels).loss;
      p[i] = saved - h;
      const down = referenceLoss(model, batch, labels).loss;
      p[i] = saved;
      const numeric = (up - down) / (2 * h);
      const analytic = grads.get(name)![i];
      expect(Math.abs(numeric - analytic), `${name}[${i}]: ${analytic} vs ${numeric}`).toBeLessThan(1e-6 * Math.abs(numeric) + 1e-9);
    }
  });
});
