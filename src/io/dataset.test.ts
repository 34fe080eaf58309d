import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildExamples, DatasetError, parseTable, splitValidation, type Table } from './dataset.ts';
import { guessColumns } from './datasetColumns.ts';
import { writeParquet } from './datasetParquetWriter.ts';

const GLUE = new URL('../../../shared/data/glue', import.meta.url).pathname;
const file = (path: string): ArrayBuffer => new Uint8Array(readFileSync(path)).buffer;
const text = (s: string): ArrayBuffer => new TextEncoder().encode(s).buffer;

async function load(bytes: ArrayBuffer, name: string, opts?: Parameters<typeof buildExamples>[3]) {
  const table = await parseTable(bytes, name);
  const columns = guessColumns(table);
  return { table, columns, ...buildExamples(table, columns, name, opts) };
}

/** The DatasetError a promise or a call fails with, to check its file, line and problem. */
async function failure(run: () => unknown): Promise<DatasetError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetError);
    return error as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

describe('datasets: real GLUE files', () => {
  it('SST-2: header sentence/label, 67,349 train and 872 dev examples, two classes', async () => {
    const train = await load(file(`${GLUE}/SST-2/train.tsv`), 'train.tsv');
    expect(train.table.headerless).toBe(false);
    expect(train.columns).toEqual({ text: 'sentence', label: 'label' });
    expect(train.task).toBe('classification');
    expect(train.labelNames).toEqual(['0', '1']);
    expect(train.examples).toHaveLength(67_349);
    // SST-2 sentences end with a space before the tab: kept, the tokenizer strips it.
    expect(train.examples[0]).toEqual({ text: 'hide new secretions from the parental units ', textPair: undefined, label: 0 });
    const dev = await load(file(`${GLUE}/SST-2/dev.tsv`), 'dev.tsv');
    expect(dev.examples).toHaveLength(872);
    expect(dev.examples.filter((e) => e.label === 1).length + dev.examples.filter((e) => e.label === 0).length).toBe(872);
  });

  it('CoLA: no header (label col1, sentence col3), 8,551 / 1,043 rows, the dev file\'s unterminated last line included', async () => {
    const train = await load(file(`${GLUE}/CoLA/train.tsv`), 'train.tsv');
    expect(train.table.headerless).toBe(true);
    expect(train.table.columns).toEqual(['col0', 'col1', 'col2', 'col3']);
    expect(train.columns).toEqual({ label: 'col1', text: 'col3' });
    expect(train.examples).toHaveLength(8551);
    expect(train.examples[0]).toEqual({ text: "Our friends won't buy this analysis, let alone the next one we propose.", textPair: undefined, label: 1 });
    // Line 3057 holds a quoted phrase: with no quoting it is plain text.
    expect(train.examples[3056].text).toBe('Susan whispered "Shut up".');
    const dev = await load(file(`${GLUE}/CoLA/dev.tsv`), 'dev.tsv');
    expect(dev.examples).toHaveLength(1043);
    expect(dev.examples[1042]).toEqual({ text: 'John talked to Bill about himself.', textPair: undefined, label: 1 });
  });

  it('STS-B: sentence1/sentence2/score pairs with float scores → regression, 5,749 / 1,500 rows, an unmatched " kept as text', async () => {
    const train = await load(file(`${GLUE}/STS-B/train.tsv`), 'train.tsv');
    expect(train.columns).toEqual({ text: 'sentence1', textPair: 'sentence2', label: 'score' });
    expect(train.task).toBe('regression');
    expect(train.labelNames).toEqual([]);
    expect(train.examples).toHaveLength(5749);
    expect(train.examples[0]).toEqual({ text: 'A plane is taking off.', textPair: 'An air plane is taking off.', label: 5 });
    // Line 2003 opens a quote it never closes; a quoting parser would swallow the lines after it.
    expect(train.examples[2001]).toEqual({ text: '"Then the captain was gone.', textPair: 'Then the captain came back.', label: 0.8 });
    const dev = await load(file(`${GLUE}/STS-B/dev.tsv`), 'dev.tsv');
    expect(dev.examples).toHaveLength(1500);
  });
});

