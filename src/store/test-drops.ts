// Files as the studio gets them dropped, for the store's tests.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HF_TINY } from '../model/test-folders.ts';
import type { DroppedFile } from './files.ts';

export const dropped = (path: string, content: string): DroppedFile => ({ path, file: new File([content], path.split('/').pop()!) });

/** A fixture model folder as the studio gets it dropped (weights, config, tokenizer). */
export const modelFolder = (name: string): DroppedFile[] =>
  readdirSync(join(HF_TINY, name))
    .filter((f) => !f.startsWith('ref-') && !f.endsWith('.jsonl') && !f.endsWith('.md'))
    .map((f) => ({ path: `${name}/${f}`, file: new File([readFileSync(join(HF_TINY, name, f))], f) }));
