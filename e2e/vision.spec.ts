// The studio on images, on the real engine (SwiftShader): the "ViT digits" demo (a tiny ViT
// pre-trained on MNIST digits 0–4, public/demo-vit/) loads with one click, its zipped image folder
// of digits 5–9 shows thumbnails and counts per class, training moves the heatmap and AVF freezes
// vectors, the playground predicts a digit drawn on its canvas, a dropped and a picked PNG with
// base and fine-tuned top classes, a picked image folder with a damaged image is refused naming
// the image and trains once repaired (kept in the run library with its images), and the saved run
// continues from its checkpoint with the demo's zip.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { unzipSync } from 'fflate';

const DEMO_VIT = path.resolve(import.meta.dirname, '..', 'public', 'demo-vit');
const OUT = path.resolve(import.meta.dirname, '..', 'test-results');

/** Draw a stroke through `points` (fractions of the canvas) with the mouse. */
async function draw(page: Page, points: [number, number][]) {
  await page.getByTestId('drawing-pad').scrollIntoViewIfNeeded();
  const box = (await page.getByTestId('drawing-pad').boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  await page.mouse.move(...at(points[0]));
  await page.mouse.down();
  for (const p of points.slice(1)) await page.mouse.move(...at(p), { steps: 6 });
  await page.mouse.up();
}

test('the ViT digits demo: thumbnails per class, training, AVF, and predictions on a drawn and a dropped digit', async ({ page }) => {
  test.setTimeout(25 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  // Actions wait for their element with a bound, so a crashed page fails the test instead of hanging it.
  page.setDefaultTimeout(120_000);
  await page.goto('/');
  // The BERT demo loads itself first; the ViT demo replaces it.
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await page.getByTestId('load-demo-vit').click();

  const preview = page.getByTestId('dataset-preview');
  await expect(preview.getByTestId('image-class-name')).toHaveText(['5', '6', '7', '8', '9'], { timeout: 60_000 });
  await expect(preview.getByTestId('image-class-count')).toHaveText(Array(5).fill('200 train · 60 validation'));
  await expect(preview.getByTestId('thumbnail')).toHaveCount(40);
  // The thumbnails are the 28×28 digits, decoded by the browser.
  await expect.poll(() => preview.getByTestId('thumbnail').first().evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(28);
  await expect(preview.getByTestId('image-check')).toContainText('All 1,300 images decode (grayscale', { timeout: 120_000 });
  await expect(page.getByTestId('dataset-summary')).toContainText('Image classification into 5 classes (5, 6, 7, 8, 9): 1,000 training and 300 validation images.');
  await preview.screenshot({ path: `${OUT}/vision-preview.png` });
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-vit-digits: vit, 4 layers, hidden 64');
  await expect(page.getByTestId('lr')).toHaveValue('0.01');

  // A short run that still shows AVF: AVF from step 2, every 2 steps.
  await page.getByTestId('avf-start').fill('2');
  await page.getByTestId('avf-interval').fill('2');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 180_000 });
  await page.getByTestId('train').click();
  const heatmap = page.getByTestId('heatmap');
  await expect(heatmap).toHaveAttribute('data-rows', 'Σq Σk Σv Σo Σf1 Σf2 bq bk bv bo bf1 bf2', { timeout: 180_000 });
  await expect.poll(async () => Number(await heatmap.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThan(0);
  const early = await heatmap.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  await expect(page.getByTestId('avf-event').first()).toContainText('step 2', { timeout: 300_000 });
  await expect.poll(async () => Number(await heatmap.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(5);
  expect(await heatmap.evaluate((c: HTMLCanvasElement) => c.toDataURL())).not.toBe(early);
  await expect(heatmap).toHaveAttribute('data-frozen', '5');
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });
  // The run is kept (its zip with it), like a text run.
  await expect(page.getByTestId('run-row')).toHaveCount(1);
  await expect(page.getByTestId('run-row')).toContainText('vectorfit-demo-vit-digits · digits-5-9.zip');

  // A 7 drawn on the canvas: a bar across the top, then down to the bottom left.
  await draw(page, [
    [0.25, 0.2],
    [0.75, 0.2],
    [0.45, 0.85],
  ]);
  await page.getByTestId('drawing-predict').click();
  const playground = page.getByTestId('playground');
  const drawn = playground.getByTestId('prediction').first();
  for (const side of ['base', 'tuned']) {
    await expect(drawn.getByTestId(`prediction-${side}`).getByTestId('prediction-top')).toHaveText(/^[5-9] \d+\.\d%$/, { timeout: 120_000 });
  }

  // Validation digits from the demo's own zip: an 8 dropped on the playground, a 6 picked.
  const zip = unzipSync(new Uint8Array(readFileSync(path.join(DEMO_VIT, 'digits-5-9.zip'))));
  await playground.getByTestId('playground-drop').evaluate((zone, data) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(data)], 'eight.png', { type: 'image/png' }));
    zone.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, [...zip['digits-5-9/validation/8/200.png']]);
  await expect(playground.getByTestId('prediction')).toHaveCount(2);
  const dropped = playground.getByTestId('prediction').first();
  await expect(dropped).toContainText('eight.png');
  await expect(dropped.getByTestId('prediction-tuned').getByTestId('prediction-top')).toHaveText(/^[5-9] \d+\.\d%$/, { timeout: 120_000 });
  mkdirSync(OUT, { recursive: true });
  const six = path.join(OUT, 'vision-six.png');
  writeFileSync(six, zip['digits-5-9/validation/6/200.png']);
  await playground.getByTestId('playground-image').setInputFiles(six);
  await expect(playground.getByTestId('prediction')).toHaveCount(3);
  await expect(playground.getByTestId('prediction').first().getByTestId('prediction-base').getByTestId('prediction-top')).toHaveText(/^[5-9] \d+\.\d%$/, { timeout: 120_000 });
  await page.screenshot({ path: `${OUT}/vision-trained.png`, fullPage: true });
  await playground.screenshot({ path: `${OUT}/vision-playground.png` });
  await expect(page.getByTestId('errors')).toHaveCount(0);

  // An image folder picked as training data: its classes previewed; one damaged image in it is
  // named, and the dataset withheld.
  await page.getByTestId('stop').click();
  const folder = path.join(OUT, 'vision-bad');
  rmSync(folder, { recursive: true, force: true });
  for (const cls of ['5', '6']) {
    mkdirSync(path.join(folder, 'train', cls), { recursive: true });
    for (const i of [0, 1, 2]) writeFileSync(path.join(folder, 'train', cls, `${i}.png`), zip[`digits-5-9/train/${cls}/${i}.png`]);
  }
  writeFileSync(path.join(folder, 'train', '6', '2.png'), zip['digits-5-9/train/6/2.png'].slice(0, 60));
  await page.getByTestId('train-drop-folder').setInputFiles(folder);
  await expect(page.getByTestId('image-class-count')).toHaveText(['3 train', '3 train']);
  await expect(page.getByTestId('error')).toContainText('vision-bad/train/6/2.png: a damaged PNG', { timeout: 60_000 });
  await expect(page.getByTestId('image-check')).toContainText('vision-bad/train/6/2.png');
  await expect(page.getByTestId('dataset-summary')).toHaveCount(0);
  await expect(page.getByTestId('train')).toBeDisabled();

  // Repaired, the same picked folder is a dataset like the demo's zip, and it trains.
  writeFileSync(path.join(folder, 'train', '6', '2.png'), zip['digits-5-9/train/6/2.png']);
  await page.getByTestId('train-drop-folder').setInputFiles(folder);
  await expect(page.getByTestId('dataset-summary')).toContainText('Image classification into 2 classes (5, 6)', { timeout: 60_000 });
  await expect(page.getByTestId('train')).toBeEnabled({ timeout: 180_000 });
  await page.getByTestId('train').click();
  // Six images at the demo's settings: the run is short and trains to its end.
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'finished', { timeout: 300_000 });
  expect(Number(await page.getByTestId('progress').getAttribute('data-step'))).toBeGreaterThan(0);
  await expect(page.getByTestId('errors')).toHaveCount(0);

  // The folder's run is kept too, with its six images; it finished, so the zip's run is the one to continue.
  await expect(page.getByTestId('run-row')).toHaveCount(2);
  const folderRun = page.getByTestId('run-row').first();
  await expect(folderRun).toContainText('vectorfit-demo-vit-digits · vision-bad');
  await expect(folderRun).toContainText('folder of 6 files');
  await expect(folderRun).toHaveAttribute('data-state', 'finished');
  // After a reload, the kept run continues from its checkpoint with its own zip: the digits come back.
  const at = (await page.getByTestId('run-row').nth(1).getAttribute('data-checkpoint'))!;
  expect(Number(at)).toBeGreaterThanOrEqual(5);
  await page.reload();
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await expect(page.getByTestId('continue-offer')).toContainText(`vectorfit-demo-vit-digits · digits-5-9.zip from step ${at}`);
  await page.getByTestId('continue-latest').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });
  await expect(page.getByTestId('progress')).toHaveAttribute('data-step', at);
  await expect(page.getByTestId('dataset-summary')).toContainText('1,000 training and 300 validation images');
  await expect(page.getByTestId('errors')).toHaveCount(0);
  expect(errors).toEqual([]);
});
