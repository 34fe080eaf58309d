import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelConfigError, parseModelConfig } from './config.ts';
import { DEMO_MODEL, HF_TINY } from './test-folders.ts';

const read = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));

describe('parseModelConfig', () => {
  it('reads a BERT config with its labels and dropout rates', () => {
    const c = parseModelConfig(read(join(HF_TINY, 'bert')));
    expect(c).toMatchObject({
      modelType: 'bert', hidden: 32, layers: 2, heads: 4, intermediate: 64, vocabSize: 120, maxPositions: 64,
      typeVocabSize: 2, layerNormEps: 1e-12, activation: 'gelu', padTokenId: 0, numLabels: 3,
      problemType: 'single_label_classification', labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'],
      dropout: { hidden: 0, attention: 0, classifier: 0 }, initializerRange: 0.2,
    });
  });

  it('makes a one-label or problem_type regression config a regression', () => {
    expect(parseModelConfig(read(join(HF_TINY, 'bert-regression'))).problemType).toBe('regression');
    expect(parseModelConfig({ ...read(join(HF_TINY, 'bert')), id2label: undefined, num_labels: 1 }).problemType).toBe('regression');
  });

  it('reads RoBERTa eps and pad id, and DistilBERT key names with its fixed eps', () => {
    expect(parseModelConfig(read(join(HF_TINY, 'roberta')))).toMatchObject({ layerNormEps: 1e-5, padTokenId: 1, typeVocabSize: 1 });
    const d = parseModelConfig({ ...read(join(HF_TINY, 'distilbert')), layer_norm_eps: 1e-5, seq_classif_dropout: 0.3, dropout: 0.1 });
    expect(d).toMatchObject({ hidden: 32, layers: 2, heads: 4, intermediate: 64, typeVocabSize: 0, layerNormEps: 1e-12 });
    expect(d.dropout).toEqual({ hidden: 0.1, attention: 0, classifier: 0.3 });
  });

  it('falls back to the hidden dropout for a null classifier_dropout and to two labels without id2label', () => {
    const c = parseModelConfig(read(DEMO_MODEL));
    expect(c.dropout).toEqual({ hidden: 0.1, attention: 0.1, classifier: 0.1 });
    expect(c.labelNames).toEqual(['LABEL_0', 'LABEL_1']);
    expect(c.initializerRange).toBe(0.02);
  });

  it('reads a ViT config: image and patch size, channels, qkv_bias, no vocabulary; 1 + patches positions', () => {
    const vit = read(join(HF_TINY, 'vit'));
    const c = parseModelConfig(vit);
    expect(c).toMatchObject({ modelType: 'vit', hidden: 32, vocabSize: 0, maxPositions: 17, image: { height: 16, width: 16, patch: 4, channels: 3 }, layerNormEps: 1e-12 });
    expect(c.biases).toEqual(['q', 'k', 'v', 'o', 'f1', 'f2']);
    expect(parseModelConfig({ ...vit, qkv_bias: false }).biases).toEqual(['o', 'f1', 'f2']);
    // ViTConfig's defaults: 224² RGB images in 16² patches, no dropout.
    const defaults = parseModelConfig({ ...vit, image_size: undefined, patch_size: undefined, num_channels: undefined, hidden_dropout_prob: undefined, attention_probs_dropout_prob: undefined });
    expect(defaults).toMatchObject({ image: { height: 224, width: 224, patch: 16, channels: 3 }, maxPositions: 197, dropout: { hidden: 0, attention: 0 } });
    expect(parseModelConfig({ ...vit, image_size: [12, 20], num_channels: 1 }).image).toEqual({ height: 12, width: 20, patch: 4, channels: 1 });
    expect(() => parseModelConfig({ ...vit, image_size: 18 }, 'v/config.json')).toThrow('v/config.json: "image_size" 18×18 is not a whole number of 4×4 patches');
    expect(() => parseModelConfig({ ...vit, patch_size: [4, 2] })).toThrow('only square patches are supported');
    expect(() => parseModelConfig({ ...vit, qkv_bias: 'yes' })).toThrow('"qkv_bias" must be true or false, got "yes"');
    expect(() => parseModelConfig({ ...vit, image_size: '16' })).toThrow('"image_size" must be a positive integer or [height, width], got "16"');
  });

  it('rejects an unsupported model_type, listing the supported ones', () => {
    const parse = () => parseModelConfig({ ...read(DEMO_MODEL), model_type: 'gpt2' }, 'models/x/config.json');
    expect(parse).toThrow(ModelConfigError);
    expect(parse).toThrow('models/x/config.json: model_type "gpt2" is not supported; supported model types: bert, roberta, distilbert, vit, llama, qwen2');
  });

  it('names the missing or invalid field and the file', () => {
    const base = read(DEMO_MODEL);
    expect(() => parseModelConfig({ ...base, hidden_size: undefined }, 'a/config.json')).toThrow('a/config.json: "hidden_size" is missing');
    expect(() => parseModelConfig({ ...base, num_attention_heads: 3 })).toThrow('"hidden_size" (128) is not a multiple of "num_attention_heads" (3)');
    expect(() => parseModelConfig({ ...base, num_hidden_layers: '2' })).toThrow('"num_hidden_layers" must be a positive integer, got "2"');
    expect(() => parseModelConfig({ ...base, hidden_act: 'quick_gelu' })).toThrow('"hidden_act" "quick_gelu" is not supported');
    expect(() => parseModelConfig({ ...base, problem_type: 'multi_label_classification' })).toThrow('"problem_type"');
    expect(() => parseModelConfig({ ...base, num_labels: 3, id2label: { 0: 'a', 1: 'b' } })).toThrow('"num_labels" (3) disagrees with "id2label"');
    expect(() => parseModelConfig('{ not json', 'b/config.json')).toThrow(/^b\/config.json: not valid JSON/);
    expect(() => parseModelConfig({ hidden_size: 4 })).toThrow('"model_type" is missing');
  });
});
