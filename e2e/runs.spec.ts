// Saved runs on the real engine (SwiftShader) with a dropped tiny BERT and a JSONL dataset: a run
// paused and continued after a reload repeats the uninterrupted run's losses; the merged model's
// zip, unpacked and dropped back in, predicts as the fine-tuned model did; no main-thread task
// over 100 ms while training; two finished runs (AVF on and off) compared with their ΔW spectra;
// a QA run keeps its stride and a run on a picked image folder its images, both continued after a
// reload; a run in the library's older layout (its own copies) moves to the shared files and continues.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test, type Download, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';
import { tinyBertDir } from './paths.ts';
import { squadCut } from './squad-cut.ts';

const MODEL_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt'];
const SENTENCE = 'lozi rumi vodo kavo';

/** The tiny BERT's model files alone (its folder also holds test fixtures) as a folder to pick. */
function modelFolder(): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'vectorfit-e2e-')), 'hf-tiny-bert');
  mkdirSync(dir);
  for (const f of MODEL_FILES) copyFileSync(path.join(tinyBertDir, f), path.join(dir, f));
  return dir;
}

async function bytesOf(download: Download): Promise<Uint8Array> {
  return new Uint8Array(readFileSync(await download.path()));
}

/** Watch for long tasks from the first script on (Chromium's Long Tasks API: over 50 ms). */
async function observeLongTasks(page: Page) {
  await page.addInitScript(() => {
    const tasks: { start: number; duration: number }[] = [];
    (window as unknown as { longTasks: typeof tasks }).longTasks = tasks;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) tasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  });
}

async function openWithTinyBert(page: Page, model: string) {
  await page.goto('/');
  // The demo loads itself first; the dropped files then replace it.
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await page.getByTestId('model-drop-folder').setInputFiles(model);
  await expect(page.getByTestId('model-info')).toContainText('hf-tiny-bert: bert, 2 layers, hidden 32');
  await page.getByTestId('train-drop-files').setInputFiles(path.join(tinyBertDir, 'data.jsonl'));
  await expect(page.getByTestId('train-info')).toContainText('12 rows');
  // The demo's validation file has other columns: hold out a tenth of the rows instead.
  await page.locator('input[name=validation-source]').nth(1).check();
  await expect(page.getByTestId('dataset-summary')).toContainText('11 training and 1 validation examples');
}

/** 11 training rows in batches of 4: 3 steps an epoch. */
async function settle(page: Page, settings: { epochs: number; variant?: string }) {
  if (settings.variant) await page.getByTestId('variant').selectOption(settings.variant);
  await page.getByTestId('batch').fill('4');
  await page.getByTestId('epochs').fill(String(settings.epochs));
  await page.getByTestId('lr').fill('0.01');
  await expect(page.getByTestId('param-counts')).toContainText(`${settings.epochs * 3} steps`);
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
}

async function waitState(page: Page, state: string, timeout = 300_000) {
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', state, { timeout });
}

async function exportZip(page: Page, kind: string): Promise<Record<string, Uint8Array>> {
  const download = page.waitForEvent('download', { timeout: 120_000 });
  await page.getByTestId(`export-${kind}`).click();
  const file = await download;
  expect(file.suggestedFilename()).toBe(`hf-tiny-bert-vectorfit-${kind}.zip`);
  return unzipSync(await bytesOf(file));
}

/** Per-step losses of the training log export. */
async function loggedLosses(page: Page): Promise<Map<number, number>> {
  const files = await exportZip(page, 'log');
  const log = files['hf-tiny-bert-vectorfit-log/training_log.jsonl'];
  expect(log, Object.keys(files).join(', ')).toBeDefined();
  const losses = new Map<number, number>();
  for (const line of new TextDecoder().decode(log).split('\n')) {
    if (!line.trim()) continue;
    const record = JSON.parse(line) as { type: string; step: number; loss: number };
    if (record.type === 'step') losses.set(record.step, record.loss);
  }
  return losses;
}

