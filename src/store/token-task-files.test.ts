// QA and NER files dropped into the studio's data store: recognised, tokenized at the run's max
// length (QA windows follow the setting and the stride), split by question or sentence, previewed
// with the counts the UI shows; an NER validation file reads its tags with the training file's names.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { splitValidation } from '../io/dataset.ts';
import { readModelFolder } from '../io/model-folder.ts';
import { parseConll } from '../io/ner-data.ts';
import { parseSquadJson } from '../io/qa-data.ts';
import { nerExamples, qaExamples } from '../io/token-task-data.ts';
import { createTokenizer } from '../io/tokenizer.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { useFiles } from './files.ts';
import { buildTokenTaskDataset, entitySpans, summariseTokenTask, type TokenizeProgress, type TokenTaskBuild } from './token-task-dataset.ts';
import { dropped, modelFolder } from './test-drops.ts';


const context = Array.from({ length: 150 }, (_, i) => `word${i}`).join(' ') + ' The capital of France is Paris.';
const squad = JSON.stringify({
  version: '1.1',
  data: [{
    title: 't',
    paragraphs: Array.from({ length: 10 }, (_, p) => ({
      context,
      qas: [
        { id: `q${p}a`, question: 'What is the capital of France?', answers: [{ text: 'Paris', answer_start: context.indexOf('Paris') }] },
        ...(p === 0 ? [{ id: 'q0b', question: 'Who?', answers: [], is_impossible: true }] : []),
      ],
    })),
  }],
});
const modelFiles = async (name: string): Promise<ModelFiles> => ({
  name,
  files: Object.fromEntries(await Promise.all(modelFolder(name).map(async (f) => [f.path, await f.file.arrayBuffer()] as const))),
});
const conll = (n: number, tag = 'B-person') => Array.from({ length: n }, (_, i) => `Alice\t${tag}\nmet\tO\nBob${i}\tB-person\nin\tO\nParis\tB-location`).join('\n\n');

afterEach(() => vi.restoreAllMocks());

beforeEach(() => {
  useFiles.setState({ model: null, modelInfo: null, train: null, validation: null, folder: null, columns: {}, validationSource: 'fraction', validationFraction: 0.1, validationNote: null, dataset: null, tokenizing: null, qaStride: 128 });
  useErrors.setState({ errors: [] });
  useConfig.setState((s) => ({ preset: {}, edited: {}, avfEdited: false, trainExamples: 0, config: { ...s.config, maxLength: 64 } }));
});

