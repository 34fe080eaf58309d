// `vectorfit train` on question-answering (SQuAD JSON) and token-classification (CoNLL) files, as
// a user runs it on the tiny Hugging Face models: the data line, EM/F1 or entity P/R/F1 in the
// log and the summary, and merged exports that Hugging Face loads as …ForQuestionAnswering /
// …ForTokenClassification — checked by training from the merged folder with lr 0, whose first
// evaluation must give the run's own final figures.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../io/safetensors.ts';
import { collateTokenRows } from '../io/token-task-data.ts';
import { buildReferenceModel, referenceGradients } from '../model/reference.ts';
import { loadModel, textModel } from '../train/load.ts';
import { readModelDir } from './files.ts';
import { readTokenTaskDataset } from './token-task-files.ts';

const ROOT = join(import.meta.dirname, '../..');
const TINY = join(ROOT, '../shared/fixtures/hf-tiny');
const QA_FILE = join(import.meta.dirname, 'fixtures/tiny-qa.json');
const NER_FILE = join(import.meta.dirname, 'fixtures/tiny-ner.conll');

function vectorfit(...args: string[]) {
  return spawnSync(process.execPath, ['scripts/vectorfit.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
}

const summaryOf = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!) as { metrics: Record<string, number> };

describe.each([
  ['bert', QA_FILE, 'BertForQuestionAnswering', ['qa_outputs.weight', 'qa_outputs.bias'], ['exact', 'f1', 'loss']],
  ['distilbert', NER_FILE, 'DistilBertForTokenClassification', ['classifier.weight', 'classifier.bias'], ['precision', 'recall', 'f1', 'accuracy', 'loss']],
] as const)('vectorfit train on hf-tiny/%s with %s', (folder, data, hfClass, headKeys, metrics) => {
  it('reports the task’s metrics and writes a merged folder that loads as the trained model', () => {
    const out = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const run = vectorfit('train', '--model', join(TINY, folder), '--data', data, '--val-fraction', '0.25', '--epochs', '2', '--batch', '8', '--lr', '1e-2', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const first = run.stdout.split('\n')[0];
    if (hfClass.endsWith('QuestionAnswering')) {
      expect(first).toBe('tiny-qa.json: question answering (SQuAD v1.1 scoring), 27 training questions in 27 windows, 9 validation questions in 9 windows (max length 384, stride 128)');
    } else {
      expect(first).toBe('tiny-ner.conll: token classification, 5 tags (B-LOC, B-PER, I-LOC, I-PER, O), 30 training and 10 validation sentences (max length 128)');
    }
    expect(run.stderr).toMatch(new RegExp(`eval @ step \\d+: ${metrics.map((m) => `${m} [0-9.]+`).join(', ')}`));
    const { metrics: last } = summaryOf(run.stdout);
    expect(Object.keys(last)).toEqual(metrics);

    const config = JSON.parse(readFileSync(join(out, 'merged/config.json'), 'utf8'));
    expect(config.architectures).toEqual([hfClass]);
    const tensors = readSafetensors(readFileSync(join(out, 'merged/model.safetensors')), 'model.safetensors').tensors;
    for (const key of headKeys) expect(tensors.has(key), key).toBe(true);
    expect([...tensors.keys()].filter((k) => k.includes('pooler') || k.includes('pre_classifier'))).toEqual([]);
    const vectors = readSafetensors(readFileSync(join(out, 'vectors/vectorfit_vectors.safetensors')), 'vectors').tensors;
    for (const key of headKeys) expect(vectors.has(key), key).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'vectors/adapter_config.json'), 'utf8')).task).toBe(hfClass.endsWith('QuestionAnswering') ? 'question-answering' : 'token-classification');

    // The merged folder as a base model (its head read, not re-initialised), trained with lr 0:
    // its evaluation is the run's own final one.
    const again = vectorfit('train', '--model', join(out, 'merged'), '--data', data, '--val-fraction', '0.25', '--epochs', '1', '--batch', '8', '--lr', '0');
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).not.toMatch(/re-initialised/);
    const reloaded = summaryOf(again.stdout).metrics;
    for (const m of metrics) expect(reloaded[m], m).toBeCloseTo(last[m], m === 'loss' ? 4 : 10);
  });
});

