// The Llama family as the architecture table describes it: config keys, linear shapes (KV heads,
// head_dim ≠ hidden/heads), biases per linear, tied heads, heatmap rows, and the weight key map
// on transformers' own llama folder.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHITECTURES, describeModel, exportNames, vectorRows } from './architectures.ts';
import { parseModelConfig, ModelConfigError } from './config.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { causalLmLabels, headRows, labelShape } from './task.ts';
import { HF_TINY, loadFolderWeights, readTensors } from './test-folders.ts';

const LLAMA = join(HF_TINY, 'llama');
const llamaJson = (): Record<string, unknown> => JSON.parse(readFileSync(join(LLAMA, 'config.json'), 'utf8'));

describe('decoder configs', () => {
  it('reads the llama fixture: KV heads, head_dim, RMSNorm eps, rotary θ (transformers 5 rope_parameters), untied head, no biases', () => {
    expect(parseModelConfig(llamaJson())).toMatchObject({
      modelType: 'llama', hidden: 32, layers: 2, heads: 4, kvHeads: 2, headDim: 8, intermediate: 64, vocabSize: 350,
      layerNormEps: 1e-6, activation: 'silu', padTokenId: 2, rope: { theta: 1e4, scaling: null }, tieWordEmbeddings: false, biases: [],
    });
  });

  it('reads transformers 4 keys and the llama3 scaling; Qwen2 has q, k, v biases and θ 1e6 by default', () => {
    const base = { ...llamaJson(), rope_parameters: undefined };
    const scaled = parseModelConfig({
      ...base, rope_theta: 5e5, tie_word_embeddings: true,
      rope_scaling: { rope_type: 'llama3', factor: 32, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 },
    });
    expect(scaled.rope).toEqual({ theta: 5e5, scaling: { factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 8192 } });
    expect(scaled.tieWordEmbeddings).toBe(true);
    const qwen = parseModelConfig({ ...base, model_type: 'qwen2' });
    expect(qwen.biases).toEqual(['q', 'k', 'v']);
    expect(qwen.rope!.theta).toBe(1e6);
    expect(parseModelConfig({ ...base, attention_bias: true, mlp_bias: true }).biases).toEqual(['q', 'k', 'v', 'o', 'gate', 'up', 'down']);
  });

  it('refuses what it cannot run, naming the field and the file', () => {
    const base = llamaJson();
    const parse = (over: Record<string, unknown>) => () => parseModelConfig({ ...base, ...over }, 'tiny/config.json');
    expect(parse({ rope_parameters: { rope_type: 'yarn', rope_theta: 1e4, factor: 4 } })).toThrow('tiny/config.json: rope_type "yarn" is not supported; supported: default, llama3');
    expect(parse({ rope_parameters: { rope_type: 'llama3', rope_theta: 1e4, factor: 8 } })).toThrow('rope scaling "low_freq_factor" is missing');
    expect(parse({ num_key_value_heads: 3 })).toThrow('"num_attention_heads" (4) is not a multiple of "num_key_value_heads" (3)');
    expect(parse({ head_dim: 7 })).toThrow('"head_dim" (7) must be even');
    expect(parse({ attention_bias: 'yes' })).toThrow(ModelConfigError);
    expect(parse({ tie_word_embeddings: 1 })).toThrow('"tie_word_embeddings" must be true or false');
    expect(parse({ model_type: 'qwen2', use_sliding_window: true, sliding_window: 4 })).toThrow('tiny/config.json: "use_sliding_window" is true; sliding-window attention is not supported');
    expect(parseModelConfig({ ...base, model_type: 'qwen2', use_sliding_window: false, sliding_window: 4 }).modelType).toBe('qwen2');
  });
});

