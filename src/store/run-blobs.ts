// The run library's shared files: a dropped file is stored once, as a blob named by the SHA-256 of
// its bytes, however many runs hold it; a blob goes when the last run referring to it does.
import type { RunStorage } from '../train/browser-store.ts';

/** A stored file: the blob of its bytes and their count. */
export interface StoredFile {
  sha256: string;
  bytes: number;
}

export async function sha256(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Store the bytes as a blob unless a whole one with them is there already. */
export async function storeBlob(store: RunStorage, bytes: Uint8Array): Promise<StoredFile> {
  const file = { sha256: await sha256(bytes), bytes: bytes.byteLength };
  if (!(await store.hasBlob(file.sha256, file.bytes))) await store.writeBlob(file.sha256, bytes);
  return file;
}

/** Remove the blobs no run refers to any more (`referenced`: every blob the stored runs name). */
export async function releaseBlobs(store: RunStorage, hashes: Iterable<string>, referenced: Set<string>): Promise<void> {
  for (const hash of new Set(hashes)) if (!referenced.has(hash)) await store.removeBlob(hash);
}

/** Why a write failed, in words: a full storage is said as such. */
export function whyNotStored(error: unknown): string {
  if (error instanceof DOMException && error.name === 'QuotaExceededError') return "the browser's storage for this site is full (QuotaExceededError); deleting runs frees space";
  return error instanceof Error ? error.message : String(error);
}
