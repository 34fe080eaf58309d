import { expect, test } from '@playwright/test';

test('the studio finds the WebGPU adapter', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByTestId('adapter')).toContainText('WebGPU adapter', { timeout: 60_000 });
  await page.screenshot({ path: 'test-results/adapter.png' });
});