async function predictScores(page: Page, which: 'base' | 'tuned'): Promise<number[]> {
  await page.getByTestId('playground-text').fill(SENTENCE);
  await page.getByRole('button', { name: 'Predict' }).click();
  const cell = page.getByTestId('prediction').first().getByTestId(`prediction-${which}`);
  await expect(cell).toHaveAttribute('data-scores', /\d/, { timeout: 120_000 });
  return (await cell.getAttribute('data-scores'))!.split(',').map(Number);
}

test('a paused run on dropped files continues after a reload exactly as the uninterrupted run; its merged zip predicts the same', async ({ page }) => {
  test.setTimeout(30 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await observeLongTasks(page);
  const model = modelFolder();
  await openWithTinyBert(page, model);
  await settle(page, { epochs: 8 });

  // The uninterrupted run, watched for long tasks from its first step to its end (23 steps, with
  // a checkpoint, an evaluation and ΔW spectra every 3); the click that starts it re-renders the
  // whole page once, before the first step.
  const progress = page.getByTestId('progress');
  const stepNow = async () => Number(await progress.getAttribute('data-step'));
  await page.getByTestId('train').click();
  await expect.poll(stepNow, { timeout: 300_000, intervals: [20] }).toBeGreaterThanOrEqual(1);
  const from = await page.evaluate(() => performance.now());
  const fromStep = await stepNow();
  await waitState(page, 'finished');
  const to = await page.evaluate(() => performance.now());
  expect(24 - fromStep).toBeGreaterThanOrEqual(10);
  const longTasks = (await page.evaluate(() => (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks)).filter(
    (t) => t.start + t.duration >= from && t.start <= to,
  );
  console.log(`long tasks over steps ${fromStep} to 24 (${(to - from).toFixed(0)} ms): ${JSON.stringify(longTasks)}`);
  expect(longTasks.filter((t) => t.duration > 100)).toEqual([]);
  const uninterrupted = await loggedLosses(page);
  expect(uninterrupted.size).toBe(24);

  // The merged model as one zip: unpacked and dropped back in, its base predictions are the
  // fine-tuned ones (W = U·diag(Σ)·Vᵀ in f32, factored again on load: agreement to ~1e-6).
  const tuned = await predictScores(page, 'tuned');
  const merged = await exportZip(page, 'merged');
  const unpacked = mkdtempSync(path.join(tmpdir(), 'vectorfit-merged-'));
  for (const [name, bytes] of Object.entries(merged)) {
    mkdirSync(path.dirname(path.join(unpacked, name)), { recursive: true });
    writeFileSync(path.join(unpacked, name), bytes);
  }
  expect(Object.keys(merged).every((name) => name.startsWith('hf-tiny-bert-vectorfit-merged/'))).toBe(true);

  // The same settings again, paused early, then the tab reloaded. The run must be the same 24
  // steps to compare losses, so the pause races its end: poll closely, and a click that finds
  // the run already finished fails within a minute instead of waiting out the test.
  await page.getByTestId('train').click();
  await expect.poll(stepNow, { timeout: 300_000, intervals: [20] }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('pause').click({ timeout: 60_000 });
  await waitState(page, 'paused');
  const pausedRow = page.getByTestId('run-row').first();
  await expect(pausedRow).toHaveAttribute('data-state', 'paused');
  await expect(pausedRow).not.toHaveAttribute('data-checkpoint', '');
  const pausedAt = Number(await pausedRow.getAttribute('data-checkpoint'));
  expect(pausedAt).toBeGreaterThanOrEqual(2);
  expect(pausedAt).toBeLessThan(24);
  await page.screenshot({ path: 'test-results/runs-paused.png', fullPage: true });

  await page.reload();
  await expect(page.getByTestId('run-row')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('storage-quota')).toContainText('used of');
  const offer = page.getByTestId('continue-latest');
  await expect(offer).toContainText(`Continue hf-tiny-bert · data.jsonl from step ${pausedAt}`);
  await page.screenshot({ path: 'test-results/runs-reopened.png', fullPage: true });
  await offer.click();
  await waitState(page, 'paused');
  await expect(page.getByTestId('model-info')).toContainText('hf-tiny-bert: bert, 2 layers, hidden 32');
  await expect(page.getByTestId('progress')).toHaveAttribute('data-step', String(pausedAt));
  await expect(page.getByTestId('epochs')).toHaveValue('8');
  await page.getByTestId('resume').click();
  await waitState(page, 'finished');
  const continued = await loggedLosses(page);
  expect(continued.size).toBe(24);
  for (const [step, loss] of uninterrupted) expect(continued.get(step), `step ${step}`).toBe(loss);

  // The unpacked merged folder, dropped in as a model, predicts as the fine-tuned model did.
  await page.getByTestId('model-drop-folder').setInputFiles(path.join(unpacked, 'hf-tiny-bert-vectorfit-merged'));
  await expect(page.getByTestId('model-info')).toContainText('hf-tiny-bert-vectorfit-merged: bert, 2 layers, hidden 32');
  await waitState(page, 'ready');
  const reloaded = await predictScores(page, 'base');
  expect(reloaded).toHaveLength(tuned.length);
  reloaded.forEach((p, i) => expect(Math.abs(p - tuned[i]), `class ${i}: ${p} against ${tuned[i]}`).toBeLessThan(1e-5));
  await page.screenshot({ path: 'test-results/runs-merged-reloaded.png', fullPage: true });
  expect(errors).toEqual([]);
});

test('two finished runs, AVF on and off, side by side with their ΔW spectra', async ({ page }) => {
  test.setTimeout(30 * 60_000);
  await openWithTinyBert(page, modelFolder());
  await settle(page, { epochs: 2, variant: 'vectorfit' });
  await page.getByTestId('avf-start').fill('2');
  await page.getByTestId('avf-interval').fill('2');
  await page.getByTestId('train').click();
  await waitState(page, 'finished');
  await expect(page.getByTestId('delta-view').getByTestId('spectrum-row')).toHaveCount(12);

  await settle(page, { epochs: 2, variant: 'no-avf' });
  await page.getByTestId('warmup').fill('0.5');
  await page.getByTestId('train').click();
  await waitState(page, 'finished');
  await expect(page.getByTestId('run-row')).toHaveCount(2);
  await expect(page.getByTestId('run-row').nth(0)).toHaveAttribute('data-state', 'finished');
  await expect(page.getByTestId('run-row').nth(1)).toHaveAttribute('data-state', 'finished');
  // Both runs name the same model and data files, stored once: the library holds less than the
  // two runs' sizes together, more than either.
  const bytes = async (testId: string, nth = 0) => Number(await page.getByTestId(testId).nth(nth).getAttribute('data-bytes'));
  const [newer, older, library] = [await bytes('run-row', 0), await bytes('run-row', 1), await bytes('library-size')];
  expect(library).toBeGreaterThan(Math.max(newer, older));
  expect(library).toBeLessThan(newer + older);

  for (const box of await page.getByTestId('run-compare').all()) await box.check();
  const compare = page.getByTestId('compare');
  // The comparison's script (recharts) loads when two runs are ticked.
  await expect(compare.getByTestId('compare-row')).toHaveCount(2, { timeout: 60_000 });
  await expect(compare.getByTestId('compare-row').nth(0)).toContainText('no-avf');
  await expect(compare.getByTestId('compare-row').nth(1)).toContainText('vectorfit');
  // Beside the variant, the warm-up sets them apart.
  await expect(compare.getByTestId('compare-settings')).toHaveText(['warm-up 0.5', 'warm-up 0']);
  await expect(compare.getByTestId('compare-loss').locator('.recharts-line')).toHaveCount(2);
  await expect(compare.getByTestId('compare-heatmap-0')).toHaveAttribute('data-frozen', '0');
  await expect(compare.getByTestId('compare-heatmap-1')).toHaveAttribute('data-frozen', '5');
  for (const i of [0, 1]) {
    const spectra = compare.getByTestId(`compare-spectra-${i}`);
    await expect(spectra.getByTestId('spectrum-row')).toHaveCount(12);
    // Every module of both runs trained Σ: a non-trivial ΔW with an effective rank above 1.
    for (const rank of await spectra.getByTestId('effective-rank').allTextContents()) {
      const [r, n] = rank.split(' / ').map(Number);
      expect(r).toBeGreaterThan(1);
      expect(r).toBeLessThanOrEqual(n);
    }
  }
  await compare.scrollIntoViewIfNeeded();
  await page.screenshot({ path: 'test-results/runs-compare.png', fullPage: true });

  // Deleting a run frees its storage and takes it out of the list and the comparison.
  const usage = async () => (await page.getByTestId('storage-quota').textContent()) ?? '';
  const before = await usage();
  await page.getByTestId('run-row').nth(0).getByTestId('run-delete').click();
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await expect(page.getByTestId('run-row').first()).toContainText('vectorfit');
  await expect(page.getByTestId('compare')).toContainText('Tick two or more runs');
  await expect.poll(usage).not.toBe(before);
});

test('evaluation every step with early stopping on the validation loss, set in the studio, stops the run early', async ({ page }) => {
  test.setTimeout(15 * 60_000);
  await openWithTinyBert(page, modelFolder());
  await settle(page, { epochs: 8 });
  await page.getByTestId('lr').fill('0.3');
  await page.getByTestId('eval-every').fill('1');
  await page.getByTestId('watched-metric').selectOption('loss');
  await page.getByTestId('patience').fill('1');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  await page.getByTestId('train').click();
  await waitState(page, 'finished');
  await expect(page.getByTestId('early-stop')).toContainText(/^Stopped early at step \d+: no better loss since step \d+ \(\d+\.\d{4}\)\.$/);
  const stoppedAt = Number(await page.getByTestId('progress').getAttribute('data-step'));
  expect(stoppedAt).toBeLessThan(24);
  // Every step's loss and gradient norm is on the charts.
  await expect(page.getByTestId('loss-curve')).toHaveAttribute('data-points', String(stoppedAt));
  await expect(page.getByTestId('grad-norm-curve')).toHaveAttribute('data-points', String(stoppedAt));
  await expect(page.getByTestId('export-best')).toBeVisible();
  await page.screenshot({ path: 'test-results/runs-early-stop.png', fullPage: true });
});

test('a diverging run stops in the studio with the step named, and its exports are refused', async ({ page }) => {
  test.setTimeout(15 * 60_000);
  await openWithTinyBert(page, modelFolder());
  await settle(page, { epochs: 8 });
  await page.getByTestId('lr').fill('1e30');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  await page.getByTestId('train').click();
  await waitState(page, 'stopped');
  const errors = page.getByTestId('errors');
  await expect(errors).toContainText(/at step \d+: training diverged and stopped/);
  const step = Number(/at step (\d+)/.exec((await errors.textContent()) ?? '')![1]);
  // The run's record keeps the stop and the step the studio last showed.
  await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-state', 'stopped');
  const checkpoint = await page.getByTestId('run-row').first().getAttribute('data-checkpoint');
  if (checkpoint) expect(Number(checkpoint)).toBeLessThan(step);
  await page.screenshot({ path: 'test-results/runs-diverged.png', fullPage: true });
  // Exports of the diverged parameters are refused with a message, and nothing downloads.
  let downloads = 0;
  page.on('download', () => downloads++);
  await page.getByTestId('export-merged').click();
  await expect(errors).toContainText('export refused');
  expect(downloads).toBe(0);
});

test('a QA run keeps its stride and a run on a picked image folder its images: both continue after a reload', async ({ page }) => {
  test.setTimeout(20 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.setDefaultTimeout(120_000);
  const work = mkdtempSync(path.join(tmpdir(), 'vectorfit-e2e-runs-'));
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  const rowOf = (run: string) => page.locator(`[data-testid=run-row][data-run="${run}"]`);
  /** Train until a step is done, stop (a checkpoint is saved), and give the run's id and checkpoint step. */
  async function stopEarly(): Promise<{ run: string; at: string }> {
    await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 180_000 });
    await expect(page.getByTestId('train')).toBeEnabled({ timeout: 180_000 });
    await page.getByTestId('train').click();
    await expect.poll(async () => Number(await page.getByTestId('progress').getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThan(0);
    await page.getByTestId('stop').click();
    await waitState(page, 'stopped');
    const row = page.getByTestId('run-row').first();
    await expect(row).toHaveAttribute('data-state', 'stopped');
    await expect(row).not.toHaveAttribute('data-checkpoint', '');
    return { run: (await row.getAttribute('data-run'))!, at: (await row.getAttribute('data-checkpoint'))! };
  }

  // QA windows of 128 tokens overlapping by 32 (not the default 128, which would be capped at 64).
  await page.getByTestId('train-drop-files').setInputFiles(squadCut(work, 'train.json', 12, 'xquad-train-12.json'));
  await expect(page.getByTestId('qa-stride')).toHaveValue('128');
  await page.getByTestId('max-length').fill('128');
  await page.getByTestId('qa-stride').fill('32');
  const summary = page.getByTestId('dataset-summary');
  await expect(summary).toHaveText(/windows of up to 128 tokens \(stride 32\)/);
  const qaWindows = (await summary.textContent())!;
  await page.getByTestId('batch').fill('8');
  await page.getByTestId('epochs').fill('3');
  const qa = await stopEarly();
  await expect(rowOf(qa.run).getByTestId('run-settings')).toContainText('windows of 128, stride 32');

  // The ViT demo's model on a picked folder of six digits: two class folders, and a hidden file
  // the library leaves out.
  await page.getByTestId('load-demo-vit').click();
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-vit-digits: vit, 4 layers, hidden 64', { timeout: 120_000 });
  const zip = unzipSync(new Uint8Array(readFileSync(path.resolve(import.meta.dirname, '..', 'public', 'demo-vit', 'digits-5-9.zip'))));
  const folder = path.join(work, 'digits-picked');
  for (const cls of ['5', '6']) {
    mkdirSync(path.join(folder, cls), { recursive: true });
    for (const i of [0, 1, 2]) writeFileSync(path.join(folder, cls, `${i}.png`), zip[`digits-5-9/train/${cls}/${i}.png`]);
  }
  writeFileSync(path.join(folder, '.DS_Store'), 'finder');
  await page.getByTestId('train-drop-folder').setInputFiles(folder);
  const preview = page.getByTestId('dataset-preview');
  await expect(preview.getByTestId('image-check')).toContainText('All 6 images decode', { timeout: 60_000 });
  await expect(summary).toContainText('Image classification into 2 classes (5, 6)');
  const imagesSummary = (await summary.textContent())!;
  const counts = await preview.getByTestId('image-class-count').allTextContents();
  await page.getByTestId('batch').fill('2');
  await page.getByTestId('epochs').fill('20');
  const images = await stopEarly();
  await expect(rowOf(images.run)).toContainText('vectorfit-demo-vit-digits · digits-picked');
  await expect(rowOf(images.run)).toContainText('folder of 6 files');

  // After a reload both runs are in the library; each continues with its own data.
  await page.reload();
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await expect(page.getByTestId('run-row')).toHaveCount(2, { timeout: 60_000 });
  await expect(rowOf(qa.run).getByTestId('run-settings')).toContainText('windows of 128, stride 32');
  await page.getByTestId('runs').screenshot({ path: 'test-results/runs-library-qa-and-folder.png' });

  await rowOf(images.run).getByTestId('run-continue').click();
  await waitState(page, 'paused', 120_000);
  await expect(page.getByTestId('progress')).toHaveAttribute('data-step', images.at);
  await expect(preview.getByTestId('image-class-name')).toHaveText(['5', '6']);
  await expect(preview.getByTestId('image-class-count')).toHaveText(counts);
  await expect(preview.getByTestId('thumbnail')).toHaveCount(6);
  await expect.poll(() => preview.getByTestId('thumbnail').first().evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(28);
  await expect(preview.getByTestId('image-check')).toContainText('All 6 images decode', { timeout: 60_000 });
  await expect(summary).toHaveText(imagesSummary);
  await expect(rowOf(images.run)).toContainText('(open)');
  await page.screenshot({ path: 'test-results/runs-folder-continued.png', fullPage: true });
  await page.getByTestId('stop').click();
  await waitState(page, 'stopped');

  await rowOf(qa.run).getByTestId('run-continue').click();
  await waitState(page, 'paused', 120_000);
  await expect(page.getByTestId('progress')).toHaveAttribute('data-step', qa.at);
  await expect(page.getByTestId('qa-stride')).toHaveValue('32');
  await expect(page.getByTestId('max-length')).toHaveValue('128');
  await expect(summary).toHaveText(qaWindows);
  await page.getByTestId('resume').click();
  await waitState(page, 'finished');
  await expect(rowOf(qa.run)).toHaveAttribute('data-state', 'finished');
  await expect(page.getByTestId('errors')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a run saved before the shared files (vectorfit-run-1, a copy of each file in its folder) moves them on a reload and continues', async ({ page }) => {
  test.setTimeout(15 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await openWithTinyBert(page, modelFolder());
  // 300 steps: at ~30 steps/s a run of 24 can finish before the Pause click lands.
  await settle(page, { epochs: 100 });
  await page.getByTestId('train').click();
  await expect.poll(async () => Number(await page.getByTestId('progress').getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(2);
  await page.getByTestId('pause').click({ timeout: 60_000 });
  await waitState(page, 'paused');
  // The pause's checkpoint saved (an epoch's may be listed before it).
  const at = (await page.getByTestId('progress').getAttribute('data-step'))!;
  const row = page.getByTestId('run-row').first();
  await expect(row).toHaveAttribute('data-checkpoint', at);
  const run = (await row.getAttribute('data-run'))!;

  // The run rewritten as the library kept it before: its files and checkpoint in its folder, no blobs.
  const layout = async () =>
    page.evaluate(async (id) => {
      const root = await (await navigator.storage.getDirectory()).getDirectoryHandle('vectorfit-runs');
      const names = async (dir: FileSystemDirectoryHandle, prefix = ''): Promise<string[]> => {
        const out: string[] = [];
        for await (const h of (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) {
          if (h.kind === 'file') out.push(prefix + h.name);
          else out.push(...(await names(h as FileSystemDirectoryHandle, `${prefix}${h.name}/`)));
        }
        return out.sort();
      };
      const record = JSON.parse(await (await (await (await root.getDirectoryHandle(id)).getFileHandle('run.json')).getFile()).text()) as { format: string };
      return { format: record.format, folder: await names(await root.getDirectoryHandle(id)), blobs: (await names(await root.getDirectoryHandle('blobs'))).length };
    }, run);
  // Under the library's lock: no save of the studio's runs is under way meanwhile.
  await page.evaluate(
    async (id) =>
      navigator.locks.request('vectorfit-runs', async () => {
        const { opfsRunStorage } = (await import('/src/train/browser-store.ts' as string)) as typeof import('../src/train/browser-store.ts');
        const store = opfsRunStorage(await (await navigator.storage.getDirectory()).getDirectoryHandle('vectorfit-runs'));
        type Stored = { sha256: string; bytes: number };
        const { files, checkpoint, ...record } = JSON.parse(new TextDecoder().decode((await store.read(id, 'run.json'))!)) as { files: Record<string, Stored>; checkpoint: Stored };
        for (const [path, file] of Object.entries(files)) await store.write(id, path, (await store.readBlob(file.sha256))!);
        await store.write(id, 'checkpoint.safetensors', (await store.readBlob(checkpoint.sha256))!);
        for (const file of [...Object.values(files), checkpoint]) await store.removeBlob(file.sha256);
        await store.write(id, 'run.json', new TextEncoder().encode(JSON.stringify({ ...record, format: 'vectorfit-run-1' })));
      }),
    run,
  );
  const modelFiles = MODEL_FILES.map((f) => `model/${f}`);
  expect(await layout()).toEqual({ format: 'vectorfit-run-1', folder: ['checkpoint.safetensors', 'data/train/data.jsonl', ...modelFiles, 'run.json'].sort(), blobs: 0 });

  await page.reload();
  await expect(page.getByTestId('run-row')).toHaveCount(1, { timeout: 60_000 });
  // Moved: the folder keeps the record alone, the model files, data file and checkpoint are blobs.
  expect(await layout()).toEqual({ format: 'vectorfit-run-2', folder: ['run.json'], blobs: MODEL_FILES.length + 2 });
  await page.getByTestId('continue-latest').click();
  await waitState(page, 'paused');
  await expect(page.getByTestId('progress')).toHaveAttribute('data-step', at);
  await page.getByTestId('resume').click();
  await waitState(page, 'finished');
  await expect(page.getByTestId('errors')).toHaveCount(0);
  expect(errors).toEqual([]);
});
