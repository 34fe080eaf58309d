// `node --import ./scripts/register-raw.mjs file.ts`: TypeScript via tsx, plus Vite's `?raw`.
import { register } from 'node:module';
import { register as registerTsx } from 'tsx/esm/api';

registerTsx();
register('./raw-hooks.mjs', import.meta.url);
