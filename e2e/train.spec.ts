// The one-click demo run on the real engine (SwiftShader: ~4 s a step): strengths move on the
// heatmap, an AVF event lands on the timeline, pause/resume work, and the trained vectors download.
import { readFileSync } from 'node:fs';
import { expect, test, type Download } from '@playwright/test';
import { unzipSync } from 'fflate';
import { readSafetensors } from '../src/io/safetensors.ts';

async function bytesOf(download: Download): Promise<ArrayBuffer> {
  const path = await download.path();
  const bytes = readFileSync(path);
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

test('the demo trains with one click: the heatmap moves, AVF freezes vectors, the vectors download', async ({ page }) => {
  // ~4 s a step on an idle 2-core SwiftShader machine (much more with other jobs sharing the
  // cores): AVF at step 6 comes after about half a minute of training.
  test.setTimeout(20 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const foreign: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith('http://localhost:') && !request.url().startsWith('blob:') && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  await page.goto('/');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 180_000 });
  // What the engine allocated for the demo (weights, factors, activations at batch 32 × 64, AdamW).
  await expect(page.getByTestId('gpu-memory')).toHaveText(/^\d+\.\d MiB$/);
  // A cosine schedule warmed up over a tenth of the steps, gradients clipped to norm 1, as the
  // exported config says.
  await page.getByTestId('schedule').selectOption('cosine');
  await page.getByTestId('warmup').fill('0.1');
  await page.getByTestId('max-grad-norm').fill('1');
  await page.screenshot({ path: 'test-results/train-ready.png', fullPage: true });

  await page.getByTestId('train').click();
  const heatmap = page.getByTestId('heatmap');
  await expect.poll(async () => Number(await heatmap.getAttribute('data-step')), { timeout: 180_000 }).toBeGreaterThan(0);
  const early = await heatmap.evaluate((c: HTMLCanvasElement) => c.toDataURL());
  const earlyStep = Number(await heatmap.getAttribute('data-step'));
  await expect.poll(async () => Number(await heatmap.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThan(earlyStep);
  expect(await heatmap.evaluate((c: HTMLCanvasElement) => c.toDataURL())).not.toBe(early);

  // The demo's AVF starts at step 6 (public/demo/manifest.json) and freezes k = 5 vectors.
  await expect(page.getByTestId('avf-event').first()).toContainText('step 6', { timeout: 600_000 });
  await expect(heatmap).toHaveAttribute('data-frozen', '5', { timeout: 30_000 });
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  await expect(page.getByTestId('progress')).toContainText(/grad norm \d/);
  await page.screenshot({ path: 'test-results/train-paused.png', fullPage: true });

  const download = page.waitForEvent('download', { timeout: 60_000 });
  await page.getByTestId('export-vectors').click();
  // One zip holding one folder: the vectors and adapter_config.json.
  expect((await download).suggestedFilename()).toBe('vectorfit-demo-bert-tiny-vectorfit-vectors.zip');
  const zipped = unzipSync(new Uint8Array(await bytesOf(await download)));
  const folder = 'vectorfit-demo-bert-tiny-vectorfit-vectors/';
  expect(Object.keys(zipped).every((name) => name.startsWith(folder))).toBe(true);
  const adapterConfig = JSON.parse(new TextDecoder().decode(zipped[folder + 'adapter_config.json']));
  expect(adapterConfig).toMatchObject({ method: 'vectorfit', variant: 'vectorfit', base_model: 'vectorfit-demo-bert-tiny', num_labels: 2 });
  expect(adapterConfig.avf.frozen_at_end).toHaveLength(5);
  expect(adapterConfig.training).toMatchObject({ lr_schedule: 'cosine', warmup_ratio: 0.1, max_grad_norm: 1 });
  const vectors = Object.keys(zipped).find((name) => name.endsWith('.safetensors'));
  expect(vectors).toBeDefined();
  const file = readSafetensors(zipped[vectors!], vectors!);
  // Σ and bias of the six modules of both layers, and the pooler and classifier: 28 tensors.
  expect(file.tensors.size).toBe(28);
  expect(file.tensors.get('bert.encoder.layer.0.attention.self.query.sigma')?.shape).toEqual([128]);
  expect(file.tensors.get('bert.encoder.layer.1.intermediate.dense.bias')?.shape).toEqual([512]);
  expect(file.tensors.get('classifier.weight')?.shape).toEqual([2, 128]);
  for (const [name, t] of file.tensors) expect(t.data.every(Number.isFinite), name).toBe(true);

  await page.getByTestId('playground-text').fill('a gripping, beautifully acted film');
  await page.getByRole('button', { name: 'Predict' }).click();
  await expect(page.getByTestId('prediction').first()).not.toContainText('…', { timeout: 60_000 });

  await page.getByTestId('resume').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'training', { timeout: 60_000 });
  await page.getByTestId('stop').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'stopped', { timeout: 60_000 });
  await expect(page.getByTestId('errors')).toHaveCount(0);
  expect(errors).toEqual([]);
  expect(foreign).toEqual([]);
});
