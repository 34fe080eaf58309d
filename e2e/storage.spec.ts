// The run storage's two backends in a real browser: OPFS folders and the IndexedDB fallback
// (browsers whose page cannot write OPFS files) keep, list, size and delete a run's files alike.
import { expect, test } from '@playwright/test';

test("both run storages keep, list, size and delete a run's files", async ({ page }) => {
  await page.goto('/');
  const results = await page.evaluate(async () => {
    const { indexedDbRunStorage, opfsRunStorage } = (await import('/src/train/browser-store.ts' as string)) as typeof import('../src/train/browser-store.ts');
    const opfs = opfsRunStorage(await (await navigator.storage.getDirectory()).getDirectoryHandle('storage-test', { create: true }));
    const out: Record<string, unknown> = {};
    for (const store of [opfs, indexedDbRunStorage()]) {
      const bytes = (n: number, v: number) => new Uint8Array(n).fill(v);
      await store.write('run-a', 'run.json', bytes(10, 1));
      await store.write('run-a', 'model/sub/model.safetensors', bytes(1000, 2));
      await store.write('run-a', 'model/sub/model.safetensors', bytes(500, 3));
      await store.write('run-ab', 'run.json', bytes(7, 4));
      const read = await store.read('run-a', 'model/sub/model.safetensors');
      const before = { runs: (await store.runs()).sort(), size: await store.size('run-a'), read: read && [read.length, read[0]], missing: await store.read('run-a', 'nope') };
      await store.remove('run-a');
      out[store.kind] = { before, after: { runs: await store.runs(), size: await store.size('run-a'), other: await store.size('run-ab') } };
    }
    return out;
  });
  const expected = {
    before: { runs: ['run-a', 'run-ab'], size: 510, read: [500, 3], missing: null },
    after: { runs: ['run-ab'], size: 0, other: 7 },
  };
  expect(results).toEqual({ opfs: expected, indexeddb: expected });
});
