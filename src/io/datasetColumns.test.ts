import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildExamples, DatasetError, parseTable } from './dataset.ts';
import { describeMapping, guessColumns, leftOutWarning, reportColumns } from './datasetColumns.ts';

const GLUE = new URL('../../../shared/data/glue', import.meta.url).pathname;
const file = (path: string): ArrayBuffer => new Uint8Array(readFileSync(path)).buffer;
const text = (s: string): ArrayBuffer => new TextEncoder().encode(s).buffer;
const tsv = (rows: string[][]) => rows.map((r) => r.join('\t')).join('\n') + '\n';

async function mapped(bytes: ArrayBuffer, name: string) {
  const table = await parseTable(bytes, name);
  const columns = guessColumns(table);
  const built = buildExamples(table, columns, name);
  return { table, columns, built, report: reportColumns(table, columns), line: describeMapping(columns, built) };
}

async function failure(run: () => unknown): Promise<DatasetError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(DatasetError);
    return error as DatasetError;
  }
  throw new Error('expected a DatasetError');
}

// Rows in the exact layouts the GLUE download writes (headers verbatim; sentences from the files).
const MNLI_HEAD = ['index', 'promptID', 'pairID', 'genre', 'sentence1_binary_parse', 'sentence2_binary_parse', 'sentence1_parse', 'sentence2_parse', 'sentence1', 'sentence2'];
const MNLI_ROW = [
  '31193', '31193n', 'government',
  '( ( Conceptually ( cream skimming ) ) ( ( has ( ( ( two ( basic dimensions ) ) - ) ( ( product and ) geography ) ) ) . ) )',
  '( ( ( Product and ) geography ) ( ( are ( what ( make ( cream ( skimming work ) ) ) ) ) . ) )',
  '(ROOT (S (NP (JJ Conceptually) (NN cream) (NN skimming)) (VP (VBZ has) (NP (NP (CD two) (JJ basic) (NNS dimensions)))) (. .)))',
  '(ROOT (S (NP (NN Product) (CC and) (NN geography)) (VP (VBP are) (SBAR (WHNP (WP what)) (S (VP (VBP make))))) (. .)))',
  'Conceptually cream skimming has two basic dimensions - product and geography.',
  'Product and geography are what make cream skimming work. ',
];

