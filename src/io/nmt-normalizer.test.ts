import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { readModelFolder } from './model-folder.ts';
import { replaceNmt } from './nmt-normalizer.ts';
import { createTokenizer } from './tokenizer.ts';

const DEBERTA = new URL('../../../shared/fixtures/hf-tiny/deberta-v3/', import.meta.url).pathname;

function normalizerOf(normalizer: object): (text: string) => string {
  const tokenizer = new Tokenizer({ added_tokens: [], normalizer: replaceNmt(normalizer), pre_tokenizer: null, post_processor: null, decoder: null, model: { type: 'Unigram', unk_id: 0, vocab: [['<unk>', 0]] } }, {});
  return (text) => (tokenizer as unknown as { normalizer: { normalize: (t: string) => string } }).normalizer.normalize(text);
}

describe('the Nmt normalizer (tokenizers.js lacks it)', () => {
  it('drops ASCII control characters and maps whitespace-like code points to a space, as do_nmt does', () => {
    const nmt = normalizerOf({ type: 'Nmt' });
    expect(nmt('a\u0001b\u0008c\u000Bd\u001Fe\u007Ff\u008Fg\u009Fh')).toBe('abcdefgh');
    expect(nmt('a\tb\nc\fd\re\u1680f\u200Bg\u200Fh\u2028i\u2029j\u2581k\uFEFFl\uFFFDm')).toBe('a b c d e f g h i j k l m');
    // Left alone: NUL, the other C1 controls, ordinary spaces and letters.
    expect(nmt('\u0000x\u0080y\u0090 z\u00A0é')).toBe('\u0000x\u0080y\u0090 z\u00A0é');
  });

  it('is replaced inside a Sequence, and the rest of the Sequence still runs (the fixture’s Nmt, NFKC, Replace)', () => {
    const sequence = normalizerOf({ type: 'Sequence', normalizers: [{ type: 'Nmt' }, { type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] });
    expect(sequence('ｆｕｌｌ\t\twidth')).toBe('full width');
  });

  it('lets the hf-tiny deberta-v3 folder (tokenizer.json with Nmt) give the ids transformers gave', () => {
    const files: Record<string, ArrayBuffer> = {};
    for (const name of readdirSync(DEBERTA)) {
      const bytes = readFileSync(join(DEBERTA, name));
      files[name] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    }
    const tokenizer = createTokenizer(readModelFolder({ name: 'deberta-v3', files }).tokenizer);
    const texts = readFileSync(join(DEBERTA, 'data.jsonl'), 'utf8').trim().split('\n').map((line) => ({ text: JSON.parse(line).text as string }));
    const ref = JSON.parse(readFileSync(join(DEBERTA, 'ref-batch.json'), 'utf8')) as { input_ids: number[][]; attention_mask: number[][] };
    const batch = tokenizer.encodeBatch(texts, { maxLength: 64 });
    const rows = (data: Uint32Array) => Array.from({ length: batch.batch }, (_, b) => Array.from(data.subarray(b * batch.seq, (b + 1) * batch.seq)));
    expect(rows(batch.inputIds)).toEqual(ref.input_ids);
    expect(rows(batch.attentionMask)).toEqual(ref.attention_mask);
  });
});
