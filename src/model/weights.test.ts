import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, describeModel, exportNames, tokenEmbeddings } from './architectures.ts';
import { headNote, loadWeights, MissingWeightsError } from './weights.ts';
import { DEMO_MODEL, HF_TINY, readFolder } from './test-folders.ts';

describe('describeModel', () => {
  it('lists each layer with its six modules, paths and shapes', () => {
    const { config } = readFolder(join(HF_TINY, 'distilbert'));
    const layout = describeModel(ARCHITECTURES.distilbert, config);
    expect(layout.layers).toHaveLength(2);
    const [q, , , o, f1, f2] = layout.layers[1].modules;
    expect(q).toMatchObject({ kind: 'q', path: 'distilbert.transformer.layer.1.attention.q_lin', dIn: 32, dOut: 32, rank: 32 });
    expect(o.weight).toBe('distilbert.transformer.layer.1.attention.out_lin.weight');
    expect(f1).toMatchObject({ path: 'distilbert.transformer.layer.1.ffn.lin1', dIn: 32, dOut: 64, rank: 32, sigmaName: 'distilbert.transformer.layer.1.ffn.lin1.sigma' });
    expect(f2).toMatchObject({ dIn: 64, dOut: 32, rank: 32 });
    expect(layout.layers[0].ffnNorm).toMatchObject({ path: 'distilbert.transformer.layer.0.output_layer_norm', eps: 1e-12 });
    expect(tokenEmbeddings(layout, 'the test').tokenType).toBeNull();
    expect(layout.head.map((s) => [s.linear.path, s.linear.dOut, s.activation])).toEqual([['pre_classifier', 32, 'relu'], ['classifier', 3, null]]);
  });

  it('limits RoBERTa sequences by the position offset', () => {
    const { config } = readFolder(join(HF_TINY, 'roberta'));
    expect(describeModel(ARCHITECTURES.roberta, config).maxSequence).toBe(40 - 2);
  });

  it('names the trainable tensors as the reference gradients do', () => {
    const { config } = readFolder(join(HF_TINY, 'roberta'));
    const names = exportNames(ARCHITECTURES.roberta, config);
    expect(names.slice(0, 2)).toEqual(['roberta.encoder.layer.0.attention.self.query.sigma', 'roberta.encoder.layer.0.attention.self.query.bias']);
    expect(names.slice(-4)).toEqual(['classifier.dense.weight', 'classifier.dense.bias', 'classifier.out_proj.weight', 'classifier.out_proj.bias']);
    expect(names).toHaveLength(2 * 6 * 2 + 4);
  });
});

