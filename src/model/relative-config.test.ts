import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, describeModel, exportNames, tokenEmbeddings, vectorRows } from './architectures.ts';
import { parseModelConfig } from './config.ts';
import { DEBERTA_DIR } from './test-deberta.ts';

const fixture = (): Record<string, unknown> => JSON.parse(readFileSync(join(DEBERTA_DIR, 'config.json'), 'utf8'));

describe('DeBERTa-v2 configs', () => {
  it('reads the fixture: relative attention, no absolute positions or token types, eps 1e-7, the pooler’s gelu', () => {
    const config = parseModelConfig(fixture());
    expect(config).toMatchObject({
      modelType: 'deberta-v2', layerNormEps: 1e-7, typeVocabSize: 0, absolutePositions: false, headActivation: 'gelu', attentionScaleFactor: 3,
      relative: { c2p: true, p2c: true, shareKey: true, normEmbeddings: true, positions: { buckets: 16, maxRelative: 64, span: 16 } },
    });
    const layout = describeModel(ARCHITECTURES['deberta-v2'], config);
    expect(tokenEmbeddings(layout, 'the test').position).toBeNull();
    expect(tokenEmbeddings(layout, 'the test').tokenType).toBeNull();
    expect(layout.layers[0].modules.map((m) => m.path)).toEqual([
      'query_proj', 'key_proj', 'value_proj', 'output.dense', 'intermediate.dense', 'output.dense',
    ].map((p, i) => `deberta.encoder.layer.0.${i < 3 ? `attention.self.${p}` : i === 3 ? `attention.${p}` : p}`));
    expect(layout.attention).toMatchObject({
      kind: 'disentangled', c2p: true, p2c: true, keyModule: 'k', queryModule: 'q',
      embeddings: { key: 'deberta.encoder.rel_embeddings.weight', rows: 32, dim: 32 },
      norm: { path: 'deberta.encoder.LayerNorm', eps: 1e-7 },
    });
    // 1/√(8·3), the root taken in float32 as transformers takes it.
    expect(layout.attention.scale).toBe(1 / Math.fround(Math.sqrt(24)));
    expect(layout.head.map((s) => [s.linear.path, s.activation])).toEqual([['pooler.dense', 'gelu'], ['classifier', null]]);
  });

  it('without share_att_key adds pos_key_proj and pos_query_proj (with biases) as factored linears and heatmap rows', () => {
    const config = parseModelConfig({ ...fixture(), share_att_key: false });
    const layout = describeModel(ARCHITECTURES['deberta-v2'], config);
    expect(layout.attention).toMatchObject({ keyModule: 'pk', queryModule: 'pq' });
    expect(exportNames(ARCHITECTURES['deberta-v2'], config)).toContain('deberta.encoder.layer.1.attention.self.pos_query_proj.bias');
    expect(vectorRows(layout).map((r) => `${r.kind}:${r.module}`)).toEqual([
      ...['q', 'k', 'v', 'o', 'f1', 'f2', 'pk', 'pq'].map((m) => `sigma:${m}`), ...['q', 'k', 'v', 'o', 'f1', 'f2', 'pk', 'pq'].map((m) => `bias:${m}`),
    ]);
    // Only the projection a term uses exists.
    const c2pOnly = describeModel(ARCHITECTURES['deberta-v2'], parseModelConfig({ ...fixture(), share_att_key: false, pos_att_type: ['c2p'] }));
    expect(c2pOnly.layers[0].modules.map((m) => m.kind)).toEqual(['q', 'k', 'v', 'o', 'f1', 'f2', 'pk']);
    expect(c2pOnly.attention).toMatchObject({ keyModule: 'pk', queryModule: null, scale: 1 / Math.fround(Math.sqrt(16)) });
  });

  it('reads the older "p2c|c2p" string, position_biased_input, token types and max_relative_positions', () => {
    const config = parseModelConfig({ ...fixture(), pos_att_type: 'p2c|c2p', position_biased_input: true, type_vocab_size: 2, max_relative_positions: 12, position_buckets: -1 });
    expect(config.relative).toMatchObject({ c2p: true, p2c: true, positions: { buckets: -1, maxRelative: 12, span: 12 } });
    const layout = describeModel(ARCHITECTURES['deberta-v2'], config);
    expect(tokenEmbeddings(layout, 'the test').position).toMatchObject({ key: 'deberta.embeddings.position_embeddings.weight', rows: 64 });
    expect(tokenEmbeddings(layout, 'the test').tokenType).toMatchObject({ rows: 2 });
    expect(layout.attention).toMatchObject({ embeddings: { rows: 24 } });
  });

  it('runs relative_attention false as plain attention that keeps DeBERTa’s scale', () => {
    const layout = describeModel(ARCHITECTURES['deberta-v2'], parseModelConfig({ ...fixture(), relative_attention: false }));
    expect(layout.attention).toEqual({ kind: 'plain', scale: 1 / Math.fround(Math.sqrt(24)) });
  });

  it('refuses what it does not compute, naming the key and the file', () => {
    const parse = (over: Record<string, unknown>) => () => parseModelConfig({ ...fixture(), ...over }, 'deb/config.json');
    expect(parse({ conv_kernel_size: 3 })).toThrow('deb/config.json: "conv_kernel_size" 3 is not supported: the convolution layer of DeBERTa-v2-xlarge is not implemented');
    expect(parse({ pooler_dropout: 0.1 })).toThrow('"pooler_dropout" 0.1 is not supported');
    expect(parse({ embedding_size: 16 })).toThrow('"embedding_size" 16 is not supported');
    expect(parse({ pos_att_type: ['c2p', 'p2p'] })).toThrow('"pos_att_type" must list "c2p" and/or "p2c"');
    expect(parse({ norm_rel_ebd: 'batch_norm' })).toThrow('"norm_rel_ebd" "batch_norm" is not supported');
    expect(parse({ pooler_hidden_act: 'quick_gelu' })).toThrow('"pooler_hidden_act" "quick_gelu" is not supported');
    expect(parse({ share_att_key: 'yes' })).toThrow('"share_att_key" must be true or false');
  });
});