describe('decoder layout', () => {
  it('has seven linears a layer with grouped KV shapes, no biases, pre-RMSNorm, a final norm and an untied LM head', () => {
    const config = parseModelConfig(llamaJson());
    const layout = describeModel(ARCHITECTURES.llama, config);
    const shapes = layout.layers[1].modules.map((m) => [m.kind, m.path, m.dIn, m.dOut, m.rank, m.bias]);
    expect(shapes).toEqual([
      ['q', 'model.layers.1.self_attn.q_proj', 32, 32, 32, null],
      ['k', 'model.layers.1.self_attn.k_proj', 32, 16, 16, null],
      ['v', 'model.layers.1.self_attn.v_proj', 32, 16, 16, null],
      ['o', 'model.layers.1.self_attn.o_proj', 32, 32, 32, null],
      ['gate', 'model.layers.1.mlp.gate_proj', 32, 64, 32, null],
      ['up', 'model.layers.1.mlp.up_proj', 32, 64, 32, null],
      ['down', 'model.layers.1.mlp.down_proj', 64, 32, 32, null],
    ]);
    expect(layout.layers[0].attentionNorm).toEqual({ kind: 'rmsnorm', path: 'model.layers.0.input_layernorm', dim: 32, eps: 1e-6, weight: 'model.layers.0.input_layernorm.weight', bias: null });
    expect(layout.finalNorm?.weight).toBe('model.norm.weight');
    expect(layout).toMatchObject({ normPlacement: 'pre', mlp: 'gated', positions: 'rotary', causal: true, kvHeads: 2, headDim: 8, tiedHead: false });
    expect(layout.embeddings).toMatchObject({ position: null, tokenType: null, norm: null, word: { key: 'model.embed_tokens.weight', rows: 350 } });
    expect(layout.task).toEqual({ input: 'every-token', loss: 'causal-lm' });
    expect(layout.head.map((s) => s.linear)).toEqual([{ path: 'lm_head', dIn: 32, dOut: 350, weight: 'lm_head.weight', bias: null }]);
  });

  it('widens q and o for head_dim ≠ hidden/heads, and a tied head is the embedding', () => {
    const config = parseModelConfig({ ...llamaJson(), head_dim: 16, num_key_value_heads: 1, tie_word_embeddings: true });
    const layout = describeModel(ARCHITECTURES.llama, config);
    const dims = Object.fromEntries(layout.layers[0].modules.map((m) => [m.kind, [m.dIn, m.dOut]]));
    expect(dims).toMatchObject({ q: [32, 64], k: [32, 16], v: [32, 16], o: [64, 32] });
    expect(layout.tiedHead).toBe(true);
    expect(layout.head[0].linear.weight).toBe('model.embed_tokens.weight');
  });

  it('gives the heatmap the model’s rows: Σ of seven linears, bias rows only where biases exist', () => {
    const llama = describeModel(ARCHITECTURES.llama, parseModelConfig(llamaJson()));
    const label = (layout: typeof llama) => vectorRows(layout).map((r) => `${r.kind === 'sigma' ? 'Σ' : 'b'}${r.module}`);
    expect(label(llama)).toEqual(['Σq', 'Σk', 'Σv', 'Σo', 'Σgate', 'Σup', 'Σdown']);
    const qwen = describeModel(ARCHITECTURES.qwen2, parseModelConfig({ ...llamaJson(), model_type: 'qwen2' }));
    expect(label(qwen)).toEqual(['Σq', 'Σk', 'Σv', 'Σo', 'Σgate', 'Σup', 'Σdown', 'bq', 'bk', 'bv']);
    expect(qwen.layers[0].modules.map((m) => m.biasName)).toEqual([
      'model.layers.0.self_attn.q_proj.bias', 'model.layers.0.self_attn.k_proj.bias', 'model.layers.0.self_attn.v_proj.bias', null, null, null, null,
    ]);
  });

  it('names the trainable tensors as transformers’ reference gradients do', () => {
    const names = exportNames(ARCHITECTURES.llama, parseModelConfig(llamaJson()));
    const reference = [...readTensors(join(LLAMA, 'ref-grads.safetensors')).keys()].filter((k) => k !== 'loss' && k !== 'logits');
    expect(new Set(names)).toEqual(new Set(reference));
  });

  it('loads the fixture’s weights under their Hugging Face names', () => {
    const { weights } = loadFolderWeights(LLAMA);
    expect(weights.initialised).toEqual([]);
    expect(weights.tensors.get('model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([16, 32]);
    expect(weights.tensors.get('lm_head.weight')?.shape).toEqual([350, 32]);
    expect(weights.tensors.get('model.norm.weight')?.shape).toEqual([32]);
  });
});

describe('task spec', () => {
  it('feeds the head the first token, the last non-pad token, or every token, and shapes the labels', () => {
    const mask = [1, 1, 0, 1, 1, 1];
    expect([...headRows({ input: 'first-token', loss: 'classes' }, mask, 2, 3)]).toEqual([0, 3]);
    expect([...headRows({ input: 'last-token', loss: 'classes' }, mask, 2, 3)]).toEqual([1, 5]);
    expect([...headRows({ input: 'every-token', loss: 'causal-lm' }, mask, 2, 3)]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(labelShape({ input: 'every-token', loss: 'causal-lm' }, 2, 3)).toEqual({ count: 6, dtype: 'i32' });
    expect(labelShape({ input: 'first-token', loss: 'regression' }, 2, 3)).toEqual({ count: 2, dtype: 'f32' });
    expect([...causalLmLabels([0, 5, 2, 0, 7, 9], mask)]).toEqual([0, 5, IGNORE_INDEX, 0, 7, 9]);
  });
});
