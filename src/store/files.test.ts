// The data store as the studio drives it: a new training file of another layout sets the old
// validation file aside (with a note), a split folder picks its splits, and the settings keep the
// user's edits across datasets while a preset lasts only for its own training set.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { HF_TINY } from '../model/test-folders.ts';
import { useConfig } from './config.ts';
import { useErrors } from './errors.ts';
import { isCausalLm, useFiles } from './files.ts';
import { dropped, modelFolder } from './test-drops.ts';

const sst2 = (n: number) => ['sentence\tlabel', ...Array.from({ length: n }, (_, i) => `review number ${i} here\t${i % 2}`)].join('\n');
const cola = (n: number) => Array.from({ length: n }, (_, i) => `gj04\t${i % 2}\t${i % 2 ? '' : '*'}\tSentence number ${i} is here.`).join('\n');


beforeEach(() => {
  useFiles.setState({ model: null, modelInfo: null, train: null, validation: null, folder: null, columns: {}, validationSource: 'fraction', validationNote: null, dataset: null });
  useErrors.setState({ errors: [] });
  useConfig.setState({ preset: {}, edited: {}, avfEdited: false, trainExamples: 0 });
});

describe('files store', () => {
  it('a new training file of another layout sets the validation file aside until a matching one comes', async () => {
    const files = useFiles.getState();
    await files.dropDataset('train', dropped('sst2.tsv', sst2(20)));
    await files.dropDataset('validation', dropped('dev.tsv', sst2(4)));
    expect(useFiles.getState().dataset?.validation).toHaveLength(4);
    await files.dropDataset('train', dropped('cola.tsv', cola(30)));
    let s = useFiles.getState();
    expect(s.validation).toBeNull();
    expect(s.validationNote).toBe('dev.tsv was set aside: its columns (sentence, label) are not those of cola.tsv; 10% of the training rows are held out until a matching validation file is dropped.');
    expect([s.dataset?.train.length, s.dataset?.validation.length]).toEqual([27, 3]);
    expect(useErrors.getState().errors).toEqual([]);
    await files.dropDataset('validation', dropped('cola-dev.tsv', cola(5)));
    s = useFiles.getState();
    expect([s.validationNote, s.dataset?.train.length, s.dataset?.validation.length]).toEqual([null, 30, 5]);
    // The same layout again keeps the validation file.
    await files.dropDataset('train', dropped('cola2.tsv', cola(10)));
    expect(useFiles.getState().validation?.fileName).toBe('cola-dev.tsv');
  });

  it('a dropped folder of split files: train and validation picked, changeable; the mapping and left-out columns said', async () => {
    const rows = (n: number) => ['id,claim,evidence,note,label', ...Array.from({ length: n }, (_, i) => `${i},Claim number ${i} says this.,Evidence number ${i} shows that.,free text left out ${i},${i % 2}`)].join('\n');
    await useFiles.getState().dropDataset('train', [dropped('facts/train.csv', rows(6)), dropped('facts/dev.csv', rows(2)), dropped('facts/test.csv', rows(3)), dropped('facts/README.md', '# facts')]);
    let s = useFiles.getState();
    expect([s.folder?.train, s.folder?.validation, s.train?.fileName, s.validation?.fileName]).toEqual(['train', 'dev', 'facts/train.csv', 'facts/dev.csv']);
    expect(s.mapping).toBe('text=claim, pair=evidence, label=label (2 classes: 0, 1)');
    expect(s.columnWarning).toBe('free-text column "note" is not used: choose it as text or text pair if the model should read it');
    await useFiles.getState().pickSplit('validation', 'test');
    s = useFiles.getState();
    expect([s.validation?.fileName, s.dataset?.validation.length]).toEqual(['facts/test.csv', 3]);
    await useFiles.getState().pickSplit('validation', undefined);
    expect(useFiles.getState().dataset?.validation).toHaveLength(1);
    // A folder holding one data file without a split name trains on that file.
    await useFiles.getState().dropDataset('train', [dropped('mine/reviews.tsv', sst2(10)), dropped('mine/notes.md', 'notes')]);
    s = useFiles.getState();
    expect([s.folder, s.train?.fileName, s.dataset?.train.length]).toEqual([null, 'mine/reviews.tsv', 9]);
  });
});

describe('causal LM or not: from the model, never from the data', () => {
  it('a decoder model is a causal LM before any data is dropped, and a classifier model never is', async () => {
    expect(isCausalLm(useFiles.getState())).toBe(false);
    await useFiles.getState().dropModel(modelFolder('llama'));
    let s = useFiles.getState();
    expect(useErrors.getState().errors).toEqual([]);
    expect([s.modelInfo?.modelType, s.modelInfo?.task, s.dataset, isCausalLm(s)]).toEqual(['llama', 'causal-lm', null, true]);
    // Its data is read as causal-LM text.
    await useFiles.getState().dropDataset('train', dropped('data.jsonl', readFileSync(join(HF_TINY, 'llama/data.jsonl'), 'utf8')));
    s = useFiles.getState();
    expect([s.dataset?.task, isCausalLm(s)]).toEqual(['causal-lm', true]);
    // A classifier model: labelled data makes a classification set, and the model is no LM.
    await useFiles.getState().dropModel(modelFolder('bert'));
    await useFiles.getState().dropDataset('train', dropped('sst2.tsv', sst2(20)));
    s = useFiles.getState();
    expect([s.modelInfo?.modelType, s.modelInfo?.task, s.dataset?.task, isCausalLm(s)]).toEqual(['bert', 'classes', 'classification', false]);
  });
});

describe('config store', () => {
  it('recomputes from the dataset size, keeps the preset for its own set and the user edits across sets', () => {
    const config = useConfig.getState();
    config.resetFor(1024, { lr: 1e-2, epochs: 2 });
    expect([useConfig.getState().config.lr, useConfig.getState().config.epochs]).toEqual([1e-2, 2]);
    config.clearPreset();
    config.resetFor(939);
    let c = useConfig.getState().config;
    expect([c.lr, c.epochs, c.avf.start, c.avf.interval, c.avf.count]).toEqual([1e-3, 10, 100, 30, 6]);
    useConfig.getState().set('epochs', 4);
    useConfig.getState().resetFor(1043);
    c = useConfig.getState().config;
    expect([c.lr, c.epochs, c.avf.start]).toEqual([1e-3, 4, 44]);
    useConfig.getState().setAvf('k', 3);
    useConfig.getState().resetFor(5000);
    expect(useConfig.getState().config.avf).toMatchObject({ start: 44, k: 3 });
  });
});
