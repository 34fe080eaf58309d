// Test helpers (Node only): the shared fixture folders read from disk.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors, type TensorEntry } from '../io/safetensors.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from './config.ts';
import type { ModelBatch } from './batch.ts';
import { loadWeights, type LoadOptions, type ModelWeights } from './weights.ts';

export const SHARED = join(import.meta.dirname, '../../../shared');
export const HF_TINY = join(SHARED, 'fixtures/hf-tiny');
export const DEMO_MODEL = join(SHARED, 'models/vectorfit-demo-bert-tiny');

export function readTensors(file: string): Map<string, TensorEntry> {
  return readSafetensors(readFileSync(file), file).tensors;
}

/** config.json and every tensor of a folder (single file or sharded with an index). */
export function readFolder(dir: string): { config: ModelConfig; tensors: Map<string, TensorEntry> } {
  const config = parseModelConfig(readFileSync(join(dir, 'config.json'), 'utf8'), join(dir, 'config.json'));
  const index = join(dir, 'model.safetensors.index.json');
  if (!existsSync(index)) return { config, tensors: readTensors(join(dir, 'model.safetensors')) };
  const shards = new Set(Object.values(JSON.parse(readFileSync(index, 'utf8')).weight_map as Record<string, string>));
  const tensors = new Map<string, TensorEntry>();
  for (const shard of shards) for (const [k, v] of readTensors(join(dir, shard))) tensors.set(k, v);
  return { config, tensors };
}

export function loadFolderWeights(dir: string, options: LoadOptions = {}): { config: ModelConfig; weights: ModelWeights } {
  const { config, tensors } = readFolder(dir);
  return { config, weights: loadWeights(config, architectureFor(config), tensors, 0, options) };
}

/** ref-batch.json of an hf-tiny folder, with the labels of data.jsonl. */
export function readFixtureBatch(dir: string): { batch: ModelBatch; labels: number[] } {
  const ref = JSON.parse(readFileSync(join(dir, 'ref-batch.json'), 'utf8')) as Record<string, number[][]>;
  const rows = ref.input_ids;
  const flat = (key: string) => Uint32Array.from(ref[key].flat());
  const labels = readFileSync(join(dir, 'data.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => (JSON.parse(line) as { label: number }).label);
  return {
    batch: { batch: rows.length, seq: rows[0].length, inputIds: flat('input_ids'), attentionMask: flat('attention_mask'), tokenTypeIds: flat('token_type_ids') },
    labels,
  };
}
