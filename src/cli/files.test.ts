// Reading a model folder from disk as the CLI does.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { HF_TINY } from '../model/test-folders.ts';
import { readModelDir } from './files.ts';

it('reads a Hugging Face cache snapshot, whose files are links into a blobs folder', async () => {
  const source = join(HF_TINY, 'bert');
  const cache = mkdtempSync(join(tmpdir(), 'hf-cache-'));
  const snapshot = join(cache, 'snapshots', 'abc123');
  mkdirSync(join(cache, 'blobs'));
  mkdirSync(snapshot, { recursive: true });
  const names = readdirSync(source);
  names.forEach((name, i) => {
    copyFileSync(join(source, name), join(cache, 'blobs', `blob${i}`));
    symlinkSync(join('..', '..', 'blobs', `blob${i}`), join(snapshot, name));
  });
  symlinkSync(join(cache, 'nowhere'), join(snapshot, 'dangling.json'));
  const model = await readModelDir(snapshot);
  expect(Object.keys(model.files).sort()).toEqual([...names].sort());
  for (const name of names) expect(new Uint8Array(model.files[name]), name).toEqual(new Uint8Array(readFileSync(join(source, name))));
});
