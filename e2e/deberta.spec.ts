// A DeBERTa-v3 folder as the official repositories ship it (spm.model, no tokenizer.json) dropped
// into the studio: recognised through the architecture table, trained on the real engine
// (SwiftShader) with the relative attention's terms, and its merged zip a
// DebertaV2ForSequenceClassification folder under the checkpoint's key names.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { readSafetensors } from '../src/io/safetensors.ts';
import { DEBERTA_TOKENIZER_JSON, spmModelOf } from '../src/io/test-spm.ts';
import { tinyDebertaDir } from './paths.ts';

function spmOnlyFolder(): string {
  const dir = path.join(mkdtempSync(path.join(tmpdir(), 'vectorfit-e2e-')), 'hf-tiny-deberta');
  mkdirSync(dir);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer_config.json']) copyFileSync(path.join(tinyDebertaDir, f), path.join(dir, f));
  writeFileSync(path.join(dir, 'spm.model'), spmModelOf(DEBERTA_TOKENIZER_JSON));
  return dir;
}

test('a DeBERTa-v3 folder with spm.model trains in the studio and exports a DebertaV2ForSequenceClassification folder', async ({ page }) => {
  test.setTimeout(15 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  await page.getByTestId('model-drop-folder').setInputFiles(spmOnlyFolder());
  await expect(page.getByTestId('model-info')).toContainText('hf-tiny-deberta: deberta-v2, 2 layers, hidden 32');
  await page.getByTestId('train-drop-files').setInputFiles(path.join(tinyDebertaDir, 'data.jsonl'));
  await expect(page.getByTestId('train-info')).toContainText('12 rows');
  await page.locator('input[name=validation-source]').nth(1).check();
  await page.getByTestId('batch').fill('4');
  await page.getByTestId('epochs').fill('2');
  await page.getByTestId('lr').fill('0.01');
  await expect(page.getByTestId('param-counts')).toContainText('6 steps');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 120_000 });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'finished', { timeout: 600_000 });
  await expect.poll(async () => Number(await page.getByTestId('heatmap').getAttribute('data-step'))).toBeGreaterThan(0);

  const download = page.waitForEvent('download', { timeout: 120_000 });
  await page.getByTestId('export-merged').click();
  const zip = unzipSync(new Uint8Array(readFileSync(await (await download).path())));
  const file = (name: string) => {
    const found = Object.entries(zip).find(([p]) => p.endsWith(`/${name}`));
    expect(found, `${name} in ${Object.keys(zip).join(', ')}`).toBeDefined();
    return found![1];
  };
  expect(JSON.parse(new TextDecoder().decode(file('config.json')))).toMatchObject({ architectures: ['DebertaV2ForSequenceClassification'], model_type: 'deberta-v2' });
  expect(file('spm.model').length).toBeGreaterThan(0);
  const keys = (bytes: Uint8Array) => [...readSafetensors(bytes, 'model.safetensors').tensors.keys()].sort();
  expect(keys(file('model.safetensors'))).toEqual(keys(new Uint8Array(readFileSync(path.join(tinyDebertaDir, 'model.safetensors')))));
  expect(errors).toEqual([]);
});
