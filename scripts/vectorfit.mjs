#!/usr/bin/env node
// `npx vectorfit …` in a checkout (package.json `bin`): the TypeScript CLI through the same loader
// as `npm run vectorfit`, from any working directory.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./raw-hooks.mjs', import.meta.url);
await import(new URL('../src/cli/main.ts', import.meta.url).href);
