import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { HF_TINY, readFolder } from '../model/test-folders.ts';
import { readTextRows, tokenizeCausalLm } from './causal-lm.ts';
import { readModelFolder } from './model-folder.ts';
import { createTokenizer } from './tokenizer.ts';

const LLAMA = join(HF_TINY, 'llama');

describe('causal-LM text rows', () => {
  it('tokenize as transformers did for the llama folder: BOS prepended, right padding with pad id 2, padding ignored by the labels', () => {
    const files: Record<string, ArrayBuffer> = {};
    for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
      const bytes = readFileSync(join(LLAMA, name));
      files[name] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    const tokenizer = createTokenizer(readModelFolder({ name: 'llama', files }).tokenizer);
    const texts = readTextRows(readFileSync(join(LLAMA, 'data.jsonl'), 'utf8'), 'data.jsonl');
    const { batch, labels } = tokenizeCausalLm(tokenizer, texts, readFolder(LLAMA).config.maxPositions);
    const ref = JSON.parse(readFileSync(join(LLAMA, 'ref-batch.json'), 'utf8')) as Record<string, number[][]>;
    expect([batch.batch, batch.seq]).toEqual([ref.input_ids.length, ref.input_ids[0].length]);
    expect(Array.from(batch.inputIds)).toEqual(ref.input_ids.flat());
    expect(Array.from(batch.attentionMask)).toEqual(ref.attention_mask.flat());
    expect(Array.from(labels)).toEqual(ref.input_ids.flat().map((id, i) => (ref.attention_mask.flat()[i] ? id : IGNORE_INDEX)));
  });

  it('names the file and line of a bad row', () => {
    expect(() => readTextRows('{"text": "a"}\n{"label": 1}\n', 'd.jsonl')).toThrow('d.jsonl: line 2 has no "text" string');
    expect(() => readTextRows('{"text": "a"}\n{oops\n', 'd.jsonl')).toThrow(/^d.jsonl: line 2 is not valid JSON/);
    expect(() => readTextRows('\n\n', 'd.jsonl')).toThrow('d.jsonl: no rows');
  });
});