describe('datasets: other formats', () => {
  it('CSV: quoted commas, doubled quotes and a quoted newline; string labels become sorted class names', async () => {
    const csv = 'text,label\n"Hello, world",pos\n"She said ""no""",neg\n"two\nlines",neutral\nplain,pos\n';
    const data = await load(text(csv), 'reviews.csv');
    expect(data.columns).toEqual({ text: 'text', label: 'label' });
    expect(data.labelNames).toEqual(['neg', 'neutral', 'pos']);
    expect(data.examples.map((e) => [e.text, e.label])).toEqual([
      ['Hello, world', 2],
      ['She said "no"', 0],
      ['two\nlines', 1],
      ['plain', 2],
    ]);
    // Row 4 starts on line 6, after the quoted newline.
    expect(data.table.rowLines).toEqual([2, 3, 4, 6]);
  });

  it('JSONL: columns from the keys, integer labels with given names, boolean labels as classes', async () => {
    const jsonl = '{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": 0}\n\n{"premise": "It rains.", "hypothesis": "It is dry.", "label": 2}\n';
    const data = await load(text(jsonl), 'nli.jsonl', { labelNames: ['entailment', 'neutral', 'contradiction'] });
    expect(data.columns).toEqual({ text: 'premise', textPair: 'hypothesis', label: 'label' });
    expect(data.labelNames).toEqual(['entailment', 'neutral', 'contradiction']);
    expect(data.examples).toEqual([
      { text: 'A dog runs.', textPair: 'An animal moves.', label: 0 },
      { text: 'It rains.', textPair: 'It is dry.', label: 2 },
    ]);
    const flags = await load(text('{"text": "yes", "label": true}\n{"text": "no", "label": false}\n'), 'flags.jsonl');
    expect([flags.labelNames, flags.examples.map((e) => e.label)]).toEqual([['false', 'true'], [1, 0]]);
  });

  it('Parquet: Hugging Face ClassLabel names from the file metadata, INT64 labels', async () => {
    const features = { sentence: { dtype: 'string', _type: 'Value' }, label: { names: ['negative', 'positive'], _type: 'ClassLabel' }, idx: { dtype: 'int32', _type: 'Value' } };
    const bytes = writeParquet(
      [
        { name: 'sentence', type: 'string', values: ['a fine film', 'dull , "long"', 'wonderful'] },
        { name: 'label', type: 'int64', values: [1n, 0n, 1n] },
        { name: 'idx', type: 'int64', values: [0n, 1n, 2n] },
      ],
      { huggingface: JSON.stringify({ info: { features } }) },
    );
    const data = await load(bytes, 'train-00000-of-00001.parquet');
    expect(data.table.labelNames).toEqual({ label: ['negative', 'positive'] });
    expect(data.columns).toEqual({ text: 'sentence', label: 'label' });
    expect(data.labelNames).toEqual(['negative', 'positive']);
    expect(data.examples.map((e) => e.label)).toEqual([1, 0, 1]);
    expect(data.examples[1].text).toBe('dull , "long"');
    // Float targets without metadata: regression.
    const scores = await load(writeParquet([{ name: 'text', type: 'string', values: ['a', 'b'] }, { name: 'score', type: 'double', values: [0.25, 4.5] }]), 's.parquet');
    expect([scores.task, scores.examples.map((e) => e.label)]).toEqual(['regression', [0.25, 4.5]]);
  });

  it('header detection: a headerless two-column file keeps its first row', async () => {
    const table = await parseTable(text('a great film\t1\na bad film\t0\n'), 'x.tsv');
    expect(table.headerless).toBe(true);
    expect(guessColumns(table)).toEqual({ label: 'col1', text: 'col0' });
    expect(buildExamples(table, guessColumns(table), 'x.tsv').examples).toHaveLength(2);
  });
});

