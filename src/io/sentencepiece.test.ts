import { readFileSync } from 'node:fs';
import { PrecompiledNormalizer } from '@huggingface/tokenizers';
import { describe, expect, it } from 'vitest';
import { charsmapNormalizer, debertaV2TokenizerJson, parseSentencePieceModel, PieceType, SentencePieceError } from './sentencepiece.ts';
import { createTokenizer } from './tokenizer.ts';
import { readModelFolder } from './model-folder.ts';
import { writeSafetensors } from './safetensors.ts';
import { fieldVarint, modelProto } from './test-spm.ts';

// google/sentencepiece's python/test/test_model.model (Apache-2.0; see fixtures/README.md): a
// real 1000-piece Unigram model trained on botchan.txt, with the nmt_nfkc precompiled charsmap.
const TEST_MODEL = new URL('./fixtures/sentencepiece-test-model.model', import.meta.url).pathname;
const DEBERTA = new URL('../../../shared/fixtures/hf-tiny/deberta-v3/', import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

describe('SentencePiece model reader', () => {
  const model = parseSentencePieceModel(readFileSync(TEST_MODEL));

  it('reads pieces, scores, types, unk id and the normalizer spec of a real spm.model', () => {
    expect(model.pieces).toHaveLength(1000);
    expect(model.modelType).toBe(1);
    expect(model.unkId).toBe(0);
    expect(model.pieces.slice(0, 3)).toEqual([
      { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
      { piece: '<s>', score: 0, type: PieceType.CONTROL },
      { piece: '</s>', score: 0, type: PieceType.CONTROL },
    ]);
    // Scores are float32 on the wire; the converter widens them unchanged.
    expect(model.pieces[4]).toEqual({ piece: '▁', score: Math.fround(-3.3334579467773438), type: PieceType.NORMAL });
    expect(model.precompiledCharsmap.length).toBeGreaterThan(100_000);
    expect(model.addDummyPrefix).toBe(true);
  });

  it('negative int32 varints (10 bytes on the wire) read back signed', () => {
    const bytes = modelProto([{ piece: 'a', score: -1 }], fieldVarint(40, -1));
    expect(() => parseSentencePieceModel(bytes, 'x/spm.model')).toThrow('x/spm.model: unk_id -1 is outside the 1 pieces');
  });

  it('rejects files that are not SentencePiece models, naming the file', () => {
    expect(() => parseSentencePieceModel(new TextEncoder().encode('{"model": "json"}'), 'folder/spm.model')).toThrow(SentencePieceError);
    expect(() => parseSentencePieceModel(new TextEncoder().encode('{"model": "json"}'), 'folder/spm.model')).toThrow(/^folder\/spm\.model: /);
    expect(() => parseSentencePieceModel(new Uint8Array([0x0a, 0x20, 0x01]), 'm.model')).toThrow('m.model: not a SentencePiece model (field runs 31 bytes past the end)');
    expect(() => parseSentencePieceModel(new Uint8Array(0), 'm.model')).toThrow('m.model: no pieces');
  });

  it('refuses BPE models rather than tokenizing them as Unigram', () => {
    const bpe = parseSentencePieceModel(modelProto([{ piece: '<unk>', score: 0, type: 2 }, { piece: 'a', score: 0 }], fieldVarint(3, 2)));
    expect(() => debertaV2TokenizerJson(bpe, {}, 'bpe/spm.model')).toThrow('bpe/spm.model: a BPE model: only Unigram');
  });
});

describe('DeBERTa-v2/v3 tokenizer from spm.model', () => {
  const model = parseSentencePieceModel(readFileSync(TEST_MODEL));
  const config = { unk_token: '<unk>' };
  const tokenizer = createTokenizer({ tokenizerJson: debertaV2TokenizerJson(model, config), tokenizerConfig: config });
  const ids = (text: string) => {
    const batch = tokenizer.encodeBatch([{ text }], { maxLength: 512 });
    return Array.from(batch.inputIds.subarray(1, batch.seq - 1));
  };

  it("gives the ids the sentencepiece library itself gives on its test model (its README and tests)", () => {
    expect(ids('This is a test')).toEqual([284, 47, 11, 4, 15, 400]);
    expect(ids('Hello world')).toEqual([151, 88, 21, 887]);
    // sp.EncodeAsPieces(' hello  world ') == ['▁he', 'll', 'o', '▁world'] (extra whitespace removed)
    expect(ids(' hello  world ').map((id) => model.pieces[id].piece)).toEqual(['▁he', 'll', 'o', '▁world']);
  });

  it('NFKC-normalises as the nmt_nfkc charsmap does (full-width letters)', () => {
    expect(ids('ＨＥＬＬＯ world')).toEqual(ids('HELLO world'));
  });

  it('wraps single texts and pairs as [CLS] A [SEP] and [CLS] A [SEP] B [SEP] with token types 0…0 1…1', () => {
    const cls = tokenizer.clsId as number;
    const sep = tokenizer.sepId as number;
    // The config names [CLS]/[SEP]/[PAD]/[MASK] that the model lacks: they get the next ids, as transformers adds them.
    expect([cls, sep, tokenizer.padId, tokenizer.maskId]).toEqual([1000, 1001, 1002, 1003]);
    const batch = tokenizer.encodeBatch([{ text: 'This is a test', textPair: 'Hello world' }], { maxLength: 64 });
    expect(Array.from(batch.inputIds)).toEqual([cls, 284, 47, 11, 4, 15, 400, sep, 151, 88, 21, 887, sep]);
    expect(Array.from(batch.tokenTypeIds)).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
  });

  it('do_lower_case lowercases before the pieces are matched', () => {
    const lower = { ...config, do_lower_case: true };
    const t = createTokenizer({ tokenizerJson: debertaV2TokenizerJson(model, lower), tokenizerConfig: lower });
    const batch = t.encodeBatch([{ text: 'HELLO World' }, { text: 'hello world' }], { maxLength: 16 });
    expect(Array.from(batch.inputIds.subarray(0, batch.seq))).toEqual(Array.from(batch.inputIds.subarray(batch.seq)));
  });

  it('split_by_punct isolates punctuation before the metaspace, as DebertaV2Converter does', () => {
    const split = { ...config, split_by_punct: true };
    const t = createTokenizer({ tokenizerJson: debertaV2TokenizerJson(model, split), tokenizerConfig: split });
    const batch = t.encodeBatch([{ text: 'world, world' }], { maxLength: 16 });
    const pieces = Array.from(batch.inputIds.subarray(1, batch.seq - 1)).map((id) => model.pieces[id].piece);
    // "," becomes its own word and gets its own "▁" (the metaspace prepends one to every word).
    expect(pieces).toEqual(['▁world', '▁', ',', '▁world']);
  });

  it("the fixture's vocabulary as an spm.model gives exactly the ids transformers produced with the fixture's tokenizer.json", () => {
    const fixture = json(`${DEBERTA}tokenizer.json`);
    const typeOf = (piece: string) => (piece === '[UNK]' ? PieceType.UNKNOWN : /^\[[A-Z]+\]$/.test(piece) ? PieceType.CONTROL : PieceType.NORMAL);
    const pieces = (fixture.model.vocab as [string, number][]).map(([piece, score]) => ({ piece, score, type: typeOf(piece) }));
    const spm = parseSentencePieceModel(modelProto(pieces, fieldVarint(40, fixture.model.unk_id)));
    const tokenizerConfig = json(`${DEBERTA}tokenizer_config.json`);
    const converted = debertaV2TokenizerJson(spm, tokenizerConfig) as { model: { vocab: [string, number][] } };
    // Scores travel as float32 in spm.model, so they agree to float32 precision.
    converted.model.vocab.forEach(([piece, score], i) => {
      expect(piece).toBe(fixture.model.vocab[i][0]);
      expect(score).toBe(Math.fround(fixture.model.vocab[i][1]));
    });
    const examples = readFileSync(`${DEBERTA}data.jsonl`, 'utf8').trim().split('\n').map((line) => ({ text: JSON.parse(line).text as string }));
    const ref = json(`${DEBERTA}ref-batch.json`) as { input_ids: number[][]; attention_mask: number[][] };
    const batch = createTokenizer({ tokenizerJson: converted, tokenizerConfig }).encodeBatch(examples, { maxLength: 64 });
    const rows = Array.from({ length: batch.batch }, (_, b) => Array.from(batch.inputIds.subarray(b * batch.seq, (b + 1) * batch.seq)));
    expect(rows).toEqual(ref.input_ids);
  });
});

describe('model folders that ship spm.model', () => {
  const bytes = new Uint8Array(readFileSync(TEST_MODEL));
  const buffer = (u8: Uint8Array | string) => {
    const b = typeof u8 === 'string' ? new TextEncoder().encode(u8) : u8;
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };

  it('the folder reader picks spm.model up and createTokenizer converts it when there is no tokenizer.json', () => {
    const files = {
      'deberta/config.json': buffer(JSON.stringify({ model_type: 'deberta-v2' })),
      'deberta/model.safetensors': buffer(writeSafetensors([{ name: 'w', dtype: 'F32', shape: [1], data: [0] }])),
      'deberta/spm.model': buffer(bytes),
      'deberta/tokenizer_config.json': buffer(JSON.stringify({ do_lower_case: false, vocab_type: 'spm', unk_token: '<unk>' })),
    };
    const folder = readModelFolder({ name: 'deberta', files });
    expect(folder.tokenizer.spmModel).toEqual(bytes);
    const tokenizer = createTokenizer(folder.tokenizer);
    const batch = tokenizer.encodeBatch([{ text: 'This is a test' }], { maxLength: 16 });
    expect(Array.from(batch.inputIds)).toEqual([tokenizer.clsId, 284, 47, 11, 4, 15, 400, tokenizer.sepId]);
  });

  it("refuses another family's SentencePiece model instead of laying it out as DeBERTa", () => {
    expect(() => createTokenizer({ spmModel: bytes, tokenizerConfig: { tokenizer_class: 'T5Tokenizer' } }, { spmModel: 't5/spm.model' })).toThrow(
      /^t5\/spm\.model: a T5Tokenizer SentencePiece model: only DeBERTa-v2\/v3's/,
    );
    expect(() => createTokenizer({ spmModel: new Uint8Array([1, 2, 3]) }, { spmModel: 'x/spm.model' })).toThrow(/^x\/spm\.model: not a SentencePiece model/);
  });
});

describe('precompiled charsmap', () => {
  const model = parseSentencePieceModel(readFileSync(TEST_MODEL));
  const normalize = charsmapNormalizer(model.precompiledCharsmap);

  it("maps as sentencepiece's own normalizer does on its test model (sentencepiece_test.py)", () => {
    expect(normalize('ＫＡＤＯＫＡＷＡABC')).toBe('KADOKAWAABC');
    expect(normalize('㍻')).toBe('平成');
    expect(normalize('ﬁ ① ½')).toBe('fi 1 1⁄2');
  });

  it("follows this model's charsmap where tokenizers.js guesses otherwise: U+FF5E becomes \"~\"; U+0001, U+007F and U+200B stay", () => {
    expect(normalize('a～b')).toBe('a~b');
    expect(normalize('a\u0001b\u007fc\u200bd')).toBe('a\u0001b\u007fc\u200bd');
    expect(new PrecompiledNormalizer({ type: 'Precompiled', precompiled_charsmap: '' } as never).normalize('a～b\u007fc\u200bd')).toBe('a～bc d');
  });

  it('tokenizers built from spm.model or a tokenizer.json with a charsmap use it', () => {
    const config = { unk_token: '<unk>' };
    const json = debertaV2TokenizerJson(model, config);
    for (const tokenizer of [createTokenizer({ spmModel: new Uint8Array(readFileSync(TEST_MODEL)), tokenizerConfig: config }), createTokenizer({ tokenizerJson: json, tokenizerConfig: config })]) {
      const batch = tokenizer.encodeBatch([{ text: 'Hello world～' }, { text: 'Hello world~' }], { maxLength: 16 });
      expect(Array.from(batch.inputIds.subarray(0, batch.seq))).toEqual(Array.from(batch.inputIds.subarray(batch.seq)));
    }
  });

  it('refuses a charsmap whose trie does not fit', () => {
    expect(() => charsmapNormalizer(new Uint8Array([0xff, 0, 0, 0, 1, 2]))).toThrow("the precompiled charsmap's trie size 255 does not fit its 6 bytes");
  });
});