describe('QA and NER files in the studio', () => {
  it('a SQuAD file is recognised, previewed, and windowed at the run max length and stride, split by question', async () => {
    const files = useFiles.getState();
    await files.dropDataset('train', dropped('squad.json', squad));
    let s = useFiles.getState();
    expect(s.train?.tokenTask?.task).toBe('question-answering');
    expect(s.train?.table.rows).toHaveLength(11);
    expect([s.dataset, s.tokenizing]).toEqual([null, null]); // no tokenizer yet
    expect(summariseTokenTask(s.train!.tokenTask!)).toEqual({ task: 'question-answering', questions: 11, unanswerable: 1, contexts: 1, version: 2 });
    await files.dropModel(modelFolder('bert'));
    // Tokenized in the background: no Dataset (and Train off) until it is in.
    expect(useFiles.getState().dataset).toBeNull();
    expect(useFiles.getState().tokenizing).toMatchObject({ total: 11, unit: 'questions' });
    await files.datasetSettled();
    s = useFiles.getState();
    expect(s.tokenizing).toBeNull();
    expect(useErrors.getState().errors).toEqual([]);
    expect(s.dataset?.task).toBe('question-answering');
    expect(s.dataset?.qa?.version).toBe(2);
    // 1 of 11 questions held out; every window fits the run's max length.
    expect(s.dataset?.qa?.questions).toHaveLength(1);
    const lengths = s.dataset!.train.map((e) => e.tokens!.inputIds.length);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(64);
    const windows64 = s.dataset!.train.length;
    expect(windows64).toBeGreaterThan(10);
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 256 } }));
    files.rebuildDataset();
    await files.datasetSettled();
    s = useFiles.getState();
    expect(s.dataset!.train.length).toBeLessThan(windows64);
    expect(Math.max(...s.dataset!.train.map((e) => e.tokens!.inputIds.length))).toBeGreaterThan(64);
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 64 } }));
    files.setQaStride(8);
    await files.datasetSettled();
    expect(useFiles.getState().dataset!.train.length).toBeLessThan(windows64);
  });

  it('a CoNLL file with a CoNLL validation file: tags named as in training, sentences as examples', async () => {
    const files = useFiles.getState();
    await files.dropModel(modelFolder('bert'));
    await files.dropDataset('train', dropped('train.conll', conll(12)));
    await files.dropDataset('validation', dropped('dev.conll', conll(3, 'O')));
    await files.datasetSettled();
    const s = useFiles.getState();
    expect(useErrors.getState().errors).toEqual([]);
    expect(s.validationSource).toBe('file');
    expect(s.dataset?.task).toBe('token-classification');
    expect([s.dataset?.train.length, s.dataset?.validation.length]).toEqual([12, 3]);
    expect(s.dataset?.name).toBe('train.conll + dev.conll');
    const summary = summariseTokenTask(s.train!.tokenTask!);
    expect(summary).toMatchObject({ task: 'token-classification', sentences: 12, entities: [{ type: 'person', count: 24 }, { type: 'location', count: 12 }] });
  });

  it('a validation file of the other task is refused, naming it', async () => {
    const files = useFiles.getState();
    await files.dropModel(modelFolder('bert'));
    await files.dropDataset('train', dropped('train.conll', conll(12)));
    await files.dropDataset('validation', dropped('squad.json', squad));
    await files.datasetSettled();
    expect([useFiles.getState().dataset, useFiles.getState().tokenizing]).toEqual([null, null]);
    expect(useErrors.getState().errors.map((e) => e.message).join('\n')).toMatch(/squad\.json: not token-classification data .* like train\.conll/);
  });

  it('entities are chunked as seqeval does', () => {
    expect(entitySpans(['B-per', 'I-per', 'O', 'I-loc', 'B-loc', 'I-per'])).toEqual([
      { start: 0, end: 2, type: 'per' },
      { start: 3, end: 4, type: 'loc' },
      { start: 4, end: 5, type: 'loc' },
      { start: 5, end: 6, type: 'per' },
    ]);
  });

  it('a change while a build runs supersedes it: only the newest settings make the Dataset, and no stale one is ever set', async () => {
    const files = useFiles.getState();
    await files.dropDataset('train', dropped('squad.json', squad));
    const seen: (Dataset | null)[] = [];
    const unsubscribe = useFiles.subscribe((s, prev) => s.dataset !== prev.dataset && seen.push(s.dataset));
    await files.dropModel(modelFolder('bert'));
    // Let the first build (at max length 64, stride 128) get under way, then change both settings.
    await new Promise((resolve) => setTimeout(resolve, 0));
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 96 } }));
    files.rebuildDataset();
    files.setQaStride(16);
    await files.datasetSettled();
    unsubscribe();
    const final = seen.filter((d) => d !== null);
    expect(final).toHaveLength(1);
    expect(useFiles.getState().dataset).toBe(final[0]);
    expect(useFiles.getState().tokenizing).toBeNull();
    // The same as a build from scratch at those settings.
    const tokenizer = createTokenizer(readModelFolder(await modelFiles('bert')).tokenizer);
    const split = splitValidation(parseSquadJson(squad, 'squad.json'), 0.1, 1234);
    const expected = qaExamples(split.train, tokenizer, { maxLength: 96, stride: 16 });
    expect(final[0]!.train.map((e) => e.tokens)).toEqual(expected.examples.map((e) => e.tokens));
    expect(useErrors.getState().errors).toEqual([]);
  });

  it('a failed build is reported naming the file it came from; a superseded one is not', async () => {
    const files = useFiles.getState();
    const long = squad.replace('What is the capital of France?', Array.from({ length: 30 }, () => 'really').join(' ') + ' what is the capital?');
    await files.dropModel(modelFolder('bert'));
    await files.dropDataset('train', dropped('squad.json', squad));
    await files.dropDataset('validation', dropped('dev.json', long));
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 32 } }));
    files.rebuildDataset();
    await files.datasetSettled();
    expect([useFiles.getState().dataset, useFiles.getState().tokenizing]).toEqual([null, null]);
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual([expect.stringMatching(/^dev\.json: question q0a: its \d+ tokens leave 0 context tokens per window of 32/)]);
    // The training file's own questions fail at 16 tokens; the setting changes back before that build runs.
    files.setValidationSource('fraction');
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 16 } }));
    files.rebuildDataset();
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 64 } }));
    files.rebuildDataset();
    await files.datasetSettled();
    expect(useErrors.getState().errors).toEqual([]);
    expect(useFiles.getState().dataset?.train.length).toBeGreaterThan(10);
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 16 } }));
    files.rebuildDataset();
    await files.datasetSettled();
    expect(useErrors.getState().errors.map((e) => e.message)).toEqual([expect.stringMatching(/^squad\.json: question q\d+a: its \d+ tokens leave \d+ context tokens per window of 16/)]);
  });

  it('the chunked build equals one pass over all questions or sentences, reports progress, and stops when superseded', async () => {
    const tokenizer = createTokenizer(readModelFolder(await modelFiles('bert')).tokenizer);
    const questions = parseSquadJson(squad, 'squad.json');
    const qa: TokenTaskBuild = {
      train: { fileName: 'squad.json', data: { task: 'question-answering', questions, version: 2 } },
      validation: null, fraction: 0.3, seed: 7, maxLength: 48, stride: 8,
    };
    // A clock that moves 30 ms per reading: every chunk is "slow", so progress is reported as it goes.
    let clock = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (clock += 30));
    const progress: TokenizeProgress[] = [];
    const built = (await buildTokenTaskDataset(qa, tokenizer, { progress: (p) => progress.push(p), superseded: () => false }))!;
    const split = splitValidation(questions, 0.3, 7);
    const windows = { maxLength: 48, stride: 8 };
    const [train, validation] = [qaExamples(split.train, tokenizer, windows), qaExamples(split.validation, tokenizer, windows)];
    expect(built.train).toEqual(train.examples);
    expect(built.validation).toEqual(validation.examples);
    expect(built.qa).toEqual({ questions: split.validation, windows: validation.windows, version: 2 });
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.every((p, i) => p.total === 11 && p.unit === 'questions' && p.done > (progress[i - 1]?.done ?? 0) && p.done <= 11)).toBe(true);

    const data = parseConll(conll(9), 'train.conll');
    const ner: TokenTaskBuild = { ...qa, train: { fileName: 'train.conll', data: { task: 'token-classification', data } }, maxLength: 16 };
    const nerSplit = splitValidation(data.sentences, 0.3, 7);
    const nerBuilt = (await buildTokenTaskDataset(ner, tokenizer, { progress: () => {}, superseded: () => false }))!;
    expect(nerBuilt.train).toEqual(nerExamples({ labelNames: data.labelNames, sentences: nerSplit.train }, tokenizer, 16));
    expect(nerBuilt.validation).toEqual(nerExamples({ labelNames: data.labelNames, sentences: nerSplit.validation }, tokenizer, 16));

    let asked = 0;
    expect(await buildTokenTaskDataset(qa, tokenizer, { progress: () => {}, superseded: () => asked++ > 1 })).toBeNull();
    expect(asked).toBe(3);
  });
});
