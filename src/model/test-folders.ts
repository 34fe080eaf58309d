// Test helpers (Node only): the shared fixture folders read from disk.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readModelFolder } from '../io/model-folder.ts';
import { readSafetensors, type TensorEntry } from '../io/safetensors.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from './config.ts';
import type { PixelBatch, TokenBatch } from './batch.ts';
import { loadWeights, type LoadOptions, type ModelWeights } from './weights.ts';

export const SHARED = join(import.meta.dirname, '../../../shared');
export const HF_TINY = join(SHARED, 'fixtures/hf-tiny');
export const DEMO_MODEL = join(SHARED, 'models/vectorfit-demo-bert-tiny');

export function readTensors(file: string): Map<string, TensorEntry> {
  return readSafetensors(readFileSync(file), file).tensors;
}

/** config.json and every tensor of a folder, read through the studio's own folder reader (the
 * fixture folders are flat, so a synchronous listing suffices for describe-time use). */
export function readFolder(dir: string): { config: ModelConfig; tensors: Map<string, TensorEntry> } {
  const files: Record<string, ArrayBuffer> = {};
  for (const name of readdirSync(dir)) {
    // Only the folder's own files (the ViT folder keeps its images in a sub-folder).
    if (!statSync(join(dir, name)).isFile()) continue;
    const bytes = readFileSync(join(dir, name));
    files[name] = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }
  const folder = readModelFolder({ name: basename(dir), files });
  return { config: parseModelConfig(folder.config, join(dir, 'config.json')), tensors: folder.tensors };
}

export function loadFolderWeights(dir: string, options: LoadOptions = {}): { config: ModelConfig; weights: ModelWeights } {
  const { config, tensors } = readFolder(dir);
  return { config, weights: loadWeights(config, architectureFor(config), tensors, 0, options) };
}

/** ref-batch.json of an hf-tiny folder, with the labels of data.jsonl. */
export function readFixtureBatch(dir: string): { batch: TokenBatch; labels: number[] } {
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

/** ref-batch.json of the llama folder: what its tokenizer produced (BOS prepended, right padding
 * with pad id 2); no labels, a causal LM's come from the ids. */
export function readLlamaBatch(dir = join(HF_TINY, 'llama')): TokenBatch {
  const ref = JSON.parse(readFileSync(join(dir, 'ref-batch.json'), 'utf8')) as Record<string, number[][]>;
  const rows = ref.input_ids;
  return { batch: rows.length, seq: rows[0].length, inputIds: Uint32Array.from(rows.flat()), attentionMask: Uint32Array.from(ref.attention_mask.flat()) };
}

/** The ViT folder's batch: the `pixel_values` transformers' image processor wrote into
 * ref-grads.safetensors (float32 values stored as float64), with the labels of data.jsonl. */
export function readVitBatch(dir = join(HF_TINY, 'vit')): { batch: PixelBatch; labels: number[] } {
  const pixels = readTensors(join(dir, 'ref-grads.safetensors')).get('pixel_values')!;
  const [batch, , height, width] = pixels.shape;
  const patch = (JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { patch_size: number }).patch_size;
  const labels = readFileSync(join(dir, 'data.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => (JSON.parse(line) as { label: number }).label);
  return { batch: { kind: 'pixels', batch, seq: 1 + (height / patch) * (width / patch), pixelValues: Float32Array.from(pixels.data) }, labels };
}
