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

/** One request in its own transaction, on a connection of its own. Settled when the transaction
 * ends (a quota error can come as late as the commit), and the connection closed then: one left
 * open would block a later version of the database in another tab. */
async function requestIn<T>(open: () => Promise<IDBDatabase>, storeName: string, mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await open();
  return new Promise<T>((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = act(transaction.objectStore(storeName));
    transaction.oncomplete = () => {
      db.close();
      resolve(request.result);
    };
    transaction.onabort = () => {
      db.close();
      reject(transaction.error ?? request.error);
    };
  });
}

function indexedDbStore(): CheckpointStore {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open('vectorfit-checkpoints', 1);
      request.onupgradeneeded = () => request.result.createObjectStore('checkpoints');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  const run = <T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>) => requestIn(open, 'checkpoints', mode, act);
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
 * The files of saved runs: one folder per run (its record and checkpoint, or every file of a run
 * saved before the shared store), and the blobs shared between runs, each stored once under the
 * SHA-256 of its bytes. OPFS `vectorfit-runs/<run>/<path>` and `vectorfit-runs/blobs/<sha256>`
 * where the page may write OPFS files; IndexedDB otherwise, keyed by `<run>/<path>` in one object
 * store and by hash in another.
 */
export interface RunStorage {
  readonly kind: 'opfs' | 'indexeddb';
  runs(): Promise<string[]>;
  write(run: string, path: string, bytes: Uint8Array): Promise<void>;
  read(run: string, path: string): Promise<Uint8Array | null>;
  /** Bytes of every file of the run's folder (not the blobs it refers to). */
  size(run: string): Promise<number>;
  /** Delete a file or a folder of the run; nothing when it is not there. */
  removePath(run: string, path: string): Promise<void>;
  remove(run: string): Promise<void>;
  /** Store a blob: complete, or (on a failed write) not there at all. */
  /** Every stored blob's hash. */
  blobHashes(): Promise<string[]>;
  writeBlob(hash: string, bytes: Uint8Array): Promise<void>;
  readBlob(hash: string): Promise<Uint8Array | null>;
  /** The blob is stored whole (`bytes` long). */
  hasBlob(hash: string, bytes: number): Promise<boolean>;
  /** Nothing when it is not there. */
  removeBlob(hash: string): Promise<void>;
}

const RUNS_FOLDER = 'vectorfit-runs';
/** The shared blobs' folder beside the runs' (run ids start with `run-`). */
const BLOBS = 'blobs';

export async function browserRunStorage(): Promise<RunStorage> {
  try {
    if (!canWriteOpfs()) throw new Error('no createWritable');
    const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(RUNS_FOLDER, { create: true });
    return opfsRunStorage(root);
  } catch {
    return indexedDbRunStorage();
  }
}

const isNotFound = (error: unknown) => error instanceof DOMException && error.name === 'NotFoundError';

