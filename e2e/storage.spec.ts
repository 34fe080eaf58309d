// The run storage's two backends in a real browser: OPFS folders and the IndexedDB fallback
// (browsers whose page cannot write OPFS files) keep, list, size and delete a run's files and the
// blobs shared between runs alike.
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
      await store.write('run-ab', 'data/train/a.csv', bytes(3, 5));
      await store.write('run-ab', 'data/train-folder/d/0.png', bytes(4, 5));
      await store.write('run-ab', 'checkpoint.safetensors', bytes(6, 5));
      await store.writeBlob('b1', bytes(300, 6));
      const read = await store.read('run-a', 'model/sub/model.safetensors');
      const blob = await store.readBlob('b1');
      const before = {
        runs: (await store.runs()).sort(),
        size: await store.size('run-a'),
        read: read && [read.length, read[0]],
        missing: await store.read('run-a', 'nope'),
        blob: blob && [blob.length, blob[0]],
        has: [await store.hasBlob('b1', 300), await store.hasBlob('b2', 0)],
        blobs: await store.blobHashes(),
      };
      await store.remove('run-a');
      // A folder and a file of a run go; one that is not there is no error.
      await store.removePath('run-ab', 'data');
      await store.removePath('run-ab', 'checkpoint.safetensors');
      await store.removePath('run-ab', 'model');
      await store.removeBlob('b1');
      await store.removeBlob('b2');
      out[store.kind] = {
        before,
        after: { runs: await store.runs(), size: await store.size('run-a'), other: await store.size('run-ab'), blob: await store.readBlob('b1'), has: await store.hasBlob('b1', 300), blobs: await store.blobHashes() },
      };
    }
    return out;
  });
  const expected = {
    before: { runs: ['run-a', 'run-ab'], size: 510, read: [500, 3], missing: null, blob: [300, 6], has: [true, false], blobs: ['b1'] },
    after: { runs: ['run-ab'], size: 0, other: 7, blob: null, has: false, blobs: [] },
  };
  expect(results).toEqual({ opfs: expected, indexeddb: expected });
});

test('an IndexedDB run library from before the blob store (version 1) keeps its files and gains the blobs', async ({ page }) => {
  await page.goto('/');
  const result = await page.evaluate(async () => {
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.open('vectorfit-runs', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('files');
      request.onsuccess = () => {
        const db = request.result;
        const transaction = db.transaction('files', 'readwrite');
        transaction.objectStore('files').put(new Uint8Array(5).fill(1), 'run-old/run.json');
        transaction.oncomplete = () => {
          db.close();
          resolve();
        };
        transaction.onerror = () => reject(transaction.error);
      };
      request.onerror = () => reject(request.error);
    });
    const { indexedDbRunStorage } = (await import('/src/train/browser-store.ts' as string)) as typeof import('../src/train/browser-store.ts');
    const store = indexedDbRunStorage();
    await store.writeBlob('b1', new Uint8Array(9));
    return { runs: await store.runs(), size: await store.size('run-old'), has: await store.hasBlob('b1', 9) };
  });
  expect(result).toEqual({ runs: ['run-old'], size: 5, has: true });
});

test('a tab holding the version-1 run library open gets a clear refusal instead of a silent wait, and the upgrade goes on once it closes', async ({ page }) => {
  await page.goto('/');
  const result = await page.evaluate(async () => {
    // The other tab: the studio from before the blob store, its connection left open.
    const old = await new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('vectorfit-runs', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('files');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const { indexedDbRunStorage } = (await import('/src/train/browser-store.ts' as string)) as typeof import('../src/train/browser-store.ts');
    const store = indexedDbRunStorage();
    const refused = await store.runs().then(
      () => 'listed',
      (error: Error) => error.message,
    );
    old.close();
    await store.write('run-new', 'run.json', new Uint8Array(3));
    return { refused, runs: await store.runs() };
  });
  expect(result).toEqual({ refused: expect.stringContaining('held open by another tab running an older version'), runs: ['run-new'] });
});