describe('loadWeights', () => {
  const demo = readFolder(DEMO_MODEL);

  it('initialises a missing head as Hugging Face does and ignores the masked-LM tensors', () => {
    const w = loadWeights(demo.config, ARCHITECTURES.bert, demo.tensors, 7);
    expect(w.initialised).toEqual(['bert.pooler.dense.weight', 'bert.pooler.dense.bias', 'classifier.weight', 'classifier.bias']);
    expect([...w.tensors.keys()].some((k) => k.startsWith('cls.'))).toBe(false);
    const weight = w.tensors.get('bert.pooler.dense.weight')!.data;
    const mean = weight.reduce((a, b) => a + b, 0) / weight.length;
    const std = Math.sqrt(weight.reduce((a, b) => a + (b - mean) ** 2, 0) / weight.length);
    // 16,384 normal draws: the sample std is within ~1% of initializer_range 0.02.
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(Math.abs(std - 0.02)).toBeLessThan(0.0005);
    expect(w.tensors.get('classifier.bias')!.data.every((b) => b === 0)).toBe(true);
    expect(loadWeights(demo.config, ARCHITECTURES.bert, demo.tensors, 7).tensors.get('classifier.weight')!.data)
      .toEqual(w.tensors.get('classifier.weight')!.data);
    expect(loadWeights(demo.config, ARCHITECTURES.bert, demo.tensors, 8).tensors.get('classifier.weight')!.data)
      .not.toEqual(w.tensors.get('classifier.weight')!.data);
  });

  it('keeps a head the checkpoint has', () => {
    const { config, tensors } = readFolder(join(HF_TINY, 'bert'));
    const w = loadWeights(config, ARCHITECTURES.bert, tensors, 0);
    expect(w.initialised).toEqual([]);
    expect(w.tensors.get('classifier.weight')!.data).toEqual(tensors.get('classifier.weight')!.data);
  });

  it('accepts a bare-model checkpoint and old LayerNorm gamma/beta names', () => {
    const renamed = new Map(
      [...demo.tensors].map(([k, v]) => [k.replace(/^bert\./, '').replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), v]),
    );
    const w = loadWeights(demo.config, ARCHITECTURES.bert, renamed, 7);
    expect(w.tensors.get('bert.embeddings.LayerNorm.weight')!.data).toEqual(demo.tensors.get('bert.embeddings.LayerNorm.weight')!.data);
  });

  it('names every missing tensor and every wrong shape', () => {
    const lacking = new Map(demo.tensors);
    lacking.delete('bert.encoder.layer.1.attention.self.key.weight');
    lacking.delete('bert.embeddings.position_embeddings.weight');
    expect(() => loadWeights(demo.config, ARCHITECTURES.bert, lacking, 0)).toThrow(MissingWeightsError);
    expect(() => loadWeights(demo.config, ARCHITECTURES.bert, lacking, 0)).toThrow(
      'lacks 2 tensor(s) the model needs: bert.embeddings.position_embeddings.weight, bert.encoder.layer.1.attention.self.key.weight',
    );
    const bad = new Map(demo.tensors);
    bad.set('bert.encoder.layer.0.output.dense.bias', { dtype: 'F32', shape: [7], data: new Float32Array(7) });
    expect(() => loadWeights(demo.config, ARCHITECTURES.bert, bad, 0)).toThrow('bert.encoder.layer.0.output.dense.bias is [7], expected [128]');
  });

  it('re-initialises a head with another number of labels (as ignore_mismatched_sizes), keeping the rest of the checkpoint', () => {
    const { config, tensors } = readFolder(join(HF_TINY, 'bert'));
    const w = loadWeights({ ...config, numLabels: 2 }, ARCHITECTURES.bert, tensors, 0);
    expect(w.reinitialised).toEqual([
      { key: 'classifier.weight', checkpoint: [3, 32], model: [2, 32] },
      { key: 'classifier.bias', checkpoint: [3], model: [2] },
    ]);
    expect(w.initialised).toEqual([]);
    expect(w.tensors.get('classifier.bias')!.data).toEqual(new Float32Array(2));
    expect(w.tensors.get('bert.pooler.dense.weight')!.data).toEqual(tensors.get('bert.pooler.dense.weight')!.data);
    expect(headNote(w, { numLabels: 3, regression: false }, { numLabels: 2, regression: false })).toBe(
      "Head re-initialised: the checkpoint's classifier has 3 labels, the dataset has 2 classes (classifier.weight [3, 32] → [2, 32], classifier.bias [3] → [2]), as Hugging Face does with ignore_mismatched_sizes.",
    );
    const regression = readFolder(join(HF_TINY, 'bert-regression'));
    const fromRegression = loadWeights({ ...regression.config, numLabels: 2, problemType: 'single_label_classification' }, ARCHITECTURES.bert, regression.tensors, 0);
    expect(headNote(fromRegression, { numLabels: 1, regression: true }, { numLabels: 2, regression: false })).toMatch(/^Head re-initialised: the checkpoint's classifier has a regression head \(1 output\), the dataset has 2 classes \(classifier\.weight \[1, 32\] → \[2, 32\]/);
    expect(headNote(loadWeights(config, ARCHITECTURES.bert, tensors, 0), { numLabels: 3, regression: false }, { numLabels: 3, regression: false })).toBeUndefined();
  });
});