export function opfsRunStorage(root: FileSystemDirectoryHandle): RunStorage {
  /** The folder holding `path` inside the run's folder, and the file's own name. */
  const locate = async (run: string, path: string, create: boolean) => {
    const parts = [run, ...path.split('/')];
    const name = parts.pop()!;
    let dir = root;
    for (const part of parts) dir = await dir.getDirectoryHandle(part, { create });
    return { dir, name };
  };
  const entries = (dir: FileSystemDirectoryHandle) => (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();
  const walk = async (dir: FileSystemDirectoryHandle): Promise<number> => {
    let total = 0;
    for await (const handle of entries(dir)) {
      total += handle.kind === 'file' ? (await (handle as FileSystemFileHandle).getFile()).size : await walk(handle as FileSystemDirectoryHandle);
    }
    return total;
  };
  /** Written through a swap file that replaces the file on close: a failed write leaves the old
   * bytes (or the empty file `create` made). */
  const put = async (dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array) => {
    const writable = await (await dir.getFileHandle(name, { create: true })).createWritable();
    try {
      await writable.write(bytes as Uint8Array<ArrayBuffer>);
      await writable.close();
    } catch (error) {
      await writable.abort().catch(() => undefined);
      throw error;
    }
  };
  const fileIn = async (dir: FileSystemDirectoryHandle, name: string) => {
    try {
      return await (await dir.getFileHandle(name)).getFile();
    } catch {
      return null;
    }
  };
  const removeIn = async (dir: FileSystemDirectoryHandle, name: string) => {
    try {
      await dir.removeEntry(name, { recursive: true });
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  };
  const blobs = () => root.getDirectoryHandle(BLOBS, { create: true });
  return {
    kind: 'opfs',
    async runs() {
      const ids: string[] = [];
      for await (const handle of entries(root)) if (handle.kind === 'directory' && handle.name !== BLOBS) ids.push(handle.name);
      return ids;
    },
    async write(run, path, bytes) {
      const { dir, name } = await locate(run, path, true);
      await put(dir, name, bytes);
    },
    async read(run, path) {
      try {
        const { dir, name } = await locate(run, path, false);
        const file = await fileIn(dir, name);
        return file && new Uint8Array(await file.arrayBuffer());
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
    async removePath(run, path) {
      try {
        const { dir, name } = await locate(run, path, false);
        await removeIn(dir, name);
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
    },
    async remove(run) {
      await removeIn(root, run);
    },
    async blobHashes() {
      const hashes: string[] = [];
      for await (const handle of entries(await blobs())) if (handle.kind === 'file') hashes.push(handle.name);
      return hashes;
    },
    async writeBlob(hash, bytes) {
      const dir = await blobs();
      try {
        await put(dir, hash, bytes);
      } catch (error) {
        // The empty file `create` made would pass for a blob of nothing.
        await removeIn(dir, hash).catch(() => undefined);
        throw error;
      }
    },
    async readBlob(hash) {
      const file = await fileIn(await blobs(), hash);
      return file && new Uint8Array(await file.arrayBuffer());
    },
    async hasBlob(hash, bytes) {
      return (await fileIn(await blobs(), hash))?.size === bytes;
    },
    async removeBlob(hash) {
      await removeIn(await blobs(), hash);
    },
  };
}

export function indexedDbRunStorage(): RunStorage {
  const open = () =>
    new Promise<IDBDatabase>((resolve, reject) => {
      // Version 2 adds the blobs' store beside the runs' files.
      const request = indexedDB.open(RUNS_FOLDER, 2);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains('files')) db.createObjectStore('files');
        if (!db.objectStoreNames.contains(BLOBS)) db.createObjectStore(BLOBS);
      };
      // An open version-1 connection (a tab still running the studio from before) holds the
      // upgrade back until it closes: say so instead of waiting without a word.
      let blocked = false;
      request.onblocked = () => {
        blocked = true;
        reject(new Error('the run library is held open by another tab running an older version of the studio: close that tab, then try again'));
      };
      // Once that tab closes, the upgrade completes for a request already refused: let it go.
      request.onsuccess = () => (blocked ? request.result.close() : resolve(request.result));
      request.onerror = () => reject(request.error);
    });
  /** One request in its own transaction: a put that fails stores nothing. */
  const run = <T>(store: 'files' | typeof BLOBS, mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>) => requestIn(open, store, mode, act);
  const keys = async () => (await run('files', 'readonly', (store) => store.getAllKeys())).map(String);
  /** Keys under a prefix: `<prefix>/…` sorts between `<prefix>/` and `<prefix>0` ('0' follows '/'). */
  const range = (prefix: string) => IDBKeyRange.bound(`${prefix}/`, `${prefix}0`, false, true);
  return {
    kind: 'indexeddb',
    async runs() {
      return [...new Set((await keys()).map((key) => key.slice(0, key.indexOf('/'))))];
    },
    async write(id, path, bytes) {
      await run('files', 'readwrite', (store) => store.put(bytes, `${id}/${path}`));
    },
    async read(id, path) {
      return (await run<Uint8Array | undefined>('files', 'readonly', (store) => store.get(`${id}/${path}`))) ?? null;
    },
    async size(id) {
      const values = await run<Uint8Array[]>('files', 'readonly', (store) => store.getAll(range(id)));
      return values.reduce((sum, v) => sum + v.byteLength, 0);
    },
    async removePath(id, path) {
      await run('files', 'readwrite', (store) => store.delete(`${id}/${path}`));
      await run('files', 'readwrite', (store) => store.delete(range(`${id}/${path}`)));
    },
    async remove(id) {
      await run('files', 'readwrite', (store) => store.delete(range(id)));
    },
    async writeBlob(hash, bytes) {
      await run(BLOBS, 'readwrite', (store) => store.put(bytes, hash));
    },
    async readBlob(hash) {
      return (await run<Uint8Array | undefined>(BLOBS, 'readonly', (store) => store.get(hash))) ?? null;
    },
    async hasBlob(hash) {
      // A put is all or nothing: a blob that is there is whole.
      return (await run(BLOBS, 'readonly', (store) => store.count(hash))) > 0;
    },
    async blobHashes() {
      return (await run(BLOBS, 'readonly', (store) => store.getAllKeys())).map(String);
    },
    async removeBlob(hash) {
      await run(BLOBS, 'readwrite', (store) => store.delete(hash));
    },
  };
}
