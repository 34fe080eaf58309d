// Question answering and token classification in the studio, on the real engine (SwiftShader):
// the demo BERT (saved as BertForMaskedLM: its span head and token classifier are new) with small
// cuts of the real data in data/ (XQuAD-en in SQuAD format, WNUT 17 in CoNLL format) dropped as
// training and validation files; previewed, trained with EM/F1 or entity P/R/F1, asked in the
// playground, and exported as BertForQuestionAnswering / BertForTokenClassification folders.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { readSafetensors } from '../src/io/safetensors.ts';
import { squadCut as cutOf } from './squad-cut.ts';

const data = path.resolve(import.meta.dirname, '..', 'data');
const work = mkdtempSync(path.join(tmpdir(), 'vectorfit-e2e-tokens-'));

const squadCut = (file: string, n: number, name: string) => cutOf(work, file, n, name);

/** The first `n` sentences of a CoNLL file. */
function conllCut(file: string, n: number, name: string): string {
  const sentences = readFileSync(path.join(data, 'wnut17', file), 'utf8').split(/\n\s*\n/).filter((s) => s.trim());
  const out = path.join(work, name);
  writeFileSync(out, sentences.slice(0, n).join('\n\n') + '\n');
  return out;
}

/** XQuAD-en's training questions `times` over (their ids made unique), written as `name`. */
function squadTimes(times: number, name: string): string {
  const squad = JSON.parse(readFileSync(path.join(data, 'squad-xquad-en', 'train.json'), 'utf8')) as { data: { paragraphs: { qas: { id: string }[] }[] }[] };
  const articles = Array.from({ length: times }, (_, k) =>
    squad.data.map((a) => ({ ...a, paragraphs: a.paragraphs.map((p) => ({ ...p, qas: p.qas.map((q) => ({ ...q, id: `${q.id}-${k}` })) })) })),
  ).flat();
  const out = path.join(work, name);
  writeFileSync(out, JSON.stringify({ ...squad, data: articles }));
  return out;
}

async function mergedConfig(page: Page): Promise<{ config: { architectures: string[] }; keys: string[] }> {
  const download = page.waitForEvent('download', { timeout: 120_000 });
  await page.getByTestId('export-merged').click();
  const zip = unzipSync(new Uint8Array(readFileSync(await (await download).path())));
  const file = (name: string) => Object.entries(zip).find(([p]) => p.endsWith(`/${name}`) || p === name)![1];
  return {
    config: JSON.parse(new TextDecoder().decode(file('config.json'))) as { architectures: string[] },
    keys: [...readSafetensors(file('model.safetensors'), 'model.safetensors').tensors.keys()],
  };
}

async function train(page: Page) {
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'finished', { timeout: 600_000 });
  await expect.poll(async () => Number(await page.getByTestId('heatmap').getAttribute('data-step'))).toBeGreaterThan(0);
}

// An action on a disabled control fails instead of waiting out the test.
test.use({ actionTimeout: 60_000 });

test('a whole QA file is tokenized off the page thread: a status counts the questions while Train waits, then the dataset summary', async ({ page }) => {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  // The page's long tasks while the file is read and tokenized, printed (not asserted).
  await page.evaluate(() => {
    const w = window as unknown as { longTasks: number[] };
    w.longTasks = [];
    new PerformanceObserver((list) => w.longTasks.push(...list.getEntries().map((e) => Math.round(e.duration)))).observe({ type: 'longtask' });
  });
  // XQuAD-en's 925 training questions four times over (3,700): seconds of tokenizing.
  await page.getByTestId('train-drop-files').setInputFiles(squadTimes(4, 'xquad-train-x4.json'));
  const status = page.getByTestId('tokenizing');
  await expect(status).toHaveText(/^Tokenizing [1-9][\d,]* of 3,700 questions…/);
  await expect(page.getByTestId('train')).toBeDisabled();
  await expect(page.getByTestId('dataset-summary')).toHaveCount(0);
  await page.getByTestId('dataset-preview').screenshot({ path: 'test-results/token-tasks-tokenizing.png' });
  await expect(page.getByTestId('dataset-summary')).toHaveText(/^[\d,]+ training and [\d,]+ validation windows of up to 384 tokens \(stride 128\), 370 validation questions\.$/, { timeout: 120_000 });
  await expect(status).toHaveCount(0);
  await expect(page.getByTestId('train')).toBeEnabled({ timeout: 120_000 });
  // A new stride rebuilds in the background too (the playground stays), and the summary follows it.
  await page.getByTestId('qa-stride').fill('64');
  await expect(status).toBeVisible();
  await expect(page.getByTestId('playground')).toContainText('Playground: question answering');
  await expect(page.getByTestId('dataset-summary')).toHaveText(/windows of up to 384 tokens \(stride 64\), 370 validation questions\.$/, { timeout: 120_000 });
  console.log(`long tasks on the page (ms): ${await page.evaluate(() => (window as unknown as { longTasks: number[] }).longTasks.join(', '))}`);
  expect(errors).toEqual([]);
});