describe('column mapping: GLUE files as distributed', () => {
  it('SST-2, CoLA and STS-B (the real files): the mapping line, nothing left out', async () => {
    const sst2 = await mapped(file(`${GLUE}/SST-2/dev.tsv`), 'dev.tsv');
    expect([sst2.line, sst2.report]).toEqual(['text=sentence, label=label (2 classes: 0, 1)', { layout: 'GLUE SST-2', leftOut: [] }]);
    const cola = await mapped(file(`${GLUE}/CoLA/dev.tsv`), 'dev.tsv');
    expect([cola.line, cola.report.leftOut]).toEqual(['text=col3, label=col1 (2 classes: 0, 1)', []]);
    const stsb = await mapped(file(`${GLUE}/STS-B/dev.tsv`), 'dev.tsv');
    expect([stsb.line, stsb.report]).toEqual(['text=sentence1, pair=sentence2, label=score (regression)', { layout: 'GLUE STS-B', leftOut: [] }]);
  });

  it('MRPC with its byte-order mark: #1 String and #2 String are text and pair, Quality the label', async () => {
    const mrpc = tsv([
      ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'],
      ['1', '702876', '702977', 'Amrozi accused his brother , whom he called " the witness " , of deliberately distorting his evidence .', 'Referring to him as only " the witness " , Amrozi accused his brother of deliberately distorting his evidence .'],
      ['0', '2108705', '2108831', "Yucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion .", "Yucaipa bought Dominick 's in 1995 for $ 693 million and sold it to Safeway for $ 1.8 billion in 1998 ."],
    ]);
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode(mrpc)]).buffer;
    const data = await mapped(bom, 'train.tsv');
    expect(data.line).toBe('text=#1 String, pair=#2 String, label=Quality (2 classes: 0, 1)');
    expect(data.report.layout).toBe('GLUE MRPC');
    expect(data.built.examples[1]).toEqual({ text: "Yucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion .", textPair: "Yucaipa bought Dominick 's in 1995 for $ 693 million and sold it to Safeway for $ 1.8 billion in 1998 .", label: 0 });
  });

  it('QQP, QNLI, RTE and WNLI: pairs and their labels', async () => {
    const qqp = await mapped(text(tsv([
      ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'],
      ['133273', '213221', '213222', 'How is the life of a math student? Could you describe your own experiences?', 'Which level of prepration is enough for the exam jlpt5?', '0'],
      ['402555', '536040', '536041', 'How do I control my horny emotions?', 'How do you control your horniness?', '1'],
    ])), 'train.tsv');
    expect(qqp.line).toBe('text=question1, pair=question2, label=is_duplicate (2 classes: 0, 1)');
    const qnli = await mapped(text(tsv([
      ['index', 'question', 'sentence', 'label'],
      ['0', 'When did the third Digimon series begin?', 'Unlike the two seasons before it and most of the seasons that followed, Digimon Tamers takes a darker and more realistic approach to its story featuring Digimon who do not reincarnate after their deaths and more complex character development in the original Japanese.', 'not_entailment'],
      ['1', 'Which missile batteries often have individual launchers several kilometres from one another?', 'When MANPADS is operated by specialists, batteries may have several dozen teams deploying separately in small sections; self-propelled air defence guns may deploy in pairs.', 'not_entailment'],
      ['2', 'What two things does Popper argue Tarski\'s theory involves in an evaluation of truth?', 'He bases this interpretation on the fact that examples such as the one described above refer to two things: assertions and the facts to which they refer.', 'entailment'],
    ])), 'train.tsv');
    expect(qnli.line).toBe('text=question, pair=sentence, label=label (2 classes: entailment, not_entailment)');
    const rte = await mapped(text(tsv([
      ['index', 'sentence1', 'sentence2', 'label'],
      ['0', 'No Weapons of Mass Destruction Found in Iraq Yet.', 'Weapons of Mass Destruction Found in Iraq.', 'not_entailment'],
      ['1', 'A place of sorrow, after Pope John Paul II died, became a place of celebration.', 'Pope Benedict XVI is the new leader of the Roman Catholic Church.', 'entailment'],
    ])), 'train.tsv');
    expect([rte.line, rte.report.layout]).toEqual(['text=sentence1, pair=sentence2, label=label (2 classes: entailment, not_entailment)', 'GLUE RTE or WNLI']);
    const wnli = await mapped(text(tsv([
      ['index', 'sentence1', 'sentence2', 'label'],
      ['0', 'I stuck a pin through a carrot. When I pulled the pin out, it had a hole.', 'The carrot had a hole.', '1'],
      ['1', 'John couldn\'t see the stage with Billy in front of him because he is so short.', 'John is so short.', '1'],
      ['2', 'The police arrested all of the gang members. They were trying to stop the drug trade in the neighborhood.', 'The police were trying to stop the drug trade in the neighborhood.', '0'],
    ])), 'dev.tsv');
    expect(wnli.line).toBe('text=sentence1, pair=sentence2, label=label (2 classes: 0, 1)');
  });

  it('MNLI train, dev_matched and dev_mismatched: sentence1/sentence2 and gold_label; the parse trees are not free text', async () => {
    const train = await mapped(text(tsv([[...MNLI_HEAD, 'label1', 'gold_label'], ['0', ...MNLI_ROW, 'neutral', 'neutral'], ['1', ...MNLI_ROW, 'entailment', 'entailment']])), 'train.tsv');
    expect([train.line, train.report]).toEqual(['text=sentence1, pair=sentence2, label=gold_label (2 classes: entailment, neutral)', { layout: 'GLUE MNLI', leftOut: [] }]);
    for (const name of ['dev_matched.tsv', 'dev_mismatched.tsv']) {
      const dev = await mapped(
        text(tsv([[...MNLI_HEAD, 'label1', 'label2', 'label3', 'label4', 'label5', 'gold_label'], ['9', ...MNLI_ROW, 'neutral', 'contradiction', 'neutral', 'neutral', 'neutral', 'neutral']])),
        name,
      );
      expect(dev.line).toBe('text=sentence1, pair=sentence2, label=gold_label (1 class: neutral)');
    }
  });

  it('GLUE test files (no labels) are refused for training, saying why', async () => {
    const tests: [string, string[][]][] = [
      ['CoLA or SST-2', [['index', 'sentence'], ['0', 'Bill whistled past the house.']]],
      ['MRPC', [['index', '#1 ID', '#2 ID', '#1 String', '#2 String'], ['0', '1089874', '1089925', 'PCCW \'s chief operating officer , Mike Butcher , and Alex Arena , the chief financial officer , will report directly to Mr So .', 'Current Chief Operating Officer Mike Butcher and Group Chief Financial Officer Alex Arena will report to So .']]],
      ['QQP', [['id', 'question1', 'question2'], ['0', 'How does the Surface Pro himself 4 compare with iPad Pro?', 'Why did Microsoft choose core m3 and not core i3 home Surface Pro 4?']]],
      ['MNLI', [MNLI_HEAD, ['0', ...MNLI_ROW]]],
      ['QNLI', [['index', 'question', 'sentence'], ['0', 'What organization is devoted to Jihad against Israel?', 'For some decades prior to the First Palestine Intifada in 1987, the Muslim Brotherhood in Palestine took a "quiescent" stance towards Israel.']]],
      ['RTE, WNLI or AX', [['index', 'sentence1', 'sentence2'], ['0', 'Mangla was summoned after Madhumita\'s sister Nidhi Shukla, who was the first witness in the case.', 'Shukla is related to Mangla.']]],
    ];
    for (const [task, rows] of tests) {
      const table = await parseTable(text(tsv(rows)), 'test.tsv');
      const error = await failure(() => buildExamples(table, guessColumns(table), 'test.tsv'));
      expect(error.message).toContain(`test.tsv: this is GLUE's unlabelled ${task} test file: its labels are withheld`);
    }
    const stsb = await parseTable(text(tsv([['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2'], ['0', 'main-captions', 'MSRvid', '2012test', '0024', 'none', 'none', 'A girl is styling her hair.', 'A girl is brushing her hair.']])), 'test.tsv');
    expect((await failure(() => buildExamples(stsb, { text: 'sentence1', label: 'year' }, 'test.tsv'))).problem).toMatch(/unlabelled STS-B test file/);
  });
});

