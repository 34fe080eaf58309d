// The tiny pre-trained Llama in public/demo-llm (bench/torch/pretrain_tiny_llama.py) read through
// the studio's own readers: its folder, its tokenizer.json (ids equal to those the Python BPE that
// trained it gives), its chat template, and its SST-2 prompt/completion files.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { buildCausalLmExamples } from './causal-lm-data.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { parseTable } from './dataset.ts';
import { readModelFolder } from './model-folder.ts';
import { createTokenizer } from './tokenizer.ts';

const DEMO = new URL('../../public/demo-llm/', import.meta.url).pathname;
const SST2_DEV = new URL('../../../shared/data/glue/SST-2/dev.tsv', import.meta.url).pathname;
const TRAJECTORY = new URL('../train/fixtures/torch-llm-sst2-trajectory.json', import.meta.url).pathname;
const json = (name: string) => JSON.parse(readFileSync(`${DEMO}${name}`, 'utf8')) as Record<string, unknown>;
const tokenizerConfig = json('tokenizer_config.json');
const tokenizer = createTokenizer({ tokenizerJson: json('tokenizer.json'), tokenizerConfig });

const jsonlTable = (name: string) => {
  const bytes = readFileSync(`${DEMO}${name}`);
  return parseTable(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name);
};

describe('demo LLM (public/demo-llm)', () => {
  it('is a Llama folder with Hugging Face key names, tied embeddings and GQA', async () => {
    const folder = readModelFolder(await readModelDir(DEMO));
    const config = folder.config as Record<string, number | string | boolean | string[]>;
    expect(config.model_type).toBe('llama');
    expect(config.architectures).toEqual(['LlamaForCausalLM']);
    expect(config.tie_word_embeddings).toBe(true);
    const hidden = config.hidden_size as number;
    const headDim = config.head_dim as number;
    const kv = (config.num_key_value_heads as number) * headDim;
    const inter = config.intermediate_size as number;
    expect(config.num_key_value_heads).toBeLessThan(config.num_attention_heads as number);
    expect(folder.tensors.has('lm_head.weight')).toBe(false);
    expect(folder.tensors.get('model.embed_tokens.weight')?.shape).toEqual([config.vocab_size, hidden]);
    const shapes: Record<string, number[]> = {
      'self_attn.q_proj.weight': [hidden, hidden],
      'self_attn.k_proj.weight': [kv, hidden],
      'self_attn.v_proj.weight': [kv, hidden],
      'self_attn.o_proj.weight': [hidden, hidden],
      'mlp.gate_proj.weight': [inter, hidden],
      'mlp.up_proj.weight': [inter, hidden],
      'mlp.down_proj.weight': [hidden, inter],
      'input_layernorm.weight': [hidden],
      'post_attention_layernorm.weight': [hidden],
    };
    const layers = config.num_hidden_layers as number;
    for (let layer = 0; layer < layers; layer++) {
      for (const [name, shape] of Object.entries(shapes)) expect(folder.tensors.get(`model.layers.${layer}.${name}`)?.shape).toEqual(shape);
    }
    expect(folder.tensors.size).toBe(2 + layers * Object.keys(shapes).length);
  });

  it('its tokenizer.json gives exactly the ids of the Python BPE that trained it, BOS first, and decodes back', () => {
    const check = json('tokenizer-check.json') as { rows: { text: string; ids: number[] }[] };
    expect(check.rows.length).toBeGreaterThan(20);
    for (const row of check.rows) {
      expect(tokenizer.encodeIds(row.text, { addSpecialTokens: true })).toEqual(row.ids);
      expect(tokenizer.decode(row.ids, { skipSpecialTokens: true })).toBe(row.text);
    }
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.padId]).toEqual([0, 1, 2]);
    expect(tokenizer.vocabSize).toBe((json('config.json') as { vocab_size: number }).vocab_size);
  });

  it('round-trips every SST-2 dev sentence', () => {
    const sentences = readFileSync(SST2_DEV, 'utf8').trim().split('\n').slice(1).map((line) => line.split('\t')[0]);
    expect(sentences).toHaveLength(872);
    for (const sentence of sentences) expect(tokenizer.decode(tokenizer.encodeIds(sentence, { addSpecialTokens: false }))).toBe(sentence);
  });

  it('its chat template renders and trains on the assistant turn only', async () => {
    const line = JSON.stringify({ messages: [{ role: 'user', content: 'a charming journey' }, { role: 'assistant', content: 'positive' }] });
    const table = await parseTable(new TextEncoder().encode(line).buffer as ArrayBuffer, 'chat.jsonl');
    const [example] = buildCausalLmExamples(table, 'chat.jsonl', tokenizer, { maxLength: 64, tokenizerConfig }).examples;
    expect(tokenizer.decode(example.inputIds)).toBe('<|begin_of_text|>User: a charming journey\nAssistant: positive<|end_of_text|>\n');
    expect(tokenizer.decode(example.labels.filter((l) => l !== IGNORE_INDEX))).toBe(' positive<|end_of_text|>');
  });

  it('its SST-2 files are 512 + 128 prompt/completion rows trained on " positive" or " negative" and EOS', async () => {
    for (const [name, rows] of [['sst2-causal-train-512.jsonl', 512], ['sst2-causal-dev-128.jsonl', 128]] as const) {
      const built = buildCausalLmExamples(await jsonlTable(name), name, tokenizer, { maxLength: 128, tokenizerConfig });
      expect(built.format).toBe('prompt-completion');
      expect(built.examples).toHaveLength(rows);
      expect(built.truncated).toBe(0);
      const completions = new Set(built.examples.map((e) => tokenizer.decode(e.labels.filter((l) => l !== IGNORE_INDEX))));
      expect(completions).toEqual(new Set([' positive<|end_of_text|>', ' negative<|end_of_text|>']));
      expect(tokenizer.decode(built.examples[0].inputIds).startsWith('<|begin_of_text|>Review: ')).toBe(true);
    }
  });

  it('gives the PyTorch fine-tune of bench/torch/sst2_causal.py the same ids and labels (its first 64 training rows)', async () => {
    const fixture = JSON.parse(readFileSync(TRAJECTORY, 'utf8')) as { rows_ids: number[][]; rows_labels: number[][] };
    const name = 'sst2-causal-train-512.jsonl';
    const { examples } = buildCausalLmExamples(await jsonlTable(name), name, tokenizer, { maxLength: 128, tokenizerConfig });
    expect(fixture.rows_ids).toHaveLength(64);
    expect(examples.slice(0, 64).map((e) => e.inputIds)).toEqual(fixture.rows_ids);
    expect(examples.slice(0, 64).map((e) => e.labels)).toEqual(fixture.rows_labels);
  });
});
