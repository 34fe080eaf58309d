/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * index.html's Content-Security-Policy, adjusted: a configured Hub address (VITE_HUB_URL, the e2e
 * stand-in) is allowed to connect, and the dev server gets the inline React-refresh preamble it
 * injects. The production build keeps script-src 'self'.
 */
function contentSecurityPolicy(): Plugin {
  return {
    name: 'vectorfit-csp',
    transformIndexHtml(html, context) {
      const hub = process.env.VITE_HUB_URL;
      return html.replace(/(http-equiv="Content-Security-Policy"\s+content=")([^"]*)"/, (_, start: string, policy: string) => {
        let out = policy;
        if (hub) out = out.replace("connect-src 'self'", `connect-src 'self' ${new URL(hub).origin}`);
        if (context.server) out = out.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'");
        return `${start}${out}"`;
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), contentSecurityPolicy()],
  worker: { format: 'es' },
  server: { port: 5173, strictPort: false },
  test: {
    include: ['src/**/*.test.ts'],
    setupFiles: ['src/test/setup.ts'],
    // Dawn's Node addon is native: a forked process per file keeps one GPU instance per file.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
