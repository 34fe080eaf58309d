// The studio's pages without a training run: the embedded demo, dropping real files, the messages
// for bad files, and (with a scripted stand-in engine) the live view fed by EngineEvents.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { zipSync } from 'fflate';
import { useFakeEngine } from './fake-engine.ts';
import { colaDev, demoModelDir, sst2Dev } from './paths.ts';

/** Every request the page makes, to check that nothing leaves localhost. */
function recordRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => urls.push(request.url()));
  return urls;
}

async function selectedText(page: Page, testId: string): Promise<string> {
  return page.getByTestId(testId).evaluate((el: HTMLSelectElement) => el.selectedOptions[0]?.textContent ?? '');
}

/** Drop files on a zone the way a browser does: a drop event carrying a DataTransfer. */
async function dropFiles(page: Page, testId: string, files: { name: string; bytes: Buffer }[]) {
  const payload = files.map((f) => ({ name: f.name, data: [...f.bytes] }));
  await page.getByTestId(testId).evaluate((zone, items) => {
    const transfer = new DataTransfer();
    for (const item of items) transfer.items.add(new File([new Uint8Array(item.data)], item.name));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, payload);
}

test('the demo opens ready to train: model summary, preview, guessed columns, paper settings', async ({ page, baseURL }) => {
  const requests = recordRequests(page);
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('bert, 2 layers, hidden 128', { timeout: 60_000 });
  await expect(page.getByTestId('train-info')).toContainText('sst2-train-1024.tsv');
  await expect(page.getByTestId('train-info')).toContainText('1,024 rows');
  await expect(page.getByTestId('validation-info')).toContainText('256 rows');
  await expect(page.getByTestId('dataset-preview').locator('tbody tr')).toHaveCount(8);
  expect(await selectedText(page, 'column-text')).toBe('sentence');
  expect(await selectedText(page, 'column-label')).toBe('label');
  expect(await selectedText(page, 'column-textPair')).toBe('(none)');
  await expect(page.getByTestId('dataset-summary')).toContainText('1,024 training and 256 validation examples');
  // The manifest's demo settings: 32 steps per epoch, AVF from step 6 every 6 steps.
  await expect(page.getByTestId('lr')).toHaveValue('0.01');
  await expect(page.getByTestId('batch')).toHaveValue('32');
  await expect(page.getByTestId('epochs')).toHaveValue('2');
  await expect(page.getByTestId('avf-start')).toHaveValue('6');
  await expect(page.getByTestId('avf-interval')).toHaveValue('6');
  await expect(page.getByTestId('param-counts')).toContainText('64 steps');
  await page.screenshot({ path: 'test-results/studio-demo.png', fullPage: true });
  const origin = new URL(baseURL!).origin;
  const foreign = requests.filter((url) => !url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:'));
  expect(foreign).toEqual([]);
});

test('a model folder picked from disk and GLUE files dropped show their config, rows and columns', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('model-drop-folder').setInputFiles(demoModelDir);
  await expect(page.getByTestId('model-info')).toContainText(`${path.basename(demoModelDir)}: bert, 2 layers, hidden 128`);
  // The same folder as a .zip with the folder inside it, as an OS "compress" makes it.
  const zipped = zipSync(
    Object.fromEntries(
      readdirSync(demoModelDir).map((name) => [`tiny-bert/${name}`, new Uint8Array(readFileSync(path.join(demoModelDir, name)))]),
    ),
  );
  await page.getByTestId('model-drop-files').setInputFiles({ name: 'tiny-bert.zip', mimeType: 'application/zip', buffer: Buffer.from(zipped) });
  await expect(page.getByTestId('model-info')).toContainText('tiny-bert: bert, 2 layers, hidden 128');
  await dropFiles(page, 'validation-drop', [{ name: 'dev.tsv', bytes: readFileSync(sst2Dev) }]);
  await expect(page.getByTestId('validation-info')).toContainText('dev.tsv');
  await expect(page.getByTestId('dataset-summary')).toContainText('validation examples');
  // CoLA has no header: the label is column 1 and the sentence column 3.
  await page.getByTestId('train-drop-files').setInputFiles(colaDev);
  await expect(page.getByTestId('train-info')).toContainText('dev.tsv');
  await expect(page.getByTestId('dataset-preview').locator('tbody tr')).toHaveCount(8);
  await expect(page.getByTestId('dataset-preview')).toContainText('The sailors rode the breeze clear of the rocks.');
  await expect(page.getByTestId('column-label')).toHaveValue('col1');
  await expect(page.getByTestId('column-text')).toHaveValue('col3');
  await page.screenshot({ path: 'test-results/studio-dropped.png', fullPage: true });
});

test('each bad file gets a message naming it, and the studio keeps working', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toBeVisible({ timeout: 60_000 });
  const config = readFileSync(path.join(demoModelDir, 'config.json'));
  const shard = readFileSync(path.join(demoModelDir, 'model-00001-of-00002.safetensors'));

  await page.getByTestId('model-drop-files').setInputFiles([
    { name: 'config.json', mimeType: 'application/json', buffer: config },
    { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: shard.subarray(0, 200) },
  ]);
  await expect(page.getByTestId('errors')).toContainText('model.safetensors');

  await page.getByTestId('model-drop-files').setInputFiles([
    { name: 'config.json', mimeType: 'application/json', buffer: config },
    { name: 'pytorch_model.bin', mimeType: 'application/octet-stream', buffer: Buffer.from('PK\x03\x04 not really') },
  ]);
  await expect(page.getByTestId('errors')).toContainText('pytorch_model.bin');

  await page.getByTestId('model-drop-files').setInputFiles({ name: 'broken.zip', mimeType: 'application/zip', buffer: Buffer.from('PK\x03\x04 cut short') });
  await expect(page.getByTestId('errors')).toContainText('broken.zip');

  await dropFiles(page, 'train-drop', [{ name: 'no-label.csv', bytes: Buffer.from('text\nhello world\ngood morning\n') }]);
  await expect(page.getByTestId('errors')).toContainText('no-label.csv');
  // A training file that makes no dataset leaves the settings as they were (the demo's).
  await expect(page.getByTestId('lr')).toHaveValue('0.01');

  await dropFiles(page, 'validation-drop', [{ name: 'empty.tsv', bytes: Buffer.alloc(0) }]);
  await expect(page.getByTestId('errors')).toContainText('empty.tsv');

  await dropFiles(page, 'validation-drop', [{ name: 'junk.parquet', bytes: Buffer.from('not a parquet file at all') }]);
  await expect(page.getByTestId('errors')).toContainText('junk.parquet');

  // The last good model is still there and the page still responds.
  await expect(page.getByTestId('model-info')).toContainText('bert, 2 layers');
  await page.screenshot({ path: 'test-results/studio-errors.png', fullPage: true });
  await page.getByTestId('errors').getByRole('button', { name: 'Dismiss' }).first().click();
  await expect(page.getByTestId('setup')).toBeVisible();
});

