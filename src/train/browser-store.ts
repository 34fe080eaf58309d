// Checkpoints in the browser: the Origin Private File System where it exists (workers have it
// in every current engine), IndexedDB otherwise.
import type { CheckpointStore } from './checkpoint.ts';

/** OPFS files can be written here: createWritable exists (not in Safari, whose OPFS writes need a
 * worker's sync access handle), so the page and the worker pick the same store. */
function canWriteOpfs(): boolean {
  return typeof FileSystemFileHandle !== 'undefined' && 'createWritable' in FileSystemFileHandle.prototype && typeof navigator.storage?.getDirectory === 'function';
}

export async function browserCheckpointStore(): Promise<CheckpointStore> {
  try {
    if (!canWriteOpfs()) throw new Error('no createWritable');
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

/**
 * The files of saved runs (dropped model and data, settings and log, checkpoint), one folder per
 * run: OPFS `vectorfit-runs/<run>/<path>` where the page may write OPFS files, IndexedDB keyed by
 * `<run>/<path>` otherwise.
 */
export interface RunStorage {
  readonly kind: 'opfs' | 'indexeddb';
  runs(): Promise<string[]>;
  write(run: string, path: string, bytes: Uint8Array): Promise<void>;
  read(run: string, path: string): Promise<Uint8Array | null>;
  /** Bytes of every file of the run. */
  size(run: string): Promise<number>;
  remove(run: string): Promise<void>;
}

const RUNS_FOLDER = 'vectorfit-runs';

export async function browserRunStorage(): Promise<RunStorage> {
  try {
    if (!canWriteOpfs()) throw new Error('no createWritable');
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(RUNS_FOLDER, { create: true });
    return opfsRunStorage(root);
  } catch {
    return indexedDbRunStorage();
  }
}

export function opfsRunStorage(root: FileSystemDirectoryHandle): RunStorage {
  /** The folder holding `path` inside the run's folder, and the file's own name. */
  const locate = async (run: string, path: string, create: boolean) => {
    const parts = [run, ...path.split('/')];
    const name = parts.pop()!;
    let dir = root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create });
    return { dir, name };
  };
  const walk = async (dir: FileSystemDirectoryHandle): Promise<number> => {
    let total = 0;
    for await (const handle of (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) {
      total += handle.kind === 'file' ? (await (handle as FileSystemFileHandle).getFile()).size : await walk(handle as FileSystemDirectoryHandle);
    }
    return total;
  };
  return {
    kind: 'opfs',
    async runs() {
      const ids: string[] = [];
      for await (const handle of (root as unknown as { values(): AsyncIterable<FileSystemHandle> }).values()) if (handle.kind === 'directory') ids.push(handle.name);
      return ids;
    },
    async write(run, path, bytes) {
      const { dir, name } = await locate(run, path, true);
      const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
      await writable.write(bytes as Uint8Array<ArrayBuffer>);
      await writable.close();
    },
    async read(run, path) {
      try {
        const { dir, name } = await locate(run, path, false);
        return new Uint8Array(await (await (await dir.getFileHandle(name)).getFile()).arrayBuffer());
      } catch {
        return null;
      }
    },
    async size(run) {
      try {
        return await walk(await root.getDirectoryHandle(run));
      } catch {
        return 0;
      }
    },
    async remove(run) {
      await root.removeEntry(run, { recursive: true });
    },
  };
}

export function indexedDbRunStorage(): RunStorage {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(RUNS_FOLDER, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('files');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  const run = async <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>) => {
    const db = await open();
    return new Promise<T>((resolve, reject) => {
      const request = act(db.transaction('files', mode).objectStore('files'));
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  };
  const keys = async () => (await run('readonly', (store) => store.getAllKeys())).map(String);
  /** Keys of one run: `<run>/…` sorts between `<run>/` and `<run>0` ('0' follows '/'). */
  const range = (id: string) => IDBKeyRange.bound(`${id}/`, `${id}0`, false, true);
  return {
    kind: 'indexeddb',
    async runs() {
      return [...new Set((await keys()).map((key) => key.slice(0, key.indexOf('/'))))];
    },
    async write(id, path, bytes) {
      await run('readwrite', (store) => store.put(bytes, `${id}/${path}`));
    },
    async read(id, path) {
      return (await run<Uint8Array | undefined>('readonly', (store) => store.get(`${id}/${path}`))) ?? null;
    },
    async size(id) {
      const values = await run<Uint8Array[]>('readonly', (store) => store.getAll(range(id)));
      return values.reduce((sum, v) => sum + v.byteLength, 0);
    },
    async remove(id) {
      await run('readwrite', (store) => store.delete(range(id)));
    },
  };
}
