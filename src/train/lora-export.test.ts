// The LoRA export loaded the way PEFT loads it, reimplemented here independently in float64:
// base weights + the adapter (W += (lora_alpha / r)·B·A, the `base_layer.bias` and
// modules_to_save tensors replaced), run through the float64 reference model with dense weights.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readSafetensors } from '../io/safetensors.ts';
import { buildReferenceModel, referenceLogits, type ReferenceModel } from '../model/reference.ts';
import { testGpu } from '../test/gpu.ts';
import type { Dataset, Example, ModelFiles } from '../io/types.ts';
import { defaultConfig } from './defaults.ts';
import { buildExport, type ExportFile } from './exports.ts';
import { loadModel, type LoadedModel, textModel } from './load.ts';
import { Trainer } from './trainer.ts';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/bert');
const PREFIX = 'base_model.model.';

async function setup() {
  const files = await readModelDir(FIXTURE);
  const rows = (await readFile(join(FIXTURE, 'data.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Example);
  const dataset: Dataset = { task: 'classification', labelNames: ['LABEL_0', 'LABEL_1', 'LABEL_2'], train: rows, validation: rows, name: 'hf-tiny' };
  const config = defaultConfig(12, { batchSize: 4, epochs: 3, lr: 2e-2, seed: 3, maxLength: 32 });
  const trainer = await Trainer.create({ gpu: await testGpu(), files, dataset, config, emit: () => {} });
  await trainer.train(() => false);
  return { files, dataset, trainer };
}

async function reference(files: ModelFiles, dataset: Dataset): Promise<{ loaded: LoadedModel; model: ReferenceModel }> {
  const loaded = await loadModel(files, dataset, 0);
  return { loaded, model: buildReferenceModel(loaded.config, loaded.weights) };
}

function logits({ loaded, model }: { loaded: LoadedModel; model: ReferenceModel }, rows: readonly Example[]): Float64Array {
  return referenceLogits(model, textModel(loaded, 'the test').tokenizer.encodeBatch(rows, { maxLength: 32 }), 'dense');
}

function file(files: ExportFile[], name: string): ArrayBuffer {
  const found = files.find((f) => f.name === name);
  if (!found) throw new Error(`no ${name} among ${files.map((f) => f.name).join(', ')}`);
  return found.bytes;
}

/** PEFT's load, by hand: every adapter tensor applied to the float64 base. */
function applyAdapter(base: ReferenceModel, adapter: ExportFile[]): ReferenceModel {
  const config = JSON.parse(new TextDecoder().decode(file(adapter, 'adapter_config.json')));
  expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'SEQ_CLS', bias: 'all', modules_to_save: ['bert.pooler.dense', 'classifier'] });
  expect(config.lora_alpha).toBe(config.r);
  const scale = config.lora_alpha / config.r;
  const tensors = readSafetensors(file(adapter, 'adapter_model.safetensors'), 'adapter_model.safetensors').tensors;
  const modules = new Map([...base.modules].map(([path, m]) => [path, { ...m, weight: Float64Array.from(m.weight), bias: m.bias && Float64Array.from(m.bias) }]));
  const plain = new Map([...base.tensors].map(([k, v]) => [k, Float64Array.from(v)]));
  const seen = new Set<string>();
  for (const [key, t] of tensors) {
    expect(key.startsWith(PREFIX), key).toBe(true);
    const name = key.slice(PREFIX.length);
    const lora = /^(.*)\.lora_([AB])\.weight$/.exec(name);
    const bias = /^(.*)\.base_layer\.bias$/.exec(name);
    if (lora) {
      if (lora[2] === 'B' || seen.has(lora[1])) continue;
      seen.add(lora[1]);
      const m = modules.get(lora[1])!;
      const a = t.data;
      const b = tensors.get(`${PREFIX}${lora[1]}.lora_B.weight`)!.data;
      const { dIn, dOut } = m.layout;
      expect(t.shape).toEqual([config.r, dIn]);
      for (let o = 0; o < dOut; o++) {
        for (let i = 0; i < dIn; i++) {
          let s = 0;
          for (let k = 0; k < config.r; k++) s += b[o * config.r + k] * a[k * dIn + i];
          m.weight[o * dIn + i] += scale * s;
        }
      }
    } else if (bias) {
      modules.get(bias[1])!.bias!.set(t.data);
    } else {
      expect(plain.has(name), name).toBe(true);
      expect(config.modules_to_save.some((p: string) => name.startsWith(`${p}.`)), name).toBe(true);
      plain.set(name, Float64Array.from(t.data));
    }
  }
  expect(seen.size).toBe(base.modules.size);
  return { ...base, modules, tensors: plain };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('LoRA export', () => {
  it('loaded as PEFT does, gives the merged model’s logits at full rank, and moves them as its report says at rank 2', async () => {
    const { files, dataset, trainer } = await setup();
    const rows = dataset.validation;
    const base = await reference(files, dataset);
    const merged = logits(await reference({ name: 'merged', files: Object.fromEntries((await buildExport(trainer, 'merged')).map((f) => [f.name, f.bytes])) }, dataset), rows);
    const scale = Math.max(...Array.from(merged, Math.abs));

    const full = await buildExport(trainer, 'lora');
    expect(full.map((f) => f.name)).toEqual(['adapter_model.safetensors', 'adapter_config.json', 'lora_report.json']);
    const fullReport = JSON.parse(new TextDecoder().decode(file(full, 'lora_report.json')));
    // Full rank: min(d_out, d_in) = 32 for every module of this 32-wide BERT (f1, f2 are 64×32).
    expect(fullReport).toMatchObject({ r: 32, overall_truncation_error: 0 });
    const fullLogits = logits({ loaded: base.loaded, model: applyAdapter(base.model, full) }, rows);
    // Both sides rebuild W from fp32 factors of W₀ (the merged export U·diag(Σ)·Vᵀ in fp32, the
    // LoRA W₀ + U·diag(ΔΣ)·Vᵀ): they differ by the fp32 SVD's reconstruction error, ~1e-7·‖W‖.
    const fullGap = maxAbsDiff(fullLogits, merged);
    expect(fullGap).toBeLessThan(1e-5 * scale);

    const low = await buildExport(trainer, 'lora', { rank: 2 });
    const report = JSON.parse(new TextDecoder().decode(file(low, 'lora_report.json')));
    const config = JSON.parse(new TextDecoder().decode(file(low, 'adapter_config.json')));
    expect(config).toMatchObject({ r: 2, lora_alpha: 2 });
    expect(report.overall_truncation_error).toBeGreaterThan(0.05);
    expect(report.modules).toHaveLength(12);
    for (const m of report.modules) expect(m.truncation_error).toBeGreaterThan(0);
    const lowLogits = logits({ loaded: base.loaded, model: applyAdapter(base.model, low) }, rows);
    const moved = maxAbsDiff(lowLogits, merged);
    // Truncation moves the logits by far more than the fp32 noise, by the amount the report says.
    expect(moved).toBeGreaterThan(100 * fullGap);
    expect(report.validation_logits.examples).toBe(rows.length);
    expect(Math.abs(report.validation_logits.max_abs_change - moved)).toBeLessThan(1e-4 * scale);
    console.log(`LoRA on hf-tiny: full-rank gap ${fullGap.toExponential(2)} (logit scale ${scale.toFixed(3)}); r=2: truncation error ${report.overall_truncation_error.toFixed(3)}, max |Δlogit| ${moved.toExponential(3)} (reported ${report.validation_logits.max_abs_change.toExponential(3)})`);
  });
});
