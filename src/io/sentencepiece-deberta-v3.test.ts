import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseSentencePieceModel, PieceType } from './sentencepiece.ts';
import { createTokenizer } from './tokenizer.ts';

// The real DeBERTa-v3 spm.model (microsoft/deberta-v3-base, the same file in -xsmall/-small/-large;
// MIT, see fixtures/README.md) against ids that transformers' slow DebertaV2Tokenizer (the
// sentencepiece library itself) produced for it, recorded by querycatai/fib-tokenizers.
const SPM = new URL('./fixtures/deberta-v3-spm.model', import.meta.url).pathname;
const SLOW_IDS = new URL('./fixtures/deberta-v3-slow-tokenizer-ids.json', import.meta.url).pathname;
const COLA = new URL('../../../shared/data/glue/CoLA/dev.tsv', import.meta.url).pathname;

interface SlowCase {
  input: string;
  ids: number[];
  decoded: string;
}
interface Encoded {
  input_ids: number[] | number[][];
  token_type_ids: number[] | number[][];
  attention_mask: number[] | number[][];
}
const slow = JSON.parse(readFileSync(SLOW_IDS, 'utf8')) as {
  special_tokens: Record<string, number>;
  datasets: SlowCase[];
  pair_encode: Encoded;
  batch_encode: Encoded;
  batch_pair_encode: Encoded;
};

const bytes = new Uint8Array(readFileSync(SPM));
const model = parseSentencePieceModel(bytes, SPM);
// microsoft/deberta-v3-base's whole tokenizer_config.json.
const tokenizer = createTokenizer({ spmModel: bytes, tokenizerConfig: { do_lower_case: false, vocab_type: 'spm' } });
const encode = (text: string) => tokenizer.encodeIds(text, { addSpecialTokens: true });

/** The model's 256 <0xNN> pieces, which only sentencepiece's byte fallback emits. */
const isByte = (id: number) => model.pieces[id]?.type === PieceType.BYTE;
const bytesFree = slow.datasets.filter((c) => !c.ids.some(isByte));
const withBytes = slow.datasets.filter((c) => c.ids.some(isByte));

