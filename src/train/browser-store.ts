// Checkpoints in the browser: the Origin Private File System where it exists (workers have it
// in every current engine), IndexedDB otherwise.
import type { CheckpointStore } from './checkpoint.ts';

export async function browserCheckpointStore(): Promise<CheckpointStore> {
  try {
    const root = await navigator.storage.getDirectory();
    const dir = await root.getDirectoryHandle('vectorfit-checkpoints', { create: true });
    return {
      async save(name, bytes) {
        const handle = await dir.getFileHandle(name, { create: true });
        const writable = await handle.createWritable();
        await writable.write(bytes as Uint8Array<ArrayBuffer>);
        await writable.close();
      },
      async load(name) {
        try {
          const file = await (await dir.getFileHandle(name)).getFile();
          return new Uint8Array(await file.arrayBuffer());
        } catch {
          return null;
        }
      },
    };
  } catch {
    return indexedDbStore();
  }
}

function indexedDbStore(): CheckpointStore {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('vectorfit-checkpoints', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('checkpoints');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  const run = async <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>) => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const request = act(db.transaction('checkpoints', mode).objectStore('checkpoints'));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  };
  return {
    async save(name, bytes) {
      await run('readwrite', (store) => store.put(bytes, name));
    },
    async load(name) {
      return (await run<Uint8Array | undefined>('readonly', (store) => store.get(name))) ?? null;
    },
  };
}
