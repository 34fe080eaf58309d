import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DatasetError, parseTable, type Table } from './dataset.ts';
import { writeParquet } from './datasetParquetWriter.ts';
import { nerFeature, nerFromTable, parseConll } from './ner-data.ts';
import { createTokenizer } from './tokenizer.ts';

const DEMO = new URL('../../../shared/models/vectorfit-demo-bert-tiny/', import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

// The opening of CoNLL-2003's eng.train: word, POS, chunk and NER tag columns.
const CONLL = `-DOCSTART- -X- -X- O

EU NNP B-NP B-ORG
rejects VBZ B-VP O
German JJ B-NP B-MISC
call NN I-NP O
. . O O

Peter NNP B-NP B-PER
Blackburn NNP I-NP I-PER

`;

describe('CoNLL files', () => {
  it('reads word and last-column tag, splits sentences at blank lines, skips -DOCSTART-, sorts the label names', () => {
    const data = parseConll(CONLL, 'eng.train');
    expect(data.labelNames).toEqual(['B-MISC', 'B-ORG', 'B-PER', 'I-PER', 'O']);
    expect(data.sentences).toEqual([
      { words: ['EU', 'rejects', 'German', 'call', '.'], tags: [1, 4, 0, 4, 4] },
      { words: ['Peter', 'Blackburn'], tags: [2, 3] },
    ]);
  });

  it('keeps given label names (the model config order) and names the file and line of a tag outside them', () => {
    const names = ['O', 'B-PER', 'I-PER', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC', 'B-MISC', 'I-MISC'];
    expect(parseConll(CONLL, 'eng.train', names).sentences[1].tags).toEqual([1, 2]);
    expect(() => parseConll(CONLL, 'eng.train', ['O', 'B-PER'])).toThrow('eng.train, line 3: the tag "B-ORG" is not one of the labels O, B-PER');
  });

  it('refuses a line without a tag column and a file without sentences', () => {
    expect(() => parseConll('EU B-ORG\nrejects\n', 'x.conll')).toThrow('x.conll, line 2: "rejects" has no tag column');
    expect(() => parseConll('-DOCSTART- O\n\n', 'x.conll')).toThrow(DatasetError);
  });
});

describe('tokens + ner_tags rows', () => {
  const table = (rows: unknown[][], labelNames?: Record<string, string[]>): Table => ({ columns: ['id', 'tokens', 'ner_tags'], rows, headerless: false, rowLines: rows.map((_, i) => i + 1), rowUnit: 'row', labelNames });

  it('ClassLabel ids with the names from the file', () => {
    const data = nerFromTable(table([['0', ['EU', 'rejects'], [3n, 0n]]], { ner_tags: ['O', 'B-PER', 'I-PER', 'B-ORG'] }), 'train.parquet');
    expect(data).toEqual({ sentences: [{ words: ['EU', 'rejects'], tags: [3, 0] }], labelNames: ['O', 'B-PER', 'I-PER', 'B-ORG'] });
  });

  it('tag strings get the sorted names; an id outside the names and a length mismatch are errors naming the row', () => {
    expect(nerFromTable(table([['0', ['EU', 'rejects'], ['B-ORG', 'O']]]), 'x.jsonl').labelNames).toEqual(['B-ORG', 'O']);
    expect(() => nerFromTable(table([['0', ['EU'], [5]]]), 'x.jsonl', { labelNames: ['O', 'B-ORG'] })).toThrow('x.jsonl, row 1: the tag 5 is not a label id in 0…1 (O, B-ORG)');
    expect(() => nerFromTable(table([['0', ['EU', 'x'], [0]]]), 'x.jsonl')).toThrow('x.jsonl, row 1: 2 words but 1 tags');
  });

  it('Parquet metadata: the names of a Sequence / List of ClassLabel column', async () => {
    const classLabel = { _type: 'ClassLabel', names: ['O', 'B-PER', 'I-PER'] };
    for (const features of [{ ner_tags: { _type: 'Sequence', feature: classLabel } }, { ner_tags: { _type: 'List', feature: classLabel } }, { ner_tags: [classLabel] }]) {
      const bytes = writeParquet([{ name: 'id', type: 'string', values: ['0'] }], { huggingface: JSON.stringify({ info: { features } }) });
      expect((await parseTable(bytes, 'train.parquet')).labelNames).toEqual({ ner_tags: ['O', 'B-PER', 'I-PER'] });
    }
  });
});

describe('NER features (run_ner.py tokenize_and_align_labels)', () => {
  const bert = createTokenizer({ tokenizerJson: json(`${DEMO}tokenizer.json`), tokenizerConfig: json(`${DEMO}tokenizer_config.json`) });
  const sentence = { words: ['Johanson', 'lives', 'in', 'Zürich', '.'], tags: [1, 0, 0, 3, 0] };

  it('the tag on the first sub-token of each word, −100 on the rest and on [CLS]/[SEP]', () => {
    const f = nerFeature(sentence, bert, 64);
    expect(f.inputIds).toEqual([bert.clsId, ...bert.tokenize(sentence.words.join(' ')).ids, bert.sepId]);
    const firsts = f.wordIds.map((w, i) => (w !== null && w !== f.wordIds[i - 1] ? i : -1)).filter((i) => i >= 0);
    expect(firsts.map((i) => f.labels[i])).toEqual(sentence.tags);
    expect(f.labels.filter((l) => l !== -100)).toHaveLength(sentence.words.length);
    expect(f.wordIds[0]).toBeNull();
    expect(f.wordIds.at(-1)).toBeNull();
    // "johanson" is more than one WordPiece, so the test covers continuation pieces.
    expect(f.wordIds.filter((w) => w === 0).length).toBeGreaterThan(1);
  });

  it('truncates to the maximum length including the special tokens', () => {
    const f = nerFeature(sentence, bert, 4);
    expect(f.inputIds).toHaveLength(4);
    expect(f.labels).toEqual([-100, 1, -100, -100]);
  });
});
