// Image datasets from disk for the CLI: a folder, a .zip, a table of image paths (paths relative
// to the table, as in the ViT fixture's data.jsonl) or a Parquet file. Only the files the dataset
// can use are read: images, tables and Parquet files, never the model weights that may sit beside.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { DatasetError } from '../dataset.ts';
import { readImageDataset, readImageDatasetZip, type DroppedFiles, type ImageDataset } from './dataset.ts';

const USEFUL = /\.(png|jpe?g|gif|webp|bmp|tiff?|csv|tsv|jsonl|ndjson|json|parquet)$/i;

function readTree(root: string, name: string, wanted: (relativePath: string) => boolean): DroppedFiles {
  const files: Record<string, ArrayBuffer> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      // statSync follows symbolic links (a Hugging Face cache snapshot is made of them).
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path);
      else if (stat.isFile() && wanted(relative(root, path))) {
        const bytes = readFileSync(path);
        files[relative(root, path).split('\\').join('/')] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      }
    }
  };
  walk(root);
  return { name, files };
}

/** Reads the dataset at `path`; errors name the file at fault (paths relative to the dataset). */
export async function readImageDatasetFromDisk(path: string): Promise<ImageDataset> {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new DatasetError(path, 'no such file or folder');
  }
  if (stat.isDirectory()) return readImageDataset(readTree(path, basename(path), (p) => USEFUL.test(p)));
  const bytes = readFileSync(path);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  if (/\.zip$/i.test(path)) return readImageDatasetZip(buffer, basename(path));
  if (/\.parquet$/i.test(path)) return readImageDataset({ name: basename(path), files: { [basename(path)]: buffer } });
  // A table: the images it names are under its folder.
  const table = basename(path);
  const dropped = readTree(dirname(path), basename(dirname(path)), (p) => p !== table && /\.(png|jpe?g|gif|webp|bmp|tiff?)$/i.test(p));
  dropped.files[table] = buffer;
  return readImageDataset(dropped, { table });
}
