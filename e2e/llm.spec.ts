// The studio with a decoder LLM on the real engine (SwiftShader): the demo LLM folder and its
// SST-2 prompt/completion JSONL dropped in, a few training steps (the heatmap shows the seven Σ
// rows of a gated Llama layer and no bias rows), then the playground generates from the base and
// the fine-tuned model side by side, greedy and sampled, and a long generation stops on request.
import path from 'node:path';
import { expect, test } from '@playwright/test';

const DEMO_LLM = path.resolve(import.meta.dirname, '..', 'public', 'demo-llm');

test('trains the demo LLM from dropped files and generates from base and fine-tuned models', async ({ page }) => {
  test.setTimeout(20 * 60_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto('/');
  // The BERT demo loads itself first; the dropped files replace it.
  await expect(page.getByTestId('model-info')).toContainText('vectorfit-demo-bert-tiny', { timeout: 120_000 });
  const playground = page.getByTestId('playground');
  await expect(playground.getByTestId('generation-prompt')).toHaveCount(0);
  await page.getByTestId('model-drop-folder').setInputFiles(DEMO_LLM);
  await expect(page.getByTestId('model-info')).toContainText('llama, 3 layers, hidden 96');
  // A decoder is a causal LM by its architecture: the generation playground shows before its data
  // is dropped.
  await expect(playground.getByTestId('generation-prompt')).toBeVisible();
  await page.getByTestId('train-drop-files').setInputFiles(path.join(DEMO_LLM, 'sst2-causal-train-512.jsonl'));
  await page.getByTestId('validation-drop-files').setInputFiles(path.join(DEMO_LLM, 'sst2-causal-dev-128.jsonl'));
  await expect(page.getByTestId('dataset-summary')).toContainText('Causal language modelling: 512 training and 128 validation examples');
  await page.getByTestId('batch').fill('8');
  await page.getByTestId('epochs').fill('1');
  await page.getByTestId('lr').fill('0.01');
  await expect(page.getByTestId('param-counts')).toContainText('64 steps');
  await expect(page.getByTestId('param-counts')).toContainText('Trainable parameters', { timeout: 180_000 });

  await page.getByTestId('train').click();
  const heatmap = page.getByTestId('heatmap');
  await expect(heatmap).toHaveAttribute('data-rows', 'Σq Σk Σv Σo Σgate Σup Σdown', { timeout: 180_000 });
  await expect.poll(async () => Number(await heatmap.getAttribute('data-step')), { timeout: 300_000 }).toBeGreaterThanOrEqual(3);
  await page.getByTestId('pause').click();
  await expect(page.getByTestId('progress')).toHaveAttribute('data-state', 'paused', { timeout: 120_000 });

  // Greedy: both columns stream and finish.
  await playground.getByTestId('generation-prompt').fill('Review: a gorgeous , witty , seductive movie . Sentiment:');
  await playground.getByTestId('generation-max-tokens').fill('6');
  await playground.getByTestId('generate').click();
  const latest = playground.getByTestId('generation').first();
  for (const side of ['base', 'tuned']) {
    await expect(latest.getByTestId(`generation-${side}`)).toHaveAttribute('data-done', 'true', { timeout: 120_000 });
    await expect(latest.getByTestId(`generation-${side}`)).toContainText(/[1-6] tokens?, (end of text|max tokens)/);
  }
  await page.screenshot({ path: 'test-results/llm-playground.png', fullPage: true });

  // Sampling (temperature, top-p), then a long generation stopped after its first tokens.
  await playground.getByTestId('generation-mode').selectOption('sample');
  await playground.getByTestId('generation-top-p').fill('0.9');
  await playground.getByTestId('generate').click();
  await expect(playground.getByTestId('generation')).toHaveCount(2);
  await expect(playground.getByTestId('generation').first().getByTestId('generation-tuned')).toHaveAttribute('data-done', 'true', { timeout: 120_000 });
  await playground.getByTestId('generation-max-tokens').fill('100');
  await playground.getByTestId('generate').click();
  const long = playground.getByTestId('generation').first();
  await expect(long.getByTestId('generation-base')).toContainText(/[1-9]\d* tokens?…/, { timeout: 120_000 });
  await playground.getByTestId('stop-generation').click();
  for (const side of ['base', 'tuned']) await expect(long.getByTestId(`generation-${side}`)).toContainText('stopped', { timeout: 120_000 });
  await expect(playground.getByTestId('generate')).toBeVisible();
  await page.screenshot({ path: 'test-results/llm-playground-stopped.png', fullPage: true });
  await playground.screenshot({ path: 'test-results/llm-playground-panel.png' });
  await expect(page.getByTestId('errors')).toHaveCount(0);
  expect(errors).toEqual([]);
});
