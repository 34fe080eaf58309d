import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createTokenizer, truncatedLengths, type EncodedBatch, type TokenizerFiles } from './tokenizer.ts';

// ../shared beside the repository (fixtures written by transformers, the demo model, GLUE data).
const SHARED = new URL('../../../shared/', import.meta.url).pathname;
const FIXTURES = `${SHARED}fixtures/hf-tiny`;
const DEMO = `${SHARED}models/vectorfit-demo-bert-tiny`;

const json = (path: string): object => JSON.parse(readFileSync(path, 'utf8'));

function rows2d(batch: EncodedBatch, data: Uint32Array): number[][] {
  return Array.from({ length: batch.batch }, (_, b) => Array.from(data.subarray(b * batch.seq, (b + 1) * batch.seq)));
}

interface RefBatch {
  input_ids: number[][];
  attention_mask: number[][];
  token_type_ids?: number[][];
}

describe('tokenizer', () => {
  for (const folder of ['bert', 'bert-regression', 'roberta', 'distilbert']) {
    const dir = `${FIXTURES}/${folder}`;
    const examples = readFileSync(`${dir}/data.jsonl`, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { text: string; text_pair?: string })
      .map((row) => ({ text: row.text, textPair: row.text_pair }));
    const ref = json(`${dir}/ref-batch.json`) as RefBatch;

    const check = (files: TokenizerFiles) => {
      const batch = createTokenizer(files).encodeBatch(examples, { maxLength: 64 });
      expect([batch.batch, batch.seq]).toEqual([ref.input_ids.length, ref.input_ids[0].length]);
      expect(rows2d(batch, batch.inputIds)).toEqual(ref.input_ids);
      expect(rows2d(batch, batch.attentionMask)).toEqual(ref.attention_mask);
      if (ref.token_type_ids) expect(rows2d(batch, batch.tokenTypeIds)).toEqual(ref.token_type_ids);
    };

    it(`${folder}: tokenizer.json gives exactly the ids, mask and token types transformers produced (all 12 rows as one batch)`, () => {
      expect(examples).toHaveLength(12);
      check({ tokenizerJson: json(`${dir}/tokenizer.json`), tokenizerConfig: json(`${dir}/tokenizer_config.json`) });
    });

    it(`${folder}: the same ids without tokenizer.json, from the vocabulary files alone`, () => {
      const config = json(`${dir}/tokenizer_config.json`);
      if (folder === 'roberta') {
        check({ vocabJson: json(`${dir}/vocab.json`), mergesTxt: readFileSync(`${dir}/merges.txt`, 'utf8'), tokenizerConfig: config });
      } else {
        check({ vocabTxt: readFileSync(`${dir}/vocab.txt`, 'utf8'), tokenizerConfig: config });
      }
    });
  }

  const demoFiles = (): TokenizerFiles => ({
    tokenizerJson: json(`${DEMO}/tokenizer.json`),
    tokenizerConfig: json(`${DEMO}/tokenizer_config.json`),
    vocabTxt: readFileSync(`${DEMO}/vocab.txt`, 'utf8'),
  });

  it('demo BERT: "this movie was [MASK] ." is [CLS] … [SEP] with [MASK] = 103, and decodes back', () => {
    const tok = createTokenizer(demoFiles());
    const batch = tok.encodeBatch([{ text: 'this movie was [MASK] .' }], { maxLength: 66 });
    expect(Array.from(batch.inputIds)).toEqual([101, 2023, 3185, 2001, 103, 1012, 102]);
    expect([tok.clsId, tok.sepId, tok.maskId, tok.padId, tok.unkId, tok.vocabSize]).toEqual([101, 102, 103, 0, 100, 30522]);
    // Its model_max_length is transformers' 1e30 "no limit" placeholder.
    expect(tok.modelMaxLength).toBeUndefined();
    expect(tok.decode(batch.inputIds, { skipSpecialTokens: true })).toBe('this movie was.');
    expect(tok.tokenToId('movie')).toBe(3185);
  });

  it('demo BERT: built from vocab.txt alone it tokenizes SST-2 exactly as its tokenizer.json', () => {
    const files = demoFiles();
    const fromJson = createTokenizer({ tokenizerJson: files.tokenizerJson, tokenizerConfig: files.tokenizerConfig });
    const fromVocab = createTokenizer({ vocabTxt: files.vocabTxt, tokenizerConfig: files.tokenizerConfig });
    // SST-2 dev: lowercase text with punctuation, apostrophes, accents and the odd non-ASCII character.
    const lines = readFileSync(`${SHARED}data/glue/SST-2/dev.tsv`, 'utf8').trim().split('\n').slice(1);
    const examples = lines.map((line) => ({ text: line.split('\t')[0] }));
    const a = fromJson.encodeBatch(examples, { maxLength: 128 });
    const b = fromVocab.encodeBatch(examples, { maxLength: 128 });
    expect(a.batch).toBe(872);
    expect(b.seq).toBe(a.seq);
    expect(b.inputIds).toEqual(a.inputIds);
    expect(b.attentionMask).toEqual(a.attentionMask);
    // A second text gets token type 1, as BERT's pair template says.
    const pair = fromVocab.encodeBatch([{ text: 'a b', textPair: 'c' }], { maxLength: 16 });
    expect(Array.from(pair.tokenTypeIds)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(Array.from(pair.inputIds)).toEqual(Array.from(fromJson.encodeBatch([{ text: 'a b', textPair: 'c' }], { maxLength: 16 }).inputIds));
  });

  it('truncates single texts to maxLength keeping [CLS] and [SEP], and pads short rows with the pad id', () => {
    const tok = createTokenizer(demoFiles());
    const batch = tok.encodeBatch([{ text: 'one two three four five six' }, { text: 'one' }], { maxLength: 5 });
    expect(rows2d(batch, batch.inputIds)).toEqual([
      [101, 2028, 2048, 2093, 102],
      [101, 2028, 102, 0, 0],
    ]);
    expect(rows2d(batch, batch.attentionMask)).toEqual([
      [1, 1, 1, 1, 1],
      [1, 1, 1, 0, 0],
    ]);
    expect(() => tok.encodeBatch([{ text: 'x', textPair: 'y' }], { maxLength: 2 })).toThrow(/3 special tokens/);
  });

  it('pads to a multiple of padToMultipleOf with the pad id, mask 0 and token type 0', () => {
    const tok = createTokenizer(demoFiles());
    const batch = tok.encodeBatch([{ text: 'one two', textPair: 'three' }, { text: 'one' }], { maxLength: 16, padToMultipleOf: 8 });
    expect(batch.seq).toBe(8);
    expect(rows2d(batch, batch.inputIds)).toEqual([
      [101, 2028, 2048, 102, 2093, 102, 0, 0],
      [101, 2028, 102, 0, 0, 0, 0, 0],
    ]);
    expect(rows2d(batch, batch.attentionMask)).toEqual([
      [1, 1, 1, 1, 1, 1, 0, 0],
      [1, 1, 1, 0, 0, 0, 0, 0],
    ]);
    expect(rows2d(batch, batch.tokenTypeIds)).toEqual([
      [0, 0, 0, 0, 1, 1, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0],
    ]);
  });

  it('truncates pairs longest-first with the same lengths as the Rust tokenizers crate', () => {
    // The crate's own table (tokenizers/src/utils/truncation.rs), room 7: lengths 0, 2, 4, 8.
    const cases: [number, number, number, number][] = [
      [0, 8, 0, 7], [2, 8, 2, 5], [4, 4, 3, 4], [4, 8, 3, 4], [8, 2, 5, 2], [8, 4, 4, 3], [8, 8, 3, 4], [2, 4, 2, 4], [4, 2, 4, 2],
    ];
    for (const [a, b, n1, n2] of cases) expect(truncatedLengths(a, b, 7, true), `${a},${b}`).toEqual([n1, n2]);
    // End to end on a pair: room 10 − 3 specials = 7 for 8 + 2 tokens → 5 + 2.
    const tok = createTokenizer(demoFiles());
    const batch = tok.encodeBatch([{ text: 'one two three four five six seven eight', textPair: 'nine ten' }], { maxLength: 10 });
    expect(Array.from(batch.inputIds)).toEqual([101, 2028, 2048, 2093, 2176, 2274, 102, 3157, 2702, 102]);
    expect(Array.from(batch.tokenTypeIds)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
  });

  it('RoBERTa pairs are <s> A </s></s> B </s> with every token type 0, as the Rust post-processor gives', () => {
    const dir = `${FIXTURES}/roberta`;
    const tok = createTokenizer({ tokenizerJson: json(`${dir}/tokenizer.json`), tokenizerConfig: json(`${dir}/tokenizer_config.json`) });
    const single = (text: string) => Array.from(tok.encodeBatch([{ text }], { maxLength: 64 }).inputIds).slice(1, -1);
    const [a, b] = [single('tane nesu'), single('kane')];
    const pair = tok.encodeBatch([{ text: 'tane nesu', textPair: 'kane' }], { maxLength: 64 });
    expect(Array.from(pair.inputIds)).toEqual([0, ...a, 2, 2, ...b, 2]);
    expect(Array.from(pair.tokenTypeIds).every((t) => t === 0)).toBe(true);
    expect(tok.padId).toBe(1);
  });

  it('names what is missing or broken', () => {
    expect(() => createTokenizer({ tokenizerConfig: {} })).toThrow(/needs tokenizer\.json, or vocab\.txt/);
    expect(() => createTokenizer({ vocabJson: { a: 0 } })).toThrow(/found vocab\.json but no merges\.txt/);
    expect(() => createTokenizer({ vocabTxt: 'a\nb\n' }, { vocabTxt: 'model/vocab.txt' })).toThrow(/model\/vocab\.txt: vocab\.txt has no cls_token "\[CLS\]"/);
    // Special tokens named only in special_tokens_map.json (older folders) are found there.
    const vocabTxt = '[PAD]\n<cls>\n<sep>\n[UNK]\nhello\n';
    const tok = createTokenizer({ vocabTxt, specialTokensMap: { cls_token: '<cls>', sep_token: '<sep>' } });
    expect(Array.from(tok.encodeBatch([{ text: 'Hello' }], { maxLength: 8 }).inputIds)).toEqual([1, 4, 2]);
  });
});