describe('vectorfit train on QA and NER files', () => {
  it('names a validation file of the other task', () => {
    const run = vectorfit('train', '--model', join(TINY, 'bert'), '--data', QA_FILE, '--val', NER_FILE);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('tiny-ner.conll: not question-answering data like tiny-qa.json');
  });

  it('scores SQuAD v2.0 when some questions have no answer (the CLS score may abstain)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const squad = JSON.parse(readFileSync(QA_FILE, 'utf8'));
    // Every third question unanswerable, as SQuAD v2.0 marks them.
    let n = 0;
    for (const article of squad.data) for (const p of article.paragraphs) for (const qa of p.qas) if (n++ % 3 === 0) Object.assign(qa, { answers: [], is_impossible: true });
    const file = join(dir, 'v2.json');
    writeFileSync(file, JSON.stringify({ ...squad, version: 'v2.0' }));
    const run = vectorfit('train', '--model', join(TINY, 'bert'), '--data', file, '--val-fraction', '0.25', '--epochs', '1', '--batch', '8', '--lr', '1e-2');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^v2\.json: question answering \(SQuAD v2\.0 scoring\), 27 training questions/);
    const { metrics } = summaryOf(run.stdout);
    expect(Object.keys(metrics)).toEqual(['exact', 'f1', 'loss']);
  });

  it('names a SQuAD answer that is not in its context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const broken = readFileSync(QA_FILE, 'utf8').replace('"answer_start": 15', '"answer_start": 16');
    const file = join(dir, 'broken.json');
    writeFileSync(file, broken);
    const run = vectorfit('train', '--model', join(TINY, 'bert'), '--data', file);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/broken\.json: data\[0\]: paragraphs\[0\]: qas\[0\]: question q000: answer 0 is "vodo kavo" but the context holds/);
  });
});

describe('vectorfit grads on QA and NER files', () => {
  it.each([
    ['question-answering', QA_FILE, [8, 19, 2]],
    ['token-classification', NER_FILE, [8, 11, 5]],
  ] as const)('writes the %s loss, the head’s logits on every token and every gradient, as the float64 reference computes them', async (task, data, logitsShape) => {
    const out = join(mkdtempSync(join(tmpdir(), 'vectorfit-')), 'grads.safetensors');
    const run = vectorfit('grads', '--model', join(TINY, 'bert'), '--data', data, '--batch', '8', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const ours = readSafetensors(readFileSync(out), out).tensors;
    expect(ours.get('logits')!.shape).toEqual(logitsShape);
    // The same rows and head through the float64 reference (its own SVD): the fp32 SVD's error
    // bounds the gradients, as in cli.test.ts.
    const model = await readModelDir(join(TINY, 'bert'));
    const { dataset } = (await readTokenTaskDataset(model, data, { nerMaxLength: 128 }))!;
    const loaded = await loadModel(model, dataset, 0);
    const rows = dataset.train.slice(0, 8).map((e) => e.tokens!);
    const { batch, labels } = collateTokenRows(rows, textModel(loaded, 'test').tokenizer.padId, 1, task === 'token-classification');
    const ref = referenceGradients(buildReferenceModel(loaded.config, loaded.weights), batch, labels);
    expect(Math.abs(ours.get('loss')!.data[0] - ref.loss)).toBeLessThan(1e-5 * ref.loss);
    const norm = (x: ArrayLike<number>) => Math.sqrt(Array.from(x).reduce((a, v) => a + v * v, 0));
    const largest = Math.max(...[...ref.grads.values()].map(norm));
    expect(new Set([...ours.keys()].filter((k) => k !== 'loss' && k !== 'logits'))).toEqual(new Set(ref.grads.keys()));
    for (const [name, expected] of ref.grads) {
      const diff = Array.from(ours.get(name)!.data, (v, i) => v - expected[i]);
      expect(norm(diff) / Math.max(norm(expected), 1e-3 * largest), name).toBeLessThan(1e-3);
    }
  });
});