describe('column mapping: Hugging Face names and unnamed pairs', () => {
  it('a JSONL of text / text_pair / label rows (the tokenizers\' own names) is read as pairs', async () => {
    const rows = [
      { text: 'The cat sat on the mat.', text_pair: 'A cat is sitting.', label: 1 },
      { text: 'It is raining today.', text_pair: 'The weather is dry.', label: 0 },
    ];
    const data = await mapped(text(rows.map((r) => JSON.stringify(r)).join('\n')), 'pairs.jsonl');
    expect(data.line).toBe('text=text, pair=text_pair, label=label (2 classes: 0, 1)');
    expect(data.built.examples[0]).toEqual({ text: 'The cat sat on the mat.', textPair: 'A cat is sitting.', label: 1 });
  });

  it('question with passage, context or sentence; premise / hypothesis', async () => {
    for (const second of ['passage', 'context', 'sentence']) {
      const table = await parseTable(text(JSON.stringify({ question: 'is it open today?', [second]: 'The shop opens daily at nine in the morning.', label: true })), 'q.jsonl');
      expect(guessColumns(table)).toEqual({ text: 'question', textPair: second, label: 'label' });
    }
    const nli = await parseTable(text('premise,hypothesis,label\nA man plays a guitar on stage.,A person makes music.,entailment\n'), 'nli.csv');
    expect(guessColumns(nli)).toEqual({ text: 'premise', textPair: 'hypothesis', label: 'label' });
  });

  it('two long free-text columns with other names become text and pair, in file order; a headerless pair file too', async () => {
    const csv = 'id,claim,evidence,verdict\n1,The moon is made of cheese today.,Samples returned by Apollo show rock and dust.,0\n2,Water boils at one hundred degrees.,At sea level pure water boils at 100 C.,1\n3,Cats are a kind of reptile.,Cats are mammals of the family Felidae.,0\n';
    expect(guessColumns(await parseTable(text(csv), 'facts.csv'))).toEqual({ text: 'claim', textPair: 'evidence', label: 'verdict' });
    const headerless = await parseTable(text('1\tA dog runs in the park.\tAn animal is outside now.\n0\tA man sleeps in his bed.\tThe man is running a race.\n'), 'pairs.tsv');
    expect(guessColumns(headerless)).toEqual({ label: 'col0', text: 'col1', textPair: 'col2' });
  });

  it('a free-text column the choice leaves out is named', async () => {
    const rows = [
      { text: 'Great phone, the battery lasts two days.', title: 'Best purchase of the year so far', label: 'pos' },
      { text: 'Screen cracked within a week of use.', title: 'Would not buy this again', label: 'neg' },
    ];
    const data = await mapped(text(rows.map((r) => JSON.stringify(r)).join('\n')), 'reviews.jsonl');
    expect(data.columns).toEqual({ text: 'text', label: 'label' });
    expect(data.report.leftOut).toEqual(['title']);
    expect(leftOutWarning(data.report.leftOut)).toBe('free-text column "title" is not used: choose it as text or text pair if the model should read it');
    expect(leftOutWarning([])).toBeUndefined();
  });
});

