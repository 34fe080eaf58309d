// A causal LM's exports after a short run on the demo LLM: the merged folder is a Hugging Face
// LlamaForCausalLM with its head still tied, and reloaded through our loader its float64
// reference (dense merged weights) gives the trained GPU model's logits; the vectors and the
// LoRA adapter say what they are (causal-lm, CAUSAL_LM).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { parseTable } from '../io/dataset.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { buildReferenceModel, referenceLogits } from '../model/reference.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from './defaults.ts';
import { buildExport } from './exports.ts';
import { causalLmReader, loadModel } from './load.ts';
import { Trainer } from './trainer.ts';

const DEMO_LLM = join(import.meta.dirname, '../../public/demo-llm');

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

it('exports a trained causal LM as a tied Hugging Face Llama whose reloaded logits match the trained model', async () => {
  const files = await readModelDir(DEMO_LLM);
  const name = 'sst2-causal-train-512.jsonl';
  const bytes = await readFile(join(DEMO_LLM, name));
  const rows = causalLmReader(files)!(await parseTable(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, name), name).examples;
  const trainer = await Trainer.create({
    gpu: await testGpu(),
    files,
    dataset: { task: 'causal-lm', labelNames: [], train: rows.slice(0, 8), validation: rows.slice(8, 12), name },
    config: defaultConfig(8, { variant: 'sigma', epochs: 1, batchSize: 4, lr: 0.02, lrSchedule: 'constant', maxLength: 64 }),
    emit: () => {},
  });
  await trainer.train(() => false);

  const merged = Object.fromEntries((await buildExport(trainer, 'merged')).map((f) => [f.name, f.bytes]));
  const config = JSON.parse(new TextDecoder().decode(merged['config.json']));
  expect(config.architectures).toEqual(['LlamaForCausalLM']);
  expect(config.tie_word_embeddings).toBe(true);
  expect(config).not.toHaveProperty('id2label');
  const tensorNames = [...readSafetensors(merged['model.safetensors'], 'model.safetensors').tensors.keys()];
  expect(tensorNames).toContain('model.embed_tokens.weight');
  expect(tensorNames).not.toContain('lm_head.weight');

  // Logits of the trained model on the GPU (factored, fp32) against the float64 reference on the
  // reloaded merged weights (dense): equal up to fp32 rounding of U·diag(Σ)·Vᵀ and the forward.
  const { batch } = await trainer.batchOf(rows.slice(8, 12));
  submitPlan(trainer.gpu.device, trainer.model.evalPlan(batch.batch, batch.seq));
  const vocab = trainer.loaded.config.vocabSize;
  const gpuLogits = (await readTensor(trainer.gpu.device, trainer.model.logits)).slice(0, batch.batch * batch.seq * vocab);
  const reloaded = await loadModel({ name: 'merged', files: merged }, { task: 'causal-lm', labelNames: [] }, 0);
  const refLogits = referenceLogits(buildReferenceModel(reloaded.config, reloaded.weights), batch, 'dense');
  const base = referenceLogits(buildReferenceModel(trainer.loaded.config, trainer.loaded.weights), batch, 'dense');
  expect(refLogits.length).toBe(gpuLogits.length);
  const error = norm(Array.from(gpuLogits, (v, i) => v - refLogits[i])) / norm(refLogits);
  const moved = norm(Array.from(base, (v, i) => v - refLogits[i])) / norm(refLogits);
  // Same-model fp32 against float64 in the decoder parity tests: ~1e-6 relative (tolerance 2e-5).
  expect(error).toBeLessThan(2e-5);
  // …and training moved them far beyond that: the test would see a merge of the wrong Σ.
  expect(moved).toBeGreaterThan(100 * error);

  const vectors = Object.fromEntries((await buildExport(trainer, 'vectors')).map((f) => [f.name, f.bytes]));
  const adapter = JSON.parse(new TextDecoder().decode(vectors['adapter_config.json']));
  expect(adapter.task).toBe('causal-lm');
  expect(adapter).not.toHaveProperty('labels');
  expect(Object.keys(adapter.metrics).sort()).toEqual(['loss', 'perplexity']);

  const lora = Object.fromEntries((await buildExport(trainer, 'lora', { rank: 4 })).map((f) => [f.name, f.bytes]));
  const loraConfig = JSON.parse(new TextDecoder().decode(lora['adapter_config.json']));
  expect(loraConfig.task_type).toBe('CAUSAL_LM');
  expect(loraConfig.modules_to_save).toEqual([]);
  const report = JSON.parse(new TextDecoder().decode(lora['lora_report.json']));
  expect(report.validation_loss.full).toBeCloseTo(adapter.metrics.loss, 5);
  expect(Number.isFinite(report.validation_loss.rank_r)).toBe(true);
}, 300_000);
