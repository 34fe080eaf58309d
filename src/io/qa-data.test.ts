import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DatasetError, type Table } from './dataset.ts';
import { parseSquadJson, qaExamplesFromTable, qaFeatures, tokenizeWithOffsets, tokenSpan, type QaExample } from './qa-data.ts';
import { debertaV2TokenizerJson, parseSentencePieceModel } from './sentencepiece.ts';
import { createTokenizer } from './tokenizer.ts';

const DEMO = new URL('../../../shared/models/vectorfit-demo-bert-tiny/', import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const bert = createTokenizer({ tokenizerJson: json(`${DEMO}tokenizer.json`), tokenizerConfig: json(`${DEMO}tokenizer_config.json`) });
const spmConfig = { unk_token: '<unk>' };
const spm = createTokenizer({
  tokenizerJson: debertaV2TokenizerJson(parseSentencePieceModel(readFileSync(new URL('./fixtures/sentencepiece-test-model.model', import.meta.url).pathname)), spmConfig),
  tokenizerConfig: spmConfig,
});

const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();

describe('context tokens with character offsets', () => {
  const text = "  The Eiffel Tower's café (built 1889) is in Paris.";
  for (const [name, tokenizer, marker] of [['WordPiece (BERT uncased)', bert, /^##/], ['SentencePiece Unigram (DeBERTa)', spm, /^▁/]] as const) {
    it(`${name}: the same ids as tokenizing the whole text, and each token's span holds its text`, () => {
      const { ids, offsets } = tokenizeWithOffsets(tokenizer, text);
      expect(ids).toEqual(tokenizer.tokenize(text).ids);
      const tokens = tokenizer.tokenize(text).tokens;
      tokens.forEach((token, i) => {
        const [s, e] = offsets[i];
        const piece = token.replace(marker, '');
        if (token === '[UNK]' || token === '<unk>' || piece === '') return;
        expect(fold(text.slice(s, e))).toBe(fold(piece));
      });
      // Spans never go backwards and never cover the whitespace between words.
      offsets.forEach(([s, e], i) => {
        expect(e).toBeGreaterThanOrEqual(s);
        if (i > 0) expect(s).toBeGreaterThanOrEqual(offsets[i - 1][1]);
        expect(text.slice(s, e)).not.toMatch(/\s/);
      });
    });
  }

  it('a word met before (each word is tokenized once per tokenizer) is placed at its own position', () => {
    const first = tokenizeWithOffsets(bert, 'Paris is in Paris.');
    const again = tokenizeWithOffsets(bert, 'In   Paris, Paris is.');
    expect(again.ids).toEqual(bert.tokenize('In   Paris, Paris is.').ids);
    const paris = bert.tokenize('Paris').ids[0];
    expect(first.offsets.filter((_, i) => first.ids[i] === paris)).toEqual([[0, 5], [12, 17]]);
    expect(again.offsets.filter((_, i) => again.ids[i] === paris)).toEqual([[5, 10], [12, 17]]);
  });

  it('byte-level BPE (RoBERTa): whole-text ids; a token whose bytes are not text (é as Ã©) shares its word with its neighbours', () => {
    const dir = new URL('../../../shared/fixtures/hf-tiny/roberta/', import.meta.url).pathname;
    const roberta = createTokenizer({ tokenizerJson: json(`${dir}tokenizer.json`), tokenizerConfig: json(`${dir}tokenizer_config.json`) });
    const { ids, offsets } = tokenizeWithOffsets(roberta, text);
    expect(ids).toEqual(roberta.tokenize(text).ids);
    const tokens = roberta.tokenize(text).tokens;
    tokens.forEach((token, i) => {
      const piece = token.replace(/^Ġ/, '');
      if (/^[\x20-\x7e]+$/.test(piece) && fold(text).includes(fold(piece))) expect(text.slice(...offsets[i])).toBe(piece);
    });
    const cafe = text.indexOf('café');
    const inCafe = offsets.filter(([s, e]) => s >= cafe && e <= cafe + 4 && e > s);
    expect(inCafe.length).toBeGreaterThan(0);
    expect(Math.min(...inCafe.map(([s]) => s))).toBe(cafe);
    expect(Math.max(...inCafe.map(([, e]) => e))).toBe(cafe + 4);
  });

  it('an unknown token spans the characters up to the next known token', () => {
    // "9" and "é" are not in the SentencePiece test model: each becomes <unk> (id 0) with its own character.
    const text = 'born in 92000, falsé.';
    const { ids, offsets } = tokenizeWithOffsets(spm, text);
    const unknown = ids.flatMap((id, i) => (id === 0 ? [text.slice(...offsets[i])] : []));
    expect(unknown).toEqual(['9', 'é']);
  });
});

const squad = {
  version: 'v2.0',
  data: [
    {
      title: 'Normans',
      paragraphs: [
        {
          context: 'The Normans were in Normandy, a region in France.',
          qas: [
            { id: 'q1', question: 'In what country is Normandy located?', answers: [{ text: 'France', answer_start: 42 }, { text: 'in France', answer_start: 39 }] },
            { id: 'q2', question: 'Who gave their name to Normandy in the 1000s?', answers: [], plausible_answers: [{ text: 'Normans', answer_start: 4 }], is_impossible: true },
          ],
        },
      ],
    },
  ],
};

describe('SQuAD files', () => {
  it('reads v1.1/v2.0 JSON: one example per question, unanswerable ones with no answers', () => {
    const examples = parseSquadJson(JSON.stringify(squad), 'dev-v2.0.json');
    expect(examples).toEqual([
      { id: 'q1', title: 'Normans', context: squad.data[0].paragraphs[0].context, question: 'In what country is Normandy located?', answers: { text: ['France', 'in France'], answerStart: [42, 39] } },
      { id: 'q2', title: 'Normans', context: squad.data[0].paragraphs[0].context, question: 'Who gave their name to Normandy in the 1000s?', answers: { text: [], answerStart: [] } },
    ]);
  });

  it('names the file, the place and the problem when an answer does not match its context', () => {
    const broken = structuredClone(squad);
    broken.data[0].paragraphs[0].qas[0].answers[0].answer_start = 41;
    expect(() => parseSquadJson(JSON.stringify(broken), 'train.json')).toThrow(
      'train.json: data[0]: paragraphs[0]: qas[0]: question q1: answer 0 is "France" but the context holds " Franc" at answer_start 41',
    );
    expect(() => parseSquadJson('{"data": [', 'train.json')).toThrow(DatasetError);
    expect(() => parseSquadJson('[1, 2]', 'train.json')).toThrow('train.json: not a SQuAD file');
  });

  it("reads the Hub's flattened rows (answers as {text, answer_start} lists, INT64 starts as bigint)", () => {
    const table: Table = {
      columns: ['id', 'title', 'context', 'question', 'answers'],
      rows: [['a1', 'T', 'Paris is in France.', 'Where is Paris?', { text: ['France'], answer_start: [12n] }]],
      headerless: false,
      rowLines: [1],
      rowUnit: 'row',
    };
    expect(qaExamplesFromTable(table, 'squad.parquet')[0].answers).toEqual({ text: ['France'], answerStart: [12] });
    expect(() => qaExamplesFromTable({ ...table, columns: ['id', 'title', 'text', 'question', 'answers'] }, 'x.jsonl')).toThrow('x.jsonl: no "context" column');
    table.rows[0][4] = { text: 'France', answer_start: 12 };
    expect(() => qaExamplesFromTable(table, 'x.jsonl')).toThrow('x.jsonl, row 1: "answers" should be {"text": [...], "answer_start": [...]}');
  });
});

describe('QA windows (run_qa.py prepare features)', () => {
  const context = Array.from({ length: 30 }, (_, i) => `word${i}`).join(' ') + ' The answer is Paris, in France. ' + Array.from({ length: 30 }, (_, i) => `tail${i}`).join(' ');
  const start = context.indexOf('Paris');
  const example: QaExample = { id: 'w', title: '', context, question: '  Where is it?', answers: { text: ['Paris'], answerStart: [start] } };

  it('[CLS] question [SEP] context-window [SEP], windows overlapping by the stride and covering the context once through', () => {
    const features = qaFeatures([example], bert, { maxLength: 48, stride: 16 });
    const question = bert.tokenize('Where is it?').ids;
    const all = tokenizeWithOffsets(bert, context).ids;
    const room = 48 - 3 - question.length;
    expect(features.length).toBeGreaterThan(2);
    expect(features.length).toBe(Math.ceil((all.length - room) / (room - 16)) + 1);
    features.forEach((f, k) => {
      expect(f.inputIds.slice(0, question.length + 2)).toEqual([bert.clsId, ...question, bert.sepId]);
      expect(f.inputIds.at(-1)).toBe(bert.sepId);
      expect(f.inputIds.length).toBeLessThanOrEqual(48);
      const window = f.inputIds.slice(question.length + 2, -1);
      expect(window).toEqual(all.slice(k * (room - 16), k * (room - 16) + room));
      expect(f.tokenTypeIds).toEqual(f.inputIds.map((_, i) => (i < question.length + 2 ? 0 : 1)));
      expect(Array.from({ length: question.length + 2 }, (_, t) => tokenSpan(f.offsets, t)).every((o) => o === null)).toBe(true);
    });
  });

  it('marks the answer tokens in the windows that hold it and CLS in the others', () => {
    for (const tokenizer of [bert, spm]) {
      const features = qaFeatures([example], tokenizer, { maxLength: 48, stride: 16 });
      const holding = features.filter((f) => f.startPosition !== 0);
      expect(holding.length).toBeGreaterThan(0);
      expect(features.length).toBeGreaterThan(holding.length);
      for (const f of holding) {
        const s = tokenSpan(f.offsets, f.startPosition)!;
        const e = tokenSpan(f.offsets, f.endPosition)!;
        expect(context.slice(s[0], e[1])).toBe('Paris');
      }
      for (const f of features.filter((x) => x.startPosition === 0)) expect(f.endPosition).toBe(0);
    }
  });

  it('unanswerable questions point at CLS in every window', () => {
    const features = qaFeatures([{ ...example, answers: { text: [], answerStart: [] } }], bert, { maxLength: 48, stride: 16 });
    expect(features.every((f) => f.startPosition === 0 && f.endPosition === 0)).toBe(true);
  });

  it('refuses a question too long for the window and stride, naming it', () => {
    expect(() => qaFeatures([example], bert, { maxLength: 20, stride: 16 })).toThrow(/^question w: its 4 tokens leave 13 context tokens per window of 20/);
    // A context that fits whole needs no stride.
    expect(qaFeatures([{ ...example, context: 'Paris.', answers: { text: ['Paris'], answerStart: [0] } }], bert, { maxLength: 20, stride: 16 })).toHaveLength(1);
  });
});
