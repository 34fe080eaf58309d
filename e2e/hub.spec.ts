// A model and a dataset "from the Hub" through the local stand-in (e2e/hub-stand-in.ts): nothing
// is requested before an id is typed, only model files are downloaded, a gated repository asks for
// a token, the files are cached, names stay text, and the page's CSP refuses any other host; QA and
// NER datasets in the Hub's Parquet (squad's and wnut_17's nested columns) are read as such and train.
import { expect, test, type Page } from '@playwright/test';
import { STAND_IN_DATASET, STAND_IN_GATED_MODEL, STAND_IN_MODEL, STAND_IN_NER_DATASET, STAND_IN_QA_DATASET, STAND_IN_TOKEN } from './hub-stand-in.ts';

const HUB = `http://127.0.0.1:${process.env.E2E_HUB_PORT ?? 4874}`;

function hubRequests(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => {
    if (request.url().startsWith(HUB)) urls.push(request.url().slice(HUB.length));
  });
  return urls;
}

test('a model and a dataset from the Hub stand-in load into the studio; a gated model takes a token', async ({ page }) => {
  test.setTimeout(10 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('dialog', (dialog) => errors.push(`dialog: ${dialog.message()}`));
  const requests = hubRequests(page);
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await page.getByTestId('hub').locator('summary').click();
  // The demo loaded and the panel is open: still not one request to the Hub.
  expect(requests).toEqual([]);

  await page.getByTestId('hub-model-id').fill(STAND_IN_MODEL);
  expect(requests).toEqual([]);
  await page.getByTestId('hub-list-model').click();
  const files = page.getByTestId('hub-model-files');
  await expect(files).toContainText('model.safetensors');
  await expect(files).toContainText('pytorch_model.bin');
  await expect(files).toContainText('(not needed)');
  // A file name that is markup shows as text: no element was made, no script ran (no dialog).
  await expect(files).toContainText('<img src=x onerror=alert(1)>.md');
  await expect(files.locator('img')).toHaveCount(0);
  await expect(page.getByTestId('hub-download-model')).toContainText('Download 5 files');
  await page.getByTestId('hub-download-model').click();
  await expect(page.getByTestId('model-info')).toContainText('tiny-bert: bert, 2 layers, hidden 32', { timeout: 60_000 });
  expect(requests.some((url) => url.includes('pytorch_model.bin') || url.includes('README.md'))).toBe(false);
  expect(requests.filter((url) => url.startsWith('/cdn-lfs/')).length).toBeGreaterThan(0);

  await page.getByTestId('hub-dataset-id').fill(STAND_IN_DATASET);
  await page.getByTestId('hub-list-dataset').click();
  await expect(page.getByTestId('hub-train-split')).toHaveValue('default/train');
  await expect(page.getByTestId('hub-validation-split')).toHaveValue('default/validation');
  await page.getByTestId('hub-download-dataset').click();
  await expect(page.getByTestId('train-info')).toContainText('12 rows', { timeout: 60_000 });
  await expect(page.getByTestId('validation-info')).toContainText('4 rows');
  await expect(page.getByTestId('dataset-summary')).toContainText('12 training and 4 validation examples');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  // The model came before its data: the superseded load (3 labels beside SST-2's 2) left no message.
  await expect(page.getByTestId('errors')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/hub-loaded.png', fullPage: true });

  // A second download of the same files comes from the browser's cache: no new file requests.
  const before = requests.length;
  await page.getByTestId('hub-download-model').click();
  await expect(page.getByTestId('hub-download-model')).toBeEnabled();
  expect(requests.slice(before).filter((url) => url.includes('/resolve/') || url.startsWith('/cdn-lfs/'))).toEqual([]);

  // A gated repository: refused without a token, listed with one.
  await page.getByTestId('hub-model-id').fill(STAND_IN_GATED_MODEL);
  await page.getByTestId('hub-list-model').click();
  await expect(page.getByTestId('errors')).toContainText(`${STAND_IN_GATED_MODEL}: this repository is gated or private (HTTP 401)`);
  await page.getByTestId('hub-token').fill(STAND_IN_TOKEN);
  await page.getByTestId('hub-list-model').click();
  await expect(page.getByTestId('hub-model-files')).toContainText('model.safetensors');
  await expect(page.getByTestId('errors')).toHaveCount(0);

  // The CSP: a connection to any other host is refused by the page itself.
  const blocked = await page.evaluate(async () => {
    try {
      await fetch('http://127.0.0.1:9/elsewhere');
      return 'fetched';
    } catch {
      return 'refused';
    }
  });
  expect(blocked).toBe('refused');
  const policy = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  expect(policy).toContain(`connect-src 'self' ${HUB} https://huggingface.co https://*.huggingface.co https://*.hf.co;`);
  expect(errors).toEqual([]);
});

test("QA and NER datasets in the Hub's Parquet load from the stand-in, are previewed as such, and an NER run trains", async ({ page }) => {
  test.setTimeout(15 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await page.getByTestId('hub').locator('summary').click();
  async function download(id: string, config: string) {
    await page.getByTestId('hub-dataset-id').fill(id);
    await page.getByTestId('hub-list-dataset').click();
    await expect(page.getByTestId('hub-train-split')).toHaveValue(`${config}/train`);
    await expect(page.getByTestId('hub-validation-split')).toHaveValue(`${config}/validation`);
    await page.getByTestId('hub-download-dataset').click();
  }

  // squad's columns: the answers a struct of lists. The first 12 and 6 questions of XQuAD-en.
  await download(STAND_IN_QA_DATASET, 'plain_text');
  await expect(page.getByTestId('qa-counts')).toHaveText(/^Question answering \(SQuAD v1\.1 scoring\): 12 questions about \d+ contexts?, 0 unanswerable\.$/, { timeout: 60_000 });
  await expect(page.getByTestId('qa-answer').first()).not.toBeEmpty();
  await expect(page.getByTestId('dataset-summary')).toHaveText(/^12 training and 6 validation windows of up to 384 tokens \(stride 128\), 6 validation questions\.$/);
  await expect(page.getByTestId('head-note')).toContainText('has no qa_outputs.weight, qa_outputs.bias', { timeout: 120_000 });
  await page.getByTestId('dataset-preview').screenshot({ path: 'test-results/hub-qa-preview.png' });

  // wnut_17's columns: tokens and ClassLabel tags as lists, the tag names in the file's metadata.
  await download(STAND_IN_NER_DATASET, 'wnut_17');
  await expect(page.getByTestId('ner-counts')).toHaveText(/^Token classification: 40 sentences, \d+ tags, \d+ entities\.$/, { timeout: 60_000 });
  await expect(page.getByTestId('ner-labels')).toContainText('person');
  await expect(page.locator('[data-testid=ner-sentence] mark.entity').first()).toBeVisible();
  await expect(page.getByTestId('dataset-summary')).toHaveText(/^40 training and 8 validation sentences of up to \d+ tokens/);
  await expect(page.getByTestId('qa-stride')).toHaveCount(0);
  await page.getByTestId('epochs').fill('1');
  await page.getByTestId('lr').fill('0.03');
  await expect(page.getByTestId('head-note')).toContainText('has no classifier.weight, classifier.bias', { timeout: 120_000 });
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'finished', { timeout: 600_000 });
  await expect(page.getByTestId('metrics-latest')).toHaveText(/precision \d+\.\d{4} · recall \d+\.\d{4} · f1 \d+\.\d{4} · accuracy \d+\.\d{4} · loss \d+\.\d{4}/);
  // The run is kept: the downloaded split files are single files.
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await expect(page.getByTestId('run-row').first()).toHaveAttribute('data-state', 'finished');
  await expect(page.getByTestId('errors')).toHaveCount(0);
  expect(errors).toEqual([]);
});
