// Models and datasets from the Hugging Face Hub, only when the user asks: list a repository's files
// (`GET /api/{models|datasets}/<id>/tree/<revision>`) and download them
// (`GET /<id>/resolve/<revision>/<path>`, `/datasets/<id>/resolve/…`, which redirect large files to
// the Hub's CDN) with @huggingface/hub. Datasets come as the Hub's Parquet conversion of their
// splits: the `refs/convert/parquet` revision of the dataset repository, laid out as
// `<config>/<split>/<shard>.parquet`. Downloads are kept in the Cache API under the file's content
// hash (its git or LFS oid), so a moved branch never serves stale bytes.
import { downloadFile, listFiles, type ListFileEntry } from '@huggingface/hub';
import { PARQUET_REVISION } from './hub-files.ts';

const CACHE = 'vectorfit-hub';

export interface HubAccess {
  hubUrl: string;
  /** A token for gated or private repositories; kept in memory only. */
  accessToken?: string;
}

export interface HubFile {
  path: string;
  size: number;
  /** Content hash: the LFS oid for large files, the git blob oid otherwise. */
  oid: string;
}

export interface ParquetSplit {
  config: string;
  split: string;
  files: HubFile[];
}

export class HubError extends Error {
  constructor(
    message: string,
    readonly repo: string,
  ) {
    super(message);
  }
}

/** A repository id as the Hub spells them: `name` or `owner/name`, letters, digits, - _ . */
export function checkRepoId(id: string): string {
  const trimmed = id.trim();
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(trimmed) || trimmed.includes('..')) {
    throw new HubError(`"${trimmed}" is not a Hub repository id (owner/name).`, trimmed);
  }
  return trimmed;
}

/** What a failed Hub request means for the user. */
function explain(error: unknown, repo: string, access: HubAccess): HubError {
  const status = typeof error === 'object' && error !== null && 'statusCode' in error ? Number(error.statusCode) : 0;
  const detail = error instanceof Error ? error.message : String(error);
  if (status === 401 || status === 403) {
    return new HubError(
      access.accessToken
        ? `${repo}: the token was refused (HTTP ${status}); check that it may read this repository and that you accepted its conditions.`
        : `${repo}: this repository is gated or private (HTTP ${status}); paste an access token to read it.`,
      repo,
    );
  }
  if (status === 404) return new HubError(`${repo}: not found on the Hub (HTTP 404); check the id and revision.`, repo);
  return new HubError(`${repo}: the Hub request failed (${detail}).`, repo);
}

async function list(repo: { type: 'model' | 'dataset'; name: string }, revision: string, access: HubAccess): Promise<HubFile[]> {
  const files: HubFile[] = [];
  try {
    const entries: AsyncIterable<ListFileEntry> = listFiles({
      repo,
      // The tree endpoint takes the revision as one path segment: refs/convert/parquet is encoded.
      revision: encodeURIComponent(revision),
      recursive: true,
      hubUrl: access.hubUrl,
      accessToken: access.accessToken,
    });
    for await (const entry of entries) {
      if (entry.type === 'file') files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, oid: entry.lfs?.oid ?? entry.oid ?? '' });
    }
  } catch (error) {
    throw explain(error, repo.name, access);
  }
  return files;
}

export function listModelFiles(id: string, revision: string, access: HubAccess): Promise<HubFile[]> {
  return list({ type: 'model', name: checkRepoId(id) }, revision || 'main', access);
}

/** The Parquet conversion's splits: `<config>/<split>/<shard>.parquet`, shards in order. */
export async function listParquetSplits(id: string, access: HubAccess): Promise<ParquetSplit[]> {
  const files = await list({ type: 'dataset', name: checkRepoId(id) }, PARQUET_REVISION, access);
  const splits = new Map<string, ParquetSplit>();
  for (const file of files) {
    const parts = file.path.split('/');
    if (parts.length !== 3 || !parts[2].endsWith('.parquet')) continue;
    const key = `${parts[0]}/${parts[1]}`;
    if (!splits.has(key)) splits.set(key, { config: parts[0], split: parts[1], files: [] });
    splits.get(key)!.files.push(file);
  }
  for (const split of splits.values()) split.files.sort((a, b) => a.path.localeCompare(b.path));
  if (splits.size === 0) throw new HubError(`${id}: the Hub has no Parquet conversion of this dataset (revision ${PARQUET_REVISION}).`, id);
  return [...splits.values()];
}

/** The Cache API key of a file: its content hash, so any revision holding it reuses it. */
function cacheKey(type: 'model' | 'dataset', id: string, file: HubFile): string {
  return `${location.origin}/__hub-cache__/${type}/${encodeURIComponent(id)}/${file.oid || 'no-oid'}/${encodeURIComponent(file.path)}`;
}

async function cached(key: string): Promise<ArrayBuffer | null> {
  if (typeof caches === 'undefined') return null;
  const hit = await (await caches.open(CACHE)).match(key);
  return hit ? hit.arrayBuffer() : null;
}

async function remember(key: string, bytes: ArrayBuffer): Promise<void> {
  if (typeof caches === 'undefined') return;
  await (await caches.open(CACHE)).put(key, new Response(bytes));
}

/**
 * One file's bytes, from the cache or the Hub; `progress` gets the bytes read so far (the whole
 * size at once for a cached file).
 */
export async function downloadHubFile(
  type: 'model' | 'dataset',
  id: string,
  revision: string,
  file: HubFile,
  access: HubAccess,
  progress: (bytes: number) => void,
): Promise<ArrayBuffer> {
  const key = cacheKey(type, id, file);
  const hit = file.oid ? await cached(key) : null;
  if (hit) {
    progress(hit.byteLength);
    return hit;
  }
  const chunks: Uint8Array[] = [];
  let read = 0;
  try {
    // xet: false downloads through /resolve/ and its CDN redirect, the hosts the page's CSP allows.
    const blob = await downloadFile({ repo: { type, name: id }, path: file.path, revision, hubUrl: access.hubUrl, accessToken: access.accessToken, xet: false });
    if (!blob) throw new HubError(`${id}: ${file.path} is not in revision ${revision}.`, id);
    const reader = blob.stream().getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      read += value.byteLength;
      progress(read);
    }
  } catch (error) {
    throw error instanceof HubError ? error : explain(error, id, access);
  }
  const bytes = new Uint8Array(read);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.byteLength;
  }
  if (file.oid) await remember(key, bytes.buffer);
  return bytes.buffer;
}