describe('datasets: bad input gets a DatasetError naming the file, the line and the problem', () => {
  const build = (table: Table, name: string) => buildExamples(table, guessColumns(table), name);

  it('empty file, header only, not UTF-8, unknown type, broken Parquet', async () => {
    expect((await failure(() => parseTable(new ArrayBuffer(0), 'e.csv'))).message).toBe('e.csv: the file is empty');
    expect((await failure(() => parseTable(text('\n \n'), 'e.tsv'))).message).toBe('e.tsv: the file is empty');
    const headerOnly = await parseTable(text('sentence\tlabel\n'), 'h.tsv');
    expect((await failure(() => build(headerOnly, 'h.tsv'))).problem).toMatch(/no examples/);
    expect((await failure(() => parseTable(new Uint8Array([0x74, 0xff, 0xfe]).buffer, 'b.csv'))).problem).toMatch(/not UTF-8/);
    expect((await failure(() => parseTable(text('x'), 'data.xlsx'))).problem).toMatch(/unsupported file type "\.xlsx"/);
    expect((await failure(() => parseTable(text('PAR1 not really'), 'd.parquet'))).problem).toMatch(/not a readable Parquet file/);
  });

  it('no label column, no text column, a row missing its text', async () => {
    const noLabel = await parseTable(text('sentence\nhello there\n'), 'n.tsv');
    expect(guessColumns(noLabel).label).toBeUndefined();
    expect((await failure(() => build(noLabel, 'n.tsv'))).message).toBe('n.tsv: no label column: choose one of sentence');
    const noText = await parseTable(text('label\n1\n0\n'), 't.tsv');
    expect((await failure(() => build(noText, 't.tsv'))).problem).toMatch(/no text column/);
    const nullText = await parseTable(text('{"text": "fine", "label": 1}\n{"text": null, "label": 0}\n'), 's.jsonl');
    const e = await failure(() => build(nullText, 's.jsonl'));
    expect([e.line, e.problem]).toEqual([2, 'the text ("text") is missing']);
  });

  it('labels that do not parse: a word among scores, an empty label, a negative or out-of-range class, a float class', async () => {
    const scores = await parseTable(text('text\tscore\na\t0.5\nb\tn/a\nc\t2.5\n'), 'sc.tsv');
    const word = await failure(() => build(scores, 'sc.tsv'));
    expect(word.message).toBe('sc.tsv, line 3: the label "n/a" does not match the other labels (numbers)');
    expect((await failure(() => buildExamples(scores, { text: 'text', label: 'score' }, 'sc.tsv', { task: 'regression' }))).line).toBe(3);
    const empty = await failure(async () => build(await parseTable(text('text,label\na,1\nb,\n'), 'em.csv'), 'em.csv'));
    expect([empty.line, empty.problem]).toEqual([3, 'the label is empty']);
    const negative = await failure(async () => build(await parseTable(text('text\tlabel\na\t1\nb\t-1\n'), 'neg.tsv'), 'neg.tsv'));
    expect([negative.line, negative.problem]).toEqual([3, 'the label -1 is negative (a test split without labels?)']);
    const range = await failure(async () => buildExamples(await parseTable(text('text\tlabel\na\t1\nb\t2\n'), 'r.tsv'), { text: 'text', label: 'label' }, 'r.tsv', { labelNames: ['no', 'yes'] }));
    expect([range.line, range.problem]).toEqual([3, 'the label 2 is out of range for the 2 classes no, yes']);
    const float = await failure(async () => buildExamples(await parseTable(text('text\tlabel\na\t1\nb\t0.5\n'), 'f.tsv'), { text: 'text', label: 'label' }, 'f.tsv', { task: 'classification' }));
    expect([float.line, float.problem]).toEqual([3, 'the label "0.5" is not a class index (integers 0, 1, …)']);
  });

  it('broken JSONL lines and unterminated CSV quotes name their line', async () => {
    const json = await failure(() => parseTable(text('{"text": "a", "label": 1}\n{"text": "b", \n'), 'j.jsonl'));
    expect(json.message).toBe('j.jsonl, line 2: not valid JSON');
    expect((await failure(() => parseTable(text('{"text": "a"}\n[1, 2]\n'), 'k.jsonl'))).line).toBe(2);
    const csv = await failure(() => parseTable(text('text,label\nok,1\n"never closed,0\nmore,1\n'), 'q.csv'));
    expect(csv.line).toBe(3);
    expect(csv.problem).toMatch(/quote/i);
  });
});

describe('splitValidation', () => {
  const items = Array.from({ length: 101 }, (_, i) => i);

  it('holds out round(n·fraction) examples by a seeded shuffle: same seed, same split; both parts in file order', () => {
    const a = splitValidation(items, 0.1, 7);
    expect(a.validation).toHaveLength(10);
    expect(a.train).toHaveLength(91);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual(items);
    expect(a.validation).toEqual([...a.validation].sort((x, y) => x - y));
    expect(splitValidation(items, 0.1, 7)).toEqual(a);
    expect(splitValidation(items, 0.1, 8).validation).not.toEqual(a.validation);
    // The held-out set is not simply the head or the tail of the file.
    expect(a.validation).not.toEqual(items.slice(0, 10));
    expect(a.validation).not.toEqual(items.slice(-10));
  });

  it('keeps at least one example on each side and rejects impossible requests', () => {
    expect(splitValidation([1, 2], 0.01, 1).validation).toHaveLength(1);
    expect(splitValidation([1, 2], 0.99, 1).train).toHaveLength(1);
    expect(() => splitValidation([1], 0.5, 1)).toThrow(/cannot split 1/);
    expect(() => splitValidation(items, 1, 1)).toThrow(/between 0 and 1/);
  });
});
