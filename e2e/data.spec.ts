// Data read as the user meant it: a GLUE pair file's two texts, a new training set's own settings
// (no stale validation file), a free-text column left out said aloud, a split folder's splits, and
// a checkpoint whose head has another number of labels re-initialised and announced, and a
// damaged model zip refused by its CRC.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { zipSync } from 'fflate';
import { colaDev } from './paths.ts';

const hfTinyBert = path.resolve(import.meta.dirname, '..', '..', 'shared', 'fixtures', 'hf-tiny', 'bert');

/** Drop files on a zone the way a browser does: a drop event carrying a DataTransfer. */
async function dropFiles(page: Page, testId: string, files: { name: string; bytes: Buffer }[]) {
  const payload = files.map((f) => ({ name: f.name, data: [...f.bytes] }));
  await page.getByTestId(testId).evaluate((zone, items) => {
    const transfer = new DataTransfer();
    for (const item of items) transfer.items.add(new File([new Uint8Array(item.data)], item.name));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, payload);
}

/** GLUE MRPC's train.tsv as distributed: a byte-order mark, Quality, #1/#2 ID and #1/#2 String. */
const MRPC = Buffer.from(
  '\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n' +
    '1\t702876\t702977\tAmrozi accused his brother , whom he called " the witness " , of deliberately distorting his evidence .\tReferring to him as only " the witness " , Amrozi accused his brother of deliberately distorting his evidence .\n' +
    "0\t2108705\t2108831\tYucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion .\tYucaipa bought Dominick 's in 1995 for $ 693 million and sold it to Safeway for $ 1.8 billion in 1998 .\n" +
    "1\t1330381\t1330521\tThey had published an advertisement on the Internet on June 10 , offering the cargo for sale , he added .\tOn June 10 , the ship 's owners had published an advertisement on the Internet , offering the explosives for sale .\n" +
    '0\t3344667\t3344648\tAround 0335 GMT , Tab shares were up 19 cents , or 4.4 % , at A $ 4.56 , having earlier set a record high of A $ 4.57 .\tTab shares jumped 20 cents , or 4.6 % , to set a record closing high at A $ 4.57 .\n',
);

async function openDemo(page: Page) {
  await page.goto('/');
  await expect(page.getByTestId('train-info')).toContainText('sst2-train-1024.tsv', { timeout: 60_000 });
  await expect(page.getByTestId('validation-info')).toContainText('256 rows');
  await expect(page.getByTestId('lr')).toHaveValue('0.01');
}

test('a GLUE MRPC file: both text columns chosen, the pair in the preview, the demo validation file set aside', async ({ page }) => {
  await openDemo(page);
  await dropFiles(page, 'train-drop', [{ name: 'train.tsv', bytes: MRPC }]);
  await expect(page.getByTestId('train-info')).toContainText('train.tsv: 4 rows');
  await expect(page.getByTestId('column-text')).toHaveValue('#1 String');
  await expect(page.getByTestId('column-textPair')).toHaveValue('#2 String');
  await expect(page.getByTestId('column-label')).toHaveValue('Quality');
  await expect(page.getByTestId('column-mapping')).toHaveText('Reading text=#1 String, pair=#2 String, label=Quality (2 classes: 0, 1)');
  const preview = page.getByTestId('dataset-preview');
  await expect(preview.locator('th', { hasText: '#2 String' })).toContainText('Text pair');
  await expect(preview.locator('th', { hasText: '#1 String' })).toContainText('Text');
  await expect(preview).toContainText("Yucaipa bought Dominick 's in 1995 for $ 693 million");
  // Text, pair and label come first, so both sentences are in view.
  await expect(preview.locator('th')).toHaveText([/^#1 String/, /^#2 String/, /^Quality/, '#1 ID', '#2 ID']);
  await expect(preview.locator('th', { hasText: '#2 String' })).toBeInViewport();
  await expect(page.getByTestId('column-warning')).toHaveCount(0);
  // The demo's SST-2 validation file has another layout: set aside, with a note, not kept stale.
  await expect(page.getByTestId('validation-info')).toHaveCount(0);
  await expect(page.getByTestId('validation-note')).toContainText('sst2-dev-256.tsv was set aside');
  await expect(page.getByTestId('dataset-summary')).toContainText('Classification into 2 classes (0, 1): 3 training and 1 validation examples.');
  await page.screenshot({ path: 'test-results/data-mrpc.png', fullPage: true });
});

test('a new training set over the demo gets the paper defaults for its size, keeps what the user edited, and follows a matching validation file', async ({ page }) => {
  await openDemo(page);
  await dropFiles(page, 'train-drop', [{ name: 'dev.tsv', bytes: readFileSync(colaDev) }]);
  await expect(page.getByTestId('train-info')).toContainText('dev.tsv: 1,043 rows');
  await expect(page.getByTestId('validation-info')).toHaveCount(0);
  await expect(page.getByTestId('validation-note')).toContainText('sst2-dev-256.tsv was set aside');
  // 1,043 rows, 10% held out: 939 → 30 steps per epoch; the paper's lr, 10 epochs for a small set.
  await expect(page.getByTestId('lr')).toHaveValue('0.001');
  await expect(page.getByTestId('epochs')).toHaveValue('10');
  await expect(page.getByTestId('param-counts')).toContainText('300 steps');
  await expect(page.getByTestId('avf-start')).toHaveValue('100');
  await expect(page.getByTestId('avf-interval')).toHaveValue('30');
  await expect(page.getByTestId('avf-count')).toHaveValue('6');
  // The user sets 4 epochs; a matching (headerless, CoLA-layout) validation file then completes the set.
  await page.getByTestId('epochs').fill('4');
  await page.getByTestId('epochs').press('Tab');
  await expect(page.getByTestId('param-counts')).toContainText('120 steps');
  const validation = 'gj04\t1\t\tThe book was read by everyone.\ngj04\t0\t*\tRead the book was by everyone.\n';
  await dropFiles(page, 'validation-drop', [{ name: 'cola-val.tsv', bytes: Buffer.from(validation) }]);
  await expect(page.getByTestId('validation-info')).toContainText('cola-val.tsv: 2 rows');
  await expect(page.getByTestId('validation-note')).toHaveCount(0);
  // All 1,043 rows train now: 33 steps per epoch, the user's 4 epochs kept, AVF recomputed.
  await expect(page.getByTestId('epochs')).toHaveValue('4');
  await expect(page.getByTestId('param-counts')).toContainText('132 steps');
  await expect(page.getByTestId('avf-start')).toHaveValue('44');
  await expect(page.getByTestId('lr')).toHaveValue('0.001');
  // Four micro-batches of 32 per step: 9 steps of 128 per epoch, AVF following.
  await page.getByTestId('accumulation').fill('4');
  await page.getByTestId('accumulation').press('Tab');
  await expect(page.getByTestId('param-counts')).toContainText('36 steps of 128 examples (32 × 4 accumulated).');
  await expect(page.getByTestId('avf-start')).toHaveValue('12');
});

test('a free-text column left out is named beside the pickers; a zipped split folder shows its splits', async ({ page }) => {
  await openDemo(page);
  const reviews = [
    { text: 'Great phone, the battery lasts two days.', title: 'Best purchase of the year so far', label: 'pos' },
    { text: 'Screen cracked within a week of use.', title: 'Would not buy this again', label: 'neg' },
    { text: 'Does what it says and nothing more.', title: 'Fine for the price I paid', label: 'pos' },
  ];
  await dropFiles(page, 'train-drop', [{ name: 'reviews.jsonl', bytes: Buffer.from(reviews.map((r) => JSON.stringify(r)).join('\n')) }]);
  await expect(page.getByTestId('column-warning')).toContainText('Free-text column "title" is not used');
  await page.getByTestId('column-textPair').selectOption('title');
  await expect(page.getByTestId('column-warning')).toHaveCount(0);

  const csv = (rows: string[]) => new TextEncoder().encode(['sentence,label', ...rows].join('\n'));
  const zipped = zipSync({
    'movies/README.md': new TextEncoder().encode('# movies'),
    'movies/train.csv': csv(['a gripping film,1', 'dull and slow,0', 'a joy to watch,1', 'i fell asleep,0']),
    'movies/validation.csv': csv(['wonderful,1', 'tedious,0']),
    'movies/test.csv': csv(['unseen,0']),
  });
  await dropFiles(page, 'train-drop', [{ name: 'movies.zip', bytes: Buffer.from(zipped) }]);
  await expect(page.getByTestId('train-info')).toContainText('movies/train.csv: 4 rows');
  await expect(page.getByTestId('split-train')).toHaveValue('train');
  await expect(page.getByTestId('split-validation')).toHaveValue('validation');
  await expect(page.getByTestId('validation-info')).toContainText('movies/validation.csv: 2 rows');
  await expect(page.getByTestId('dataset-summary')).toContainText('4 training and 2 validation examples');
  await page.getByTestId('split-validation').selectOption('test');
  await expect(page.getByTestId('dataset-summary')).toContainText('4 training and 1 validation examples');
  await page.screenshot({ path: 'test-results/data-splits.png', fullPage: true });
});

test('a 3-label checkpoint on the 2-class demo set: the head is re-initialised and announced', async ({ page }) => {
  await openDemo(page);
  await page.getByTestId('model-drop-folder').setInputFiles(hfTinyBert);
  await expect(page.getByTestId('model-info')).toContainText('bert: bert, 2 layers, hidden 32');
  await expect(page.getByTestId('head-note')).toHaveText(
    "Head re-initialised: the checkpoint's classifier has 3 labels, the dataset has 2 classes (classifier.weight [3, 32] → [2, 32], classifier.bias [3] → [2]), as Hugging Face does with ignore_mismatched_sizes.",
    { timeout: 180_000 },
  );
  await expect(page.getByTestId('errors')).toHaveCount(0);
  await page.screenshot({ path: 'test-results/data-head.png', fullPage: true });
});

test('a model zip with one byte flipped inside model.safetensors is refused, naming the entry', async ({ page }) => {
  await openDemo(page);
  const names = readdirSync(hfTinyBert).filter((n) => !n.startsWith('ref-'));
  const zipped = zipSync(Object.fromEntries(names.map((n) => [`bert/${n}`, new Uint8Array(readFileSync(path.join(hfTinyBert, n)))])), { level: 0 });
  const weights = readFileSync(path.join(hfTinyBert, 'model.safetensors'));
  zipped[Buffer.from(zipped).indexOf(weights.subarray(6000, 6032)) + 5] ^= 0x01;
  await page.getByTestId('model-drop-files').setInputFiles({ name: 'bert.zip', mimeType: 'application/zip', buffer: Buffer.from(zipped) });
  await expect(page.getByTestId('errors')).toContainText(/bert\.zip is not a readable zip file \(bert\/model\.safetensors has CRC-32 [0-9a-f]{8}, the zip records [0-9a-f]{8}: its bytes were damaged\)/);
  // The demo model stays.
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny');
});

test('a watched metric chosen for classification goes back to the default when regression data comes in', async ({ page }) => {
  await openDemo(page);
  await page.getByTestId('watched-metric').selectOption('mcc');
  await expect(page.getByTestId('watched-metric')).toHaveValue('mcc');
  const scores = 'sentence\tlabel\na fine film\t3.5\na dull one\t1.0\nan odd one\t2.25\nworth it\t4.75\n';
  await dropFiles(page, 'train-drop', [{ name: 'scores.tsv', bytes: Buffer.from(scores) }]);
  await expect(page.getByTestId('dataset-summary')).toContainText('Regression');
  await expect(page.getByTestId('watched-metric')).toHaveValue('');
  await expect(page.getByTestId('watched-metric').locator('option').first()).toHaveText('pearson (default)');
  // The engine takes the settings (it would refuse a metric the task lacks).
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  await expect(page.getByTestId('errors')).toHaveCount(0);
});
