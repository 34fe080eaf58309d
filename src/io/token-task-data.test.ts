import { describe, expect, it } from 'vitest';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { nerParquet, squadParquet } from '../test/hub-token-parquet.ts';
import { collateTokenRows, readTokenTaskFile } from './token-task-data.ts';

const bytes = (text: string) => new TextEncoder().encode(text).buffer as ArrayBuffer;
const squad = (impossible: boolean) => JSON.stringify({
  version: 'v2.0',
  data: [{ title: 'T', paragraphs: [{ context: 'Paris is in France.', qas: [
    { id: 'a', question: 'Where is Paris?', answers: [{ text: 'France', answer_start: 12 }] },
    ...(impossible ? [{ id: 'b', question: 'Where is Rome?', answers: [], is_impossible: true }] : []),
  ] }] }],
});

describe('readTokenTaskFile', () => {
  it('reads SQuAD JSON as question answering, v2.0 scoring when a question has no answer', async () => {
    const v1 = await readTokenTaskFile(bytes(squad(false)), 'dev.json');
    expect(v1).toMatchObject({ task: 'question-answering', version: 1 });
    const v2 = await readTokenTaskFile(bytes(squad(true)), 'dev.json');
    expect(v2?.task === 'question-answering' && v2.questions.map((q) => [q.id, q.answers.text])).toEqual([['a', ['France']], ['b', []]]);
    expect(v2).toMatchObject({ version: 2 });
  });

  it('reads CoNLL text (.conll, .txt, tab or space columns) as token classification', async () => {
    const text = '-DOCSTART- -X- O O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter\tB-PER\nBlackburn\tI-PER\n';
    for (const name of ['train.conll', 'train.txt']) {
      const read = await readTokenTaskFile(bytes(text), name);
      expect(read?.task === 'token-classification' && read.data).toEqual({
        labelNames: ['B-ORG', 'B-PER', 'I-PER', 'O'],
        sentences: [{ words: ['EU', 'rejects'], tags: [0, 3] }, { words: ['Peter', 'Blackburn'], tags: [1, 2] }],
      });
    }
  });

  it("reads the Hub's flattened QA rows and tokens + ner_tags rows from JSONL", async () => {
    const qa = '{"id": "x", "title": "T", "context": "Paris is in France.", "question": "Where?", "answers": {"text": ["France"], "answer_start": [12]}}\n';
    expect(await readTokenTaskFile(bytes(qa), 'train.jsonl')).toMatchObject({ task: 'question-answering', version: 1 });
    const ner = '{"tokens": ["EU", "rejects"], "ner_tags": [1, 0]}\n';
    const read = await readTokenTaskFile(bytes(ner), 'train.jsonl', ['O', 'B-ORG']);
    expect(read?.task === 'token-classification' && read.data.sentences).toEqual([{ words: ['EU', 'rejects'], tags: [1, 0] }]);
  });

  it("reads the Hub's Parquet of squad and wnut_17 (a struct of lists, lists of ClassLabel tags named in the metadata)", async () => {
    const questions = [
      { id: 'a', title: 'T', context: 'Paris is in France.', question: 'Where is Paris?', answers: { text: ['France', 'in France'], answerStart: [12, 9] } },
      { id: 'b', title: 'T', context: 'Rome is in Italy.', question: 'Where is Lyon?', answers: { text: [], answerStart: [] } },
    ];
    const qa = await readTokenTaskFile(squadParquet(questions), 'plain_text-train.parquet');
    expect(qa?.task === 'question-answering' && qa.questions).toEqual(questions);
    expect(qa).toMatchObject({ version: 2 });
    const data = { labelNames: ['O', 'B-location', 'I-location'], sentences: [{ words: ['in', 'New', 'York'], tags: [0, 1, 2] }, { words: ['hi'], tags: [0] }] };
    const ner = await readTokenTaskFile(nerParquet(data), 'train-00000-of-00001.parquet');
    expect(ner?.task === 'token-classification' && ner.data).toEqual(data);
  });

  it('leaves classification tables (GLUE TSV, CSV) to the classification reader', async () => {
    expect(await readTokenTaskFile(bytes('sentence\tlabel\nit is good \t1\nbad \t0\n'), 'train.tsv')).toBeNull();
    expect(await readTokenTaskFile(bytes('text,label\ngood,1\n'), 'train.csv')).toBeNull();
  });

  it('names the file and the problem in a broken one', async () => {
    await expect(readTokenTaskFile(bytes(''), 'dev.json')).rejects.toThrow('dev.json: the file is empty');
    await expect(readTokenTaskFile(bytes('{"data": [{"paragraphs": [{"context": "abc", "qas": [{"id": 1, "question": "q", "answers": [{"text": "x", "answer_start": 0}]}]}]}]}'), 'dev.json'))
      .rejects.toThrow('dev.json: data[0]: paragraphs[0]: qas[0]: question 1: answer 0 is "x" but the context holds "a" at answer_start 0');
    await expect(readTokenTaskFile(bytes('EU B-ORG\nrejects O\n\n'), 'dev.conll', ['O'])).rejects.toThrow(/dev\.conll, line 1: the tag "B-ORG" is not one of the labels O/);
  });
});

describe('collateTokenRows', () => {
  const rows = [
    { inputIds: [2, 5, 6, 3], labels: [IGNORE_INDEX, 1, 0, IGNORE_INDEX], tokenTypeIds: [0, 0, 1, 1] },
    { inputIds: [2, 7, 3], labels: [IGNORE_INDEX, 2, IGNORE_INDEX] },
  ];

  it('pads ids, mask and token types to the bucket, and per-token labels with −100', () => {
    const { batch, labels } = collateTokenRows(rows, 0, 8, true);
    expect(batch.seq).toBe(8);
    expect(Array.from(batch.inputIds)).toEqual([2, 5, 6, 3, 0, 0, 0, 0, 2, 7, 3, 0, 0, 0, 0, 0]);
    expect(Array.from(batch.attentionMask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(batch.tokenTypeIds)).toEqual([0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const ignored = IGNORE_INDEX;
    expect(Array.from(labels)).toEqual([ignored, 1, 0, ignored, ignored, ignored, ignored, ignored, ignored, 2, ignored, ignored, ignored, ignored, ignored, ignored]);
  });

  it('keeps a QA window’s start and end one row after another', () => {
    const spans = [{ inputIds: [2, 5, 3], labels: [1, 1] }, { inputIds: [2, 3], labels: [0, 0] }];
    const { batch, labels } = collateTokenRows(spans, 0, 1, false);
    expect([batch.batch, batch.seq]).toEqual([2, 3]);
    expect(Array.from(labels)).toEqual([1, 1, 0, 0]);
  });

  it('refuses per-token labels that do not cover the row', () => {
    expect(() => collateTokenRows([{ inputIds: [2, 3], labels: [0] }], 0, 1, true)).toThrow('row 0: 1 labels for 2 tokens');
  });
});