test('QA then NER on the demo BERT: preview, train with their metrics, playground, merged export', async ({ page }) => {
  test.setTimeout(20 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });

  // QA: 12 training and 6 validation questions of XQuAD-en.
  await page.getByTestId('train-drop-files').setInputFiles(squadCut('train.json', 12, 'xquad-train-12.json'));
  await expect(page.getByTestId('train-info')).toContainText('12 rows');
  await expect(page.getByTestId('qa-counts')).toHaveText(/Question answering \(SQuAD v1\.1 scoring\): 12 questions about \d+ contexts?, 0 unanswerable\./);
  await expect(page.getByTestId('qa-answer').first()).not.toBeEmpty();
  await page.getByTestId('validation-drop-files').setInputFiles(squadCut('dev.json', 6, 'xquad-dev-6.json'));
  // The windows follow the run's max length, which a QA file sets to 384 (stride 128).
  await expect(page.getByTestId('max-length')).toHaveValue('384');
  await expect(page.getByTestId('qa-stride')).toHaveValue('128');
  await expect(page.getByTestId('dataset-summary')).toHaveText(/^12 training and 6 validation windows of up to 384 tokens \(stride 128\), 6 validation questions\.$/);
  await page.getByTestId('max-length').fill('128');
  await expect(page.getByTestId('dataset-summary')).toHaveText(/^(1[3-9]|[2-9]\d) training and \d+ validation windows of up to 128 tokens \(stride 64: 128 capped at half the max length\), 6 validation questions\.$/);
  await page.getByTestId('batch').fill('8');
  await page.getByTestId('epochs').fill('1');
  await page.getByTestId('lr').fill('0.005');
  await expect(page.getByTestId('head-note')).toHaveText(
    'Head initialised: the checkpoint (BertForMaskedLM) has no qa_outputs.weight, qa_outputs.bias; they start as Hugging Face initialises a new head (normal weights, zero bias).',
    { timeout: 120_000 },
  );
  await train(page);
  await expect(page.getByTestId('metrics-latest')).toHaveText(/exact \d+\.\d{4} · f1 \d+\.\d{4} · loss \d+\.\d{4}/);
  await expect(page.getByTestId('run-metrics').first()).toContainText('exact');

  const context = 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.';
  await page.getByTestId('qa-context-input').fill(context);
  await page.getByTestId('qa-question-input').fill('Who gave their name to Normandy?');
  await page.getByTestId('ask').click();
  const result = page.getByTestId('qa-result').first();
  await expect(result).toHaveAttribute('data-done', 'true', { timeout: 120_000 });
  for (const side of ['base', 'tuned']) {
    await expect(result.getByTestId(`qa-${side}-score`)).toHaveText(/(“.+”|no answer), score -?\d+\.\d\d/);
    const answer = result.getByTestId(`qa-${side}-answer`);
    if ((await answer.count()) > 0) expect(context).toContain(await answer.textContent());
  }
  await page.getByTestId('playground').screenshot({ path: 'test-results/token-tasks-qa-playground.png' });
  await page.screenshot({ path: 'test-results/token-tasks-qa.png', fullPage: true });

  const qa = await mergedConfig(page);
  expect(qa.config.architectures).toEqual(['BertForQuestionAnswering']);
  expect(qa.keys).toContain('qa_outputs.weight');
  expect(qa.keys).toContain('qa_outputs.bias');
  expect(qa.keys.filter((k) => k.startsWith('classifier') || k.includes('pooler'))).toEqual([]);
  const vectorsDownload = page.waitForEvent('download', { timeout: 120_000 });
  await page.getByTestId('export-vectors').click();
  const vectors = unzipSync(new Uint8Array(readFileSync(await (await vectorsDownload).path())));
  const adapter = Object.entries(vectors).find(([p]) => p.endsWith('adapter_config.json'))![1];
  expect(JSON.parse(new TextDecoder().decode(adapter))).toMatchObject({ task: 'question-answering' });
  const vectorKeys = [...readSafetensors(Object.entries(vectors).find(([p]) => p.endsWith('vectorfit_vectors.safetensors'))![1], 'vectors').tensors.keys()];
  expect(vectorKeys).toContain('qa_outputs.weight');

  // A second QA run, stopped after its first steps, stays in the run library to be continued.
  await page.getByTestId('epochs').fill('3');
  await page.getByTestId('train').click();
  await expect.poll(async () => Number(await page.getByTestId('progress').getAttribute('data-step')), { timeout: 120_000 }).toBeGreaterThan(0);
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'stopped', { timeout: 120_000 });
  const pausedRow = page.getByTestId('run-row').first();
  await expect(pausedRow).toHaveAttribute('data-state', 'stopped');
  await expect(pausedRow).not.toHaveAttribute('data-checkpoint', '');
  const pausedAt = (await pausedRow.getAttribute('data-checkpoint'))!;
  const pausedRun = (await pausedRow.getAttribute('data-run'))!;

  // NER: 40 training and 8 validation sentences of WNUT 17 (the training cut has every tag the validation cut uses).
  await page.getByTestId('train-drop-files').setInputFiles(conllCut('train.conll', 40, 'wnut-train-40.conll'));
  await expect(page.getByTestId('ner-counts')).toHaveText(/^Token classification: 40 sentences, \d+ tags, \d+ entities\.$/);
  await expect(page.getByTestId('ner-labels')).toContainText('person');
  await expect(page.locator('[data-testid=ner-sentence] mark.entity').first()).toBeVisible();
  await page.getByTestId('validation-drop-files').setInputFiles(conllCut('dev.conll', 8, 'wnut-dev-8.conll'));
  await expect(page.getByTestId('dataset-summary')).toHaveText(/^40 training and 8 validation sentences of up to \d+ tokens/);
  await expect(page.getByTestId('qa-stride')).toHaveCount(0);
  await page.getByTestId('lr').fill('0.03');
  await expect(page.getByTestId('head-note')).toContainText('has no classifier.weight, classifier.bias', { timeout: 120_000 });
  await train(page);
  await expect(page.getByTestId('metrics-latest')).toHaveText(/precision \d+\.\d{4} · recall \d+\.\d{4} · f1 \d+\.\d{4} · accuracy \d+\.\d{4} · loss \d+\.\d{4}/);

  await page.getByTestId('ner-input').fill('Barack Obama visited Paris with Microsoft yesterday .');
  await page.getByTestId('tag').click();
  const tagged = page.getByTestId('ner-result').first();
  await expect(tagged).toHaveAttribute('data-done', 'true', { timeout: 120_000 });
  for (const side of ['base', 'tuned']) {
    const tags = (await tagged.getByTestId(`ner-${side}`).getAttribute('data-tags'))!.split(' ');
    expect(tags).toHaveLength(8);
    for (const tag of tags) expect(tag).toMatch(/^(O|[BI]-[a-z-]+)$/);
  }
  await page.getByTestId('playground').screenshot({ path: 'test-results/token-tasks-ner-playground.png' });
  await page.getByTestId('dataset-preview').screenshot({ path: 'test-results/token-tasks-ner-preview.png' });

  const ner = await mergedConfig(page);
  expect(ner.config.architectures).toEqual(['BertForTokenClassification']);
  expect(ner.keys).toContain('classifier.weight');
  expect(ner.keys.filter((k) => k.startsWith('qa_outputs') || k.includes('pooler'))).toEqual([]);

  // The stopped QA run continues from the run library: its file is recognised again, windowed at the
  // run's max length (128, not the 384 a QA file would take), and restored at its last step.
  await page.locator(`[data-testid=run-row][data-run="${pausedRun}"]`).getByTestId('run-continue').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });
  await expect(page.getByTestId('progress')).toHaveAttribute('data-step', pausedAt);
  await expect(page.getByTestId('epochs')).toHaveValue('3');
  await expect(page.getByTestId('max-length')).toHaveValue('128');
  await expect(page.getByTestId('qa-counts')).toContainText('12 questions');
  await expect(page.getByTestId('dataset-summary')).toContainText('validation windows of up to 128 tokens');
  await expect(page.getByTestId('playground')).toContainText('Playground: question answering');
  expect(errors).toEqual([]);
});
