// Reading models and datasets from disk into the same shapes the studio gets from dropped files.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { buildExamples, guessColumns, parseTable, type BuiltExamples, type Table } from '../io/dataset.ts';
import type { CausalLmReader } from '../train/load.ts';
import type { CheckpointStore } from '../train/checkpoint.ts';
import type { ModelFiles } from '../io/types.ts';

/** Every file under `dir` (sub-folders included), keyed by its path relative to `dir`.
 * Symbolic links to files are followed: a Hugging Face cache snapshot is made of them. */
export async function readModelDir(dir: string): Promise<ModelFiles> {
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new Error(`${dir}: not a model folder`);
  const files: Record<string, ArrayBuffer> = {};
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      const linkedFile = entry.isSymbolicLink() && (await stat(path).catch(() => null))?.isFile();
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() || linkedFile) {
        const bytes = await readFile(path);
        files[relative(dir, path)] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      }
    }
  };
  await walk(dir);
  return { name: basename(dir.replace(/\/+$/, '')), files };
}

/** Parses a dataset file with guessed (or flagged) columns; `like` makes a validation file use
 * the training file's task and label names. */
export async function readDatasetFile(path: string, flags: Record<string, string>, like?: BuiltExamples): Promise<BuiltExamples> {
  const { name, table } = await readTableFile(path);
  const guessed = guessColumns(table);
  const columns = { text: flags.text ?? guessed.text, textPair: flags['text-pair'] ?? guessed.textPair, label: flags.label ?? guessed.label };
  return buildExamples(table, columns, name, like ? { task: like.task, labelNames: like.task === 'classification' ? like.labelNames : undefined } : {});
}

/** Parses a file of `text`, `prompt` + `completion` or `messages` rows for a causal LM (its
 * tokenizer in `reader`); says on stderr what was cut or dropped. */
export async function readCausalLmFile(path: string, reader: CausalLmReader, maxLength?: number): Promise<BuiltExamples> {
  const { name, table } = await readTableFile(path);
  const rows = reader(table, name, maxLength);
  if (rows.truncated) console.error(`${name}: ${rows.truncated} row(s) longer than ${maxLength ?? 'the model\'s context'} tokens cut to it`);
  if (rows.droppedNoLoss.length) console.error(`${name}: line(s) ${rows.droppedNoLoss.slice(0, 8).join(', ')} dropped: nothing to train on within the length`);
  return { task: 'causal-lm', labelNames: [], examples: rows.examples };
}

async function readTableFile(path: string): Promise<{ name: string; table: Table }> {
  const bytes = await readFile(path).catch(() => {
    throw new Error(`${path}: cannot read the file`);
  });
  const name = basename(path);
  return { name, table: await parseTable(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name) };
}

export function fileCheckpointStore(dir: string): CheckpointStore {
  return {
    async save(name, bytes) {
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, name), bytes);
    },
    async load(name) {
      try {
        return new Uint8Array(await readFile(join(dir, name)));
      } catch {
        return null;
      }
    },
  };
}
