// QA and NER files dropped into the studio's data store: recognised, tokenized at the run's max
// length (QA windows follow the setting and the stride), split by question or sentence, previewed
// with the counts the UI shows; an NER validation file reads its tags with the training file's names.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HF_TINY } from '../model/test-folders.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { useFiles, type DroppedFile } from './files.ts';
import { entitySpans, summariseTokenTask } from './token-task-dataset.ts';

const dropped = (path: string, content: string): DroppedFile => ({ path, file: new File([content], path.split('/').pop()!) });
const modelFolder = (name: string): DroppedFile[] =>
  readdirSync(join(HF_TINY, name))
    .filter((f) => !f.startsWith('ref-') && !f.endsWith('.jsonl') && !f.endsWith('.md'))
    .map((f) => ({ path: `${name}/${f}`, file: new File([readFileSync(join(HF_TINY, name, f))], f) }));

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
const conll = (n: number, tag = 'B-person') => Array.from({ length: n }, (_, i) => `Alice\t${tag}\nmet\tO\nBob${i}\tB-person\nin\tO\nParis\tB-location`).join('\n\n');

beforeEach(() => {
  useFiles.setState({ model: null, modelInfo: null, train: null, validation: null, folder: null, columns: {}, validationSource: 'fraction', validationFraction: 0.1, validationNote: null, dataset: null, qaStride: 128 });
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
    expect(s.dataset).toBeNull(); // no tokenizer yet
    expect(summariseTokenTask(s.train!.tokenTask!)).toEqual({ task: 'question-answering', questions: 11, unanswerable: 1, contexts: 1, version: 2 });
    await files.dropModel(modelFolder('bert'));
    s = useFiles.getState();
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
    s = useFiles.getState();
    expect(s.dataset!.train.length).toBeLessThan(windows64);
    expect(Math.max(...s.dataset!.train.map((e) => e.tokens!.inputIds.length))).toBeGreaterThan(64);
    useConfig.setState((c) => ({ config: { ...c.config, maxLength: 64 } }));
    files.setQaStride(8);
    expect(useFiles.getState().dataset!.train.length).toBeLessThan(windows64);
  });

  it('a CoNLL file with a CoNLL validation file: tags named as in training, sentences as examples', async () => {
    const files = useFiles.getState();
    await files.dropModel(modelFolder('bert'));
    await files.dropDataset('train', dropped('train.conll', conll(12)));
    await files.dropDataset('validation', dropped('dev.conll', conll(3, 'O')));
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
    expect(useFiles.getState().dataset).toBeNull();
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
});