describe('strict rows', () => {
  it('a CSV row with two extra unquoted fields is refused with its line, the counts and how many rows differ', async () => {
    const lines = ['text,label', ...Array.from({ length: 8 }, (_, i) => `row ${i},${i % 2}`)];
    lines[6] = 'a row with, two, extra fields,1';
    const one = await failure(() => parseTable(text(lines.join('\n')), 'ragged.csv'));
    expect(one.message).toBe('ragged.csv, line 7: 4 fields where the header has 2');
    lines[8] = 'short';
    const two = await failure(() => parseTable(text(lines.join('\n')), 'ragged.csv'));
    expect(two.message).toBe('ragged.csv, line 7: 4 fields where the header has 2; 2 rows in all do not match');
    // Quoted commas are one field.
    lines[6] = '"a row with, two, quoted commas",1';
    lines[8] = 'fine,0';
    expect((await parseTable(text(lines.join('\n')), 'ok.csv')).rows[5][0]).toBe('a row with, two, quoted commas');
  });

  it('a TSV row with a field too few or too many is refused, unless quoting explains it', async () => {
    const ragged = await failure(() => parseTable(text('sentence\tlabel\ngood\t1\nbad\t0\textra\nfine\t1\n'), 'r.tsv'));
    expect([ragged.line, ragged.problem]).toEqual([3, '3 fields where the header has 2']);
    const headerless = await failure(() => parseTable(text('gj04\t1\t\tA sentence here.\ngj04\t0\tA sentence without its star.\n'), 'cola.tsv'));
    expect(headerless.message).toBe('cola.tsv, line 2: 3 fields where the first row has 4');
    const quoted = await parseTable(text('sentence\tlabel\n"a tab\tinside quotes"\t1\nplain\t0\n'), 'q.tsv');
    expect(quoted.rows).toEqual([['a tab\tinside quotes', '1'], ['plain', '0']]);
  });

  it('a JSONL row without a chosen key is refused with its line and how many', async () => {
    const jsonl = [
      { text: 'one sentence here.', text_pair: 'and its pair.', label: 1 },
      { text: 'two sentences here.', text_pair: 'and their pair.', label: 0 },
      { text: 'three, but no pair.', label: 1 },
      { text: 'four, no pair either.', label: 0 },
    ].map((r) => JSON.stringify(r)).join('\n');
    const table = await parseTable(text(jsonl), 'p.jsonl');
    const error = await failure(() => buildExamples(table, guessColumns(table), 'p.jsonl'));
    expect(error.message).toBe('p.jsonl, line 3: the row has no "text_pair" (a chosen column); 2 rows in all lack a chosen column');
  });
});