test('the live view follows the engine: counts, heatmap, AVF timeline, charts, controls, exports, playground', async ({ page, context }) => {
  await useFakeEngine(context);
  await page.goto('/');
  await expect(page.getByTestId('param-counts')).toContainText('5,000 of 4,400,000', { timeout: 60_000 });
  await expect(page.getByTestId('param-counts')).toContainText('0.114%');
  await expect(page.getByTestId('gpu-memory')).toHaveText('35.4 MiB');
  const heatmap = page.getByTestId('heatmap');
  await expect(heatmap).toHaveAttribute('data-step', '-1');

  await page.getByTestId('train').click();
  await expect(page.getByTestId('avf-event').first()).toContainText('step 6', { timeout: 30_000 });
  // The first step's kernel timing gave way to the steps.
  await expect(page.getByTestId('progress')).toContainText(/^training step \d+ \/ 64/);
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'paused');
  const pausedAt = Number(await heatmap.getAttribute('data-step'));
  expect(pausedAt).toBeGreaterThanOrEqual(6);
  await expect(heatmap).toHaveAttribute('data-frozen', '2');
  await heatmap.hover({ position: { x: 60, y: 30 } });
  await expect(page.getByTestId('heatmap-tooltip')).toContainText('layer 0 · Σq · S =');
  await page.screenshot({ path: 'test-results/studio-paused.png', fullPage: true });

  const download = page.waitForEvent('download');
  await page.getByTestId('export-log').click();
  expect((await download).suggestedFilename()).toBe('vectorfit-demo-bert-tiny-vectorfit-log.zip');

  await page.getByTestId('playground-text').fill('a gripping, beautifully acted film');
  await page.getByRole('button', { name: 'Predict' }).click();
  await expect(page.getByTestId('prediction').first()).toContainText('1 (90.0%)');

  await page.getByTestId('resume').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'finished', { timeout: 30_000 });
  await expect(page.getByTestId('avf-event')).toHaveCount(4);
  await expect(page.getByTestId('progress')).toContainText('step 64 / 64');
  await expect(page.getByTestId('metrics-latest')).toContainText('accuracy');
  await expect(page.getByTestId('loss-curve')).toHaveAttribute('data-points', '64');
  await expect(page.getByTestId('grad-norm-curve')).toHaveAttribute('data-points', '64');
  await page.screenshot({ path: 'test-results/studio-finished.png', fullPage: true });
});