describe('the real DeBERTa-v3 spm.model', () => {
  it('reads as a 128,000-piece Unigram model with byte fallback, a charsmap and [PAD] [CLS] [SEP] [UNK] first', () => {
    expect(model.pieces).toHaveLength(128_000);
    expect(model.modelType).toBe(1);
    expect(model.unkId).toBe(3);
    expect(model.byteFallback).toBe(true);
    expect(model.pieces.slice(0, 4).map((p) => [p.piece, p.type])).toEqual([
      ['[PAD]', PieceType.CONTROL],
      ['[CLS]', PieceType.CONTROL],
      ['[SEP]', PieceType.CONTROL],
      ['[UNK]', PieceType.UNKNOWN],
    ]);
    const byteIds = model.pieces.flatMap((p, i) => (p.type === PieceType.BYTE ? [i] : []));
    expect(byteIds).toEqual(Array.from({ length: 256 }, (_, i) => 4 + i));
    expect(model.pieces[4 + 0xf0].piece).toBe('<0xF0>');
    expect(model.pieces.filter((p) => p.type === PieceType.NORMAL)).toHaveLength(128_000 - 4 - 256);
    expect(model.precompiledCharsmap.length).toBeGreaterThan(100_000);
  });

  it('gives the special tokens the ids transformers gives them, [MASK] appended as 128000', () => {
    expect(slow.special_tokens).toEqual({ '[CLS]': 1, '[SEP]': 2, '[UNK]': 3, '[PAD]': 0, '[MASK]': 128000 });
    expect([tokenizer.padId, tokenizer.clsId, tokenizer.sepId, tokenizer.unkId, tokenizer.maskId]).toEqual([0, 1, 2, 3, 128000]);
    expect(tokenizer.vocabSize).toBe(128_001);
  });

  it("gives exactly the slow tokenizer's ids wherever sentencepiece needs no byte fallback", () => {
    // Punctuation, digits, currency signs, CJK, full-width ～, "…" and NBSP, tabs, newlines,
    // leading/trailing/multiple spaces, "<s>"-like text, special tokens inside the text, a long paragraph.
    expect(bytesFree).toHaveLength(31);
    for (const c of bytesFree) expect({ input: c.input, ids: encode(c.input) }).toEqual({ input: c.input, ids: c.ids });
  });

  it('turns each run of byte-fallback pieces into one [UNK], as DebertaV2TokenizerFast does', () => {
    // DebertaV2Converter leaves byte fallback off (transformers PR #16629 warns that the fast
    // tokenizer yields [UNK] where sentencepiece yields bytes), and the tokenizers crate's Unigram
    // fuses adjacent unknowns: "🦙Ꙋ" is one [UNK]. Everything around the unknowns is unchanged.
    expect(withBytes.map((c) => c.input.slice(0, 10))).toEqual(['生活的真谛是', 'test $1 R2', '🦙', '🦙Ꙋ', 'Ꙋ🦙', 'The llama ']);
    for (const c of withBytes) {
      const fused = c.ids.filter((id, i) => !isByte(id) || !isByte(c.ids[i - 1])).map((id) => (isByte(id) ? 3 : id));
      expect({ input: c.input, ids: encode(c.input) }).toEqual({ input: c.input, ids: fused });
    }
  });

  it("encodes pairs, and truncated padded batches, as transformers' tokenizer(...) does", () => {
    const rows = (b: { batch: number; seq: number }, data: Uint32Array) => Array.from({ length: b.batch }, (_, i) => Array.from(data.subarray(i * b.seq, (i + 1) * b.seq)));
    const pair = tokenizer.encodeBatch([{ text: 'a a', textPair: 'b b b b' }], { maxLength: 512 });
    expect(Array.from(pair.inputIds)).toEqual(slow.pair_encode.input_ids);
    expect(Array.from(pair.tokenTypeIds)).toEqual(slow.pair_encode.token_type_ids);
    // tokenizer(texts, max_length=10, truncation=True, padding=True)
    const batch = tokenizer.encodeBatch([{ text: 'a a' }, { text: 'b b b b b b b b b b b b b b b b b' }], { maxLength: 10 });
    expect(rows(batch, batch.inputIds)).toEqual(slow.batch_encode.input_ids);
    expect(rows(batch, batch.attentionMask)).toEqual(slow.batch_encode.attention_mask);
    const pairs = tokenizer.encodeBatch(
      [
        { text: 'a a', textPair: 'b' },
        { text: 'a a', textPair: 'b b b b b b b b b b b b b b b b b' },
      ],
      { maxLength: 10 },
    );
    expect(rows(pairs, pairs.inputIds)).toEqual(slow.batch_pair_encode.input_ids);
    expect(rows(pairs, pairs.attentionMask)).toEqual(slow.batch_pair_encode.attention_mask);
    expect(rows(pairs, pairs.tokenTypeIds)).toEqual(slow.batch_pair_encode.token_type_ids);
  });

  it("decodes back to the slow tokenizer's text, up to transformers' clean_up_tokenization", () => {
    // The slow decode was recorded without the clean-up; the fast decode applies it by default.
    const cleanUp = (s: string) =>
      s.replace(/ \./g, '.').replace(/ \?/g, '?').replace(/ !/g, '!').replace(/ ,/g, ',').replace(/ ' /g, "'").replace(/ n't/g, "n't").replace(/ 'm/g, "'m").replace(/ 's/g, "'s").replace(/ 've/g, "'ve").replace(/ 're/g, "'re");
    for (const c of bytesFree) {
      expect({ input: c.input, decoded: tokenizer.decode(encode(c.input), { skipSpecialTokens: true }) }).toEqual({ input: c.input, decoded: cleanUp(c.decoded) });
    }
  });

  it('normalises with the model\'s own charsmap: decomposed accents, full-width and ligature forms', () => {
    expect(encode('Cafe\u0301 naïve')).toEqual(encode('Café naïve'));
    expect(encode('ｆｕｌｌ ｗｉｄｔｈ １２３')).toEqual(encode('full width 123'));
    expect(encode('ﬁne')).toEqual(encode('fine'));
    expect(encode('Café naïve')).not.toContain(3);
  });

  it('picks the segmentation of maximal total score for every word of 1,000 real sentences (Unigram Viterbi)', () => {
    // An independent dynamic programme over all pieces, as the tokenizers crate's Unigram
    // matches them, against the pieces our tokenizer chose, word by word.
    const score = new Map<string, number>();
    model.pieces.forEach((p) => score.has(p.piece) || score.set(p.piece, p.score));
    const longest = model.pieces.reduce((m, p) => Math.max(m, [...p.piece].length), 0);
    const best = (word: string): number => {
      const chars = [...word];
      const dp = new Array<number>(chars.length + 1).fill(-Infinity);
      dp[0] = 0;
      for (let end = 1; end <= chars.length; end++) {
        for (let start = Math.max(0, end - longest); start < end; start++) {
          const s = score.get(chars.slice(start, end).join(''));
          if (s !== undefined && dp[start] + s > dp[end]) dp[end] = dp[start] + s;
        }
      }
      return dp[chars.length];
    };
    const sentences = readFileSync(COLA, 'utf8').trim().split('\n').slice(0, 1000).map((line) => line.split('\t').at(-1) as string);
    expect(sentences).toHaveLength(1000);
    let words = 0;
    for (const sentence of [...sentences, ...slow.datasets.map((c) => c.input)]) {
      const { ids, tokens } = tokenizer.tokenize(sentence);
      let word: { text: string; score: number } | null = null;
      const check = () => {
        if (!word) return;
        words++;
        expect({ word: word.text, score: word.score }).toEqual({ word: word.text, score: expect.closeTo(best(word.text), 6) });
      };
      tokens.forEach((token, i) => {
        // [PAD] [CLS] [SEP] [UNK] and the appended [MASK] end a word and belong to none.
        const special = ids[i] < 4 || ids[i] >= model.pieces.length;
        if (token.startsWith('▁') || special) {
          check();
          word = special ? null : { text: '', score: 0 };
        }
        if (word) {
          word.text += token;
          word.score += model.pieces[ids[i]].score;
        }
      });
      check();
    }
    expect(words).toBeGreaterThan(8000);
  });
});
