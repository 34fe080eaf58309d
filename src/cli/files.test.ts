// Reading models and data from disk as the CLI does: folders, zips, loose files, split folders.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, copyFileSync, writeFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HF_TINY } from '../model/test-folders.ts';
import { mapData, readDataInput, readModelDir, readModelInput } from './files.ts';

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

describe('CLI inputs as the studio takes them', () => {
  const bert = join(HF_TINY, 'bert');
  const names = readdirSync(bert).filter((n) => !n.startsWith('ref-'));

  it('a model as a folder, a .zip or loose files reads the same', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-inputs-'));
    writeFileSync(join(dir, 'bert.zip'), zipSync({ bert: Object.fromEntries(names.map((n) => [n, new Uint8Array(readFileSync(join(bert, n)))])) }));
    const zipped = await readModelInput(join(dir, 'bert.zip'));
    const loose = await readModelInput(names.map((n) => join(bert, n)).join(','));
    const folder = await readModelInput(bert);
    for (const n of names) {
      const expected = new Uint8Array(readFileSync(join(bert, n)));
      expect(new Uint8Array(zipped.files[`bert/${n}`]), n).toEqual(expected);
      expect(new Uint8Array(loose.files[n]), n).toEqual(expected);
    }
    expect(folder.files['config.json']).toBeDefined();
    await expect(readModelInput(join(bert, 'config.json'))).rejects.toThrow(/config\.json: not a model folder or \.zip/);
  });

  it('data as a split folder: the proposed splits, or those flagged; a missing split is named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cli-splits-'));
    mkdirSync(join(dir, 'mnli'));
    writeFileSync(join(dir, 'mnli', 'train.jsonl'), '{"premise": "A man sleeps.", "hypothesis": "A man rests.", "label": 0}\n');
    writeFileSync(join(dir, 'mnli', 'validation_matched.jsonl'), '{"premise": "It rains.", "hypothesis": "It is dry.", "label": 2}\n');
    writeFileSync(join(dir, 'mnli', 'validation_mismatched.jsonl'), '{"premise": "A cat.", "hypothesis": "An animal.", "label": 0}\n');
    const input = await readDataInput(join(dir, 'mnli'), {});
    expect([input.train.fileName, input.validation?.fileName]).toEqual(['train.jsonl', 'validation_matched.jsonl']);
    expect(input.splitsLine).toBe('splits: train=train.jsonl, validation=validation_matched.jsonl (of train, validation_matched, validation_mismatched)');
    const flagged = await readDataInput(join(dir, 'mnli'), { 'val-split': 'validation_mismatched' });
    expect(flagged.validation?.table.rows).toEqual([['A cat.', 'An animal.', 0]]);
    await expect(readDataInput(join(dir, 'mnli'), { 'val-split': 'dev' })).rejects.toThrow('there is no split "dev" (--val-split); splits: train, validation_matched, validation_mismatched');
    const mapped = mapData(input.train, {});
    expect(mapped.mappingLine).toBe('train.jsonl: text=premise, pair=hypothesis, label=label (1 class: 0)');
  });
});
