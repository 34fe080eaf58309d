// Exports in one piece, with the scripted engine: "Save to a folder…" writes one folder through
// the File System Access API's directory picker (stood in by the page's own OPFS root, as a test
// cannot click a native dialog), and "Download .zip" gives one zip holding the same folder.
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { unzipSync } from 'fflate';
import { useFakeEngine } from './fake-engine.ts';

test('an export is one folder where the user picks, or one zip of that folder', async ({ page, context }) => {
  await useFakeEngine(context);
  await page.addInitScript(() => {
    (window as unknown as { showDirectoryPicker: () => Promise<FileSystemDirectoryHandle> }).showDirectoryPicker = async () =>
      (await navigator.storage.getDirectory()).getDirectoryHandle('picked', { create: true });
  });
  await page.goto('/');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 60_000 });
  await page.getByTestId('train').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'finished', { timeout: 30_000 });

  await page.getByTestId('export-vectors-folder').click();
  await expect(page.getByTestId('export-vectors')).toBeEnabled();
  // The folder is written after the export event (one file at a time): wait for its final contents.
  const written = () =>
    page.evaluate(async () => {
      const out: Record<string, number> = {};
      // Until the export has written its folder (the picked folder, the export folder, a file
      // being created), OPFS answers NotFoundError: read that as "not yet".
      try {
        const picked = await (await navigator.storage.getDirectory()).getDirectoryHandle('picked');
        const folder = await picked.getDirectoryHandle('vectorfit-demo-bert-tiny-vectorfit-vectors');
        for await (const [name, handle] of (folder as unknown as { entries(): AsyncIterable<[string, FileSystemFileHandle]> }).entries()) {
          out[name] = (await handle.getFile()).size;
        }
      } catch (error) {
        if (!(error instanceof DOMException && error.name === 'NotFoundError')) throw error;
      }
      return out;
    });
  await expect.poll(written).toEqual({ 'vectorfit.safetensors': 16, 'adapter_config.json': 2 });

  const download = page.waitForEvent('download');
  await page.getByTestId('export-vectors').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('vectorfit-demo-bert-tiny-vectorfit-vectors.zip');
  const zipped = unzipSync(new Uint8Array(readFileSync(await file.path())));
  expect(Object.fromEntries(Object.entries(zipped).map(([name, bytes]) => [name, bytes.length]))).toEqual({
    'vectorfit-demo-bert-tiny-vectorfit-vectors/vectorfit.safetensors': 16,
    'vectorfit-demo-bert-tiny-vectorfit-vectors/adapter_config.json': 2,
  });

  // The best checkpoint (the first epoch's evaluation) exports under its own name.
  await page.getByTestId('export-best').check();
  await expect(page.getByTestId('exports')).toContainText('From the best checkpoint: step 32, accuracy 0.6250');
  const best = page.waitForEvent('download');
  await page.getByTestId('export-merged').click();
  expect((await best).suggestedFilename()).toBe('vectorfit-demo-bert-tiny-vectorfit-merged-best.zip');

  // A LoRA export at a chosen rank shows its truncation report (the engine's lora_report.json).
  await page.getByTestId('export-best').uncheck();
  await page.getByTestId('lora-rank').fill('8');
  const lora = page.waitForEvent('download');
  await page.getByTestId('export-lora').click();
  expect((await lora).suggestedFilename()).toBe('vectorfit-demo-bert-tiny-vectorfit-lora.zip');
  await expect(page.getByTestId('lora-report')).toContainText('LoRA r = 8 (step 64): truncation error 25.0% of ‖ΔW‖_F overall');
  await expect(page.getByTestId('lora-report')).toContainText('at most 1.00e-2 (2.00% relative, 4 examples)');
  await expect(page.getByTestId('errors')).toHaveCount(0);
});
