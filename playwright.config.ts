import { defineConfig } from '@playwright/test';

// Debian's Chromium with WebGPU on SwiftShader (see DESIGN.md); never a downloaded browser.
const chromiumArgs = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--disable-vulkan-surface',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// Ports can be moved (E2E_PORT, E2E_HUB_PORT) when several checkouts run e2e on one machine.
const port = Number(process.env.E2E_PORT ?? 4873);
/** e2e/hub-stand-in.ts: the Hugging Face Hub's URL layout served from ../shared. */
const hubPort = Number(process.env.E2E_HUB_PORT ?? 4874);

export default defineConfig({
  testDir: 'e2e',
  outputDir: 'test-results',
  timeout: 600_000,
  workers: 1,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${port}`,
    launchOptions: { executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: chromiumArgs },
    acceptDownloads: true,
    viewport: { width: 1400, height: 1000 },
  },
  webServer: [
    {
      // The studio points at the Hub stand-in (its CSP then allows it instead of nothing extra).
      command: `npx vite --port ${port} --strictPort`,
      url: `http://localhost:${port}`,
      env: { VITE_HUB_URL: `http://127.0.0.1:${hubPort}` },
      reuseExistingServer: false,
      timeout: 120_000,
    },
    {
      command: `node --import ./scripts/register-raw.mjs e2e/hub-stand-in.ts ${hubPort}`,
      url: `http://127.0.0.1:${hubPort}/__health`,
      reuseExistingServer: false,
      timeout: 60_000,
    },
  ],
});
