// The exports of a run: (a) the trained vectors with adapter_config.json, (b) the merged
// model under the original Hugging Face names, loadable by Hugging Face tools unchanged, (c) the
// training log, strength history and ΔW spectrum, and (d) a PEFT LoRA adapter of rank r.
import { readTensor } from '../gpu/readback.ts';
import { writeSafetensors, readSafetensors } from '../io/safetensors.ts';
import { finite as firstNonFinite } from '../kernels/finite.ref.ts';
import type { ExportKind, ExportWhich } from '../worker/protocol.ts';
import { deltaSpectrumJson } from './delta-spectrum.ts';
import { inputFiles } from './load.ts';
import { loraFactors, relativeTruncationError, truncatedSigma } from './lora.ts';
import type { ModelConfig } from '../model/config.ts';
import { headClassSuffix } from '../model/task.ts';
import type { Trainer } from './trainer.ts';

export interface ExportFile {
  name: string;
  bytes: ArrayBuffer;
}

export const VECTORS_FILE = 'vectorfit_vectors.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

/** The Hugging Face class a merged export loads as, by model_type. */
const HF_CLASSES: Record<string, string> = {
  bert: 'BertForSequenceClassification',
  roberta: 'RobertaForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
  vit: 'ViTForImageClassification',
  'deberta-v2': 'DebertaV2ForSequenceClassification',
  llama: 'LlamaForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
};

/** An encoder's class follows its trained head (BertForQuestionAnswering, …ForTokenClassification). */
function hfClass(config: ModelConfig): string {
  const name = HF_CLASSES[config.modelType];
  if (!name) throw new Error(`merged export: no Hugging Face class is known for model_type ${config.modelType}`);
  return name.replace(/ForSequenceClassification$/, headClassSuffix(config.headTask));
}

export interface ExportOptions {
  /** 'best': the best checkpoint's parameters (by the watched validation metric); default 'last'. */
  which?: ExportWhich;
  /** LoRA rank (kind 'lora'); default: the largest module rank, which is exact. */
  rank?: number;
}

/** The state an export describes: its step and validation metrics. */
interface ExportedState {
  step: number;
  metrics: Record<string, number>;
  avfFrozen?: ArrayLike<number>;
}

export async function buildExport(trainer: Trainer, kind: ExportKind, options: ExportOptions = {}): Promise<ExportFile[]> {
  if (kind === 'log') return logExport(trainer);
  const build = (state: ExportedState) =>
    kind === 'vectors' ? vectorsExport(trainer, state) : kind === 'merged' ? mergedExport(trainer) : loraExport(trainer, state, options.rank);
  if (options.which !== 'best') return build({ step: trainer.step, metrics: trainer.lastMetrics });
  const best = trainer.best;
  if (!best) throw new Error('best export: there is no best checkpoint yet (it is taken at the first evaluation on validation data)');
  return trainer.withBestParameters(() => build({ step: best.step, metrics: best.metrics, avfFrozen: best.avfFrozen }));
}

/** A diverged run must not leave NaN or ±Inf in a file someone loads later. */
export function assertFiniteTensors(tensors: Iterable<{ name: string; data: ArrayLike<number> }>, what: string): void {
  for (const { name, data } of tensors) {
    const bad = firstNonFinite(data);
    if (bad >= 0) throw new Error(`${what} export refused: ${name}[${bad}] is ${data[bad]} (the run diverged; restore the last checkpoint first)`);
  }
}

function bytesOf(data: Uint8Array): ArrayBuffer {
  return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer;
}

function json(value: unknown): ArrayBuffer {
  return bytesOf(new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`));
}

async function vectorsExport(trainer: Trainer, state: ExportedState): Promise<ExportFile[]> {
  const tensors = await trainer.trainedTensors();
  const { config, loaded, dataset } = trainer;
  const layout = loaded.weights.layout;
  assertFiniteTensors([...tensors].map(([name, t]) => ({ name, data: t.data })), 'vectors');
  const safetensors = writeSafetensors(
    [...tensors].map(([name, t]) => ({ name, dtype: 'F32' as const, shape: t.shape, data: t.data })),
    { format: 'vectorfit', base_model: loaded.name, variant: config.variant },
  );
  const frozen = trainer.frozenVectorNames(state.avfFrozen);
  const adapterConfig = {
    method: 'vectorfit',
    variant: config.variant,
    base_model: loaded.name,
    base_model_sha256: loaded.weightsSha256,
    model_type: loaded.config.modelType,
    task: dataset.task,
    // A causal LM's outputs are its vocabulary: no labels to name.
    ...(dataset.task === 'causal-lm' ? {} : { num_labels: loaded.config.numLabels, labels: loaded.config.labelNames }),
    target_modules: layout.layers.flatMap((l) => l.modules.map((m) => m.path)),
    head_modules: layout.head.map((h) => h.linear.path),
    trainable_parameters: trainer.summary().trainableParameters,
    avf: { t_i: config.avf.start, t_f: config.avf.interval, n_f: config.avf.count, k: config.avf.k, beta: config.avf.beta, frozen_at_end: frozen },
    training: {
      epochs: config.epochs, batch_size: config.batchSize, gradient_accumulation_steps: config.gradientAccumulation ?? 1, lr: config.lr, lr_schedule: config.lrSchedule, warmup_ratio: config.warmupRatio ?? 0, max_grad_norm: config.maxGradNorm || null,
      betas: [config.beta1, config.beta2], eps: config.eps, weight_decay: config.weightDecay, seed: config.seed,
      max_length: config.maxLength, steps: state.step, dataset: dataset.name,
    },
    metrics: state.metrics,
    watched_metric: trainer.watchedMetric,
  };
  return [
    { name: VECTORS_FILE, bytes: bytesOf(safetensors) },
    { name: ADAPTER_CONFIG_FILE, bytes: json(adapterConfig) },
  ];
}

async function mergedExport(trainer: Trainer): Promise<ExportFile[]> {
  const { loaded } = trainer;
  const trained = await trainer.trainedTensors();
  const merged = await trainer.model.mergedWeights();
  const layout = loaded.weights.layout;
  const moduleBias = new Map(layout.layers.flatMap((l) => l.modules.map((m) => [m.bias, m.biasName] as const)));
  const tensors = [...loaded.weights.tensors].map(([name, t]) => {
    const data = merged.get(name) ?? trained.get(moduleBias.get(name) ?? name)?.data ?? t.data;
    return { name, dtype: 'F32' as const, shape: t.shape, data };
  });
  assertFiniteTensors(tensors, 'merged');
  const id2label = Object.fromEntries(loaded.config.labelNames.map((label, i) => [String(i), label]));
  // A causal LM keeps its config as dropped (a tied head stays tied: the checkpoint's tensors,
  // with no lm_head.weight where it had none); a classifier gets the trained labels.
  const config =
    trainer.dataset.task === 'causal-lm'
      ? { ...loaded.rawConfig, architectures: [hfClass(loaded.config)] }
      : {
          ...loaded.rawConfig,
          architectures: [hfClass(loaded.config)],
          num_labels: loaded.config.numLabels,
          id2label,
          label2id: Object.fromEntries(loaded.config.labelNames.map((label, i) => [label, i])),
          problem_type: loaded.config.problemType,
        };
  return [
    { name: 'model.safetensors', bytes: bytesOf(writeSafetensors(tensors, { format: 'pt' })) },
    { name: 'config.json', bytes: json(config) },
    // Copies: an export's bytes are handed over (transferred to the page), the model's stay held.
    ...Object.entries(inputFiles(loaded)).map(([name, bytes]) => ({ name, bytes: bytes.slice(0) })),
  ];
}

/** PEFT's task type: CAUSAL_LM, SEQ_CLS for a text classifier; none for an image classifier
 * (PEFT has no image task type: its ViT recipe leaves it unset, so PeftModel forwards
 * pixel_values untouched, and saves the classifier through modules_to_save). */
function peftTaskType(trainer: Trainer): string | null {
  if (trainer.dataset.task === 'causal-lm') return 'CAUSAL_LM';
  return trainer.loaded.input === 'pixels' ? null : 'SEQ_CLS';
}

export const DELTA_SPECTRUM_FILE = 'delta-spectrum.json';

async function logExport(trainer: Trainer): Promise<ExportFile[]> {
  const lines = (rows: unknown[]) => bytesOf(new TextEncoder().encode(rows.map((r) => JSON.stringify(r)).join('\n') + '\n'));
  return [
    { name: 'training_log.jsonl', bytes: lines(trainer.log) },
    { name: 'strength_history.jsonl', bytes: lines(trainer.strengthHistory) },
    { name: DELTA_SPECTRUM_FILE, bytes: bytesOf(new TextEncoder().encode(deltaSpectrumJson(await trainer.deltaSpectrum()))) },
  ];
}

/** Reads exported vectors back: every trainable tensor of the run, by export name. */
export function readVectorsExport(bytes: ArrayBuffer | Uint8Array, fileName = VECTORS_FILE): Map<string, Float32Array> {
  const file = readSafetensors(bytes, fileName);
  return new Map([...file.tensors].map(([name, t]) => [name, Float32Array.from(t.data)]));
}

export const LORA_FILE = 'adapter_model.safetensors';
export const LORA_REPORT_FILE = 'lora_report.json';
/** Validation examples the LoRA report runs through both models, at most. */
const LORA_REPORT_EXAMPLES = 1000;

const LORA_BIAS_NOTE =
  'VectorFit also trains the biases of the adapted linears, which a LoRA update B·A cannot carry. ' +
  'They are written with bias "all" under PEFT\'s key for the wrapped linear\'s bias ' +
  '(base_model.model.<module>.base_layer.bias), which PEFT loads; a tool that reads only lora_A/lora_B ' +
  'drops them and gets a different model. The head (and pooler) are written in full as modules_to_save. ' +
  'The merged export is the exact model.';

/**
 * PEFT's LoRA layout: `adapter_model.safetensors` with `base_model.model.<module>.lora_A.weight`
 * [r, in] and `.lora_B.weight` [out, r] per factored module, the module biases as
 * `<module>.base_layer.bias` (bias "all"), the head under its own names (modules_to_save, saved
 * without PEFT's in-memory `modules_to_save.default` infix), and `adapter_config.json`. Beside
 * them, `lora_report.json`: the truncation error per module and overall, and how far the
 * validation logits of the rank-r model move from the full model's.
 */
async function loraExport(trainer: Trainer, state: ExportedState, rank?: number): Promise<ExportFile[]> {
  const { loaded } = trainer;
  const layout = loaded.weights.layout;
  const modules = layout.layers.flatMap((l) => l.modules);
  const r = rank ?? Math.max(...modules.map((m) => m.rank));
  if (!Number.isInteger(r) || r < 1) throw new Error(`LoRA export: the rank must be a positive integer, got ${rank}`);
  const pairs = new Map((await trainer.sigmaPairs()).map((p) => [p.path, p]));
  const factors = await trainer.model.readFactors();
  const trained = await trainer.trainedTensors();
  const prefix = 'base_model.model.';
  const tensors: { name: string; dtype: 'F32'; shape: number[]; data: Float32Array }[] = [];
  const report: { path: string; rank: number; kept: number; truncation_error: number; delta_frobenius: number }[] = [];
  let energy = 0;
  let dropped = 0;
  for (const m of modules) {
    const pair = pairs.get(m.path)!;
    const f = factors.get(m.path)!;
    const lora = loraFactors({ u: f.u, v: f.v, sigma: pair.sigma, initial: pair.initial, dOut: m.dOut, dIn: m.dIn, rank: m.rank }, r);
    tensors.push(
      { name: `${prefix}${m.path}.lora_A.weight`, dtype: 'F32', shape: [r, m.dIn], data: lora.a },
      { name: `${prefix}${m.path}.lora_B.weight`, dtype: 'F32', shape: [m.dOut, r], data: lora.b },
    );
    if (m.biasName) tensors.push({ name: `${prefix}${m.path}.base_layer.bias`, dtype: 'F32', shape: [m.dOut], data: trained.get(m.biasName)!.data });
    energy += lora.energy;
    dropped += lora.dropped;
    report.push({ path: m.path, rank: m.rank, kept: lora.kept, truncation_error: relativeTruncationError(lora.energy, lora.dropped), delta_frobenius: Math.sqrt(lora.energy) });
  }
  // The head goes in full where it was trained (a causal LM's lm_head is frozen by default).
  const savedHead = layout.head.filter(({ linear }) => trained.has(linear.weight));
  for (const { linear } of savedHead) {
    for (const name of [linear.weight, linear.bias]) {
      if (name === null) continue;
      const t = trained.get(name)!;
      tensors.push({ name: `${prefix}${name}`, dtype: 'F32', shape: t.shape, data: t.data });
    }
  }
  assertFiniteTensors(tensors, 'LoRA');
  const adapterConfig = {
    peft_type: 'LORA',
    task_type: peftTaskType(trainer),
    base_model_name_or_path: loaded.name,
    r,
    lora_alpha: r,
    lora_dropout: 0,
    target_modules: modules.map((m) => m.path),
    bias: 'all',
    modules_to_save: savedHead.map((h) => h.linear.path),
    fan_in_fan_out: false,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    inference_mode: true,
  };
  // One label per text: compare logits; token-level tasks (causal LM, QA, NER): the validation loss.
  const perText = trainer.dataset.task === 'classification' || trainer.dataset.task === 'regression';
  const logits = perText ? await loraLogitChange(trainer, r) : null;
  const lmLoss = perText ? null : await loraLossChange(trainer, r);
  const reportJson = {
    r,
    step: state.step,
    overall_truncation_error: relativeTruncationError(energy, dropped),
    validation_logits: logits,
    validation_loss: lmLoss,
    modules: report,
    definitions: {
      truncation_error: '‖ΔW − B·A‖_F / ‖ΔW‖_F per module; overall: the same over all modules together',
      validation_logits: 'rank-r model against the full trained model on the validation examples: max |Δlogit| and ‖Δlogits‖ / ‖logits‖',
      validation_loss: 'causal LMs: validation loss per predicted token of the full trained model and of the rank-r model',
    },
    note: LORA_BIAS_NOTE,
  };
  return [
    { name: LORA_FILE, bytes: bytesOf(writeSafetensors(tensors, { format: 'pt' })) },
    { name: ADAPTER_CONFIG_FILE, bytes: json(adapterConfig) },
    { name: LORA_REPORT_FILE, bytes: json(reportJson) },
  ];
}

/** Parameters with every Σ cut to its rank-r update (what the LoRA adapter carries). */
async function truncatedParameters(trainer: Trainer, r: number): Promise<Float32Array> {
  const params = await readTensor(trainer.gpu.device, trainer.model.paramsTensor);
  for (const p of await trainer.sigmaPairs()) {
    const entry = trainer.model.params.entries.find((e) => e.name === `${p.path}.sigma`)!;
    params.set(truncatedSigma(p.sigma, p.initial, r), entry.offset);
  }
  return params;
}

/** A token-level task's validation loss (causal LM, QA, NER), full and at rank r (null without validation data). */
async function loraLossChange(trainer: Trainer, r: number): Promise<{ full: number; rank_r: number } | null> {
  if (!trainer.dataset.validation.length) return null;
  const full = (await trainer.evaluate()).loss;
  const truncated = await trainer.withParameters(await truncatedParameters(trainer, r), () => trainer.evaluate());
  return { full, rank_r: truncated.loss };
}

/** How far the rank-r model's validation logits are from the full model's (null without validation data). */
async function loraLogitChange(trainer: Trainer, r: number): Promise<{ examples: number; max_abs_change: number; relative_change: number } | null> {
  const examples = trainer.dataset.validation.slice(0, LORA_REPORT_EXAMPLES);
  if (!examples.length) return null;
  const full = await trainer.logits(examples);
  const truncated = await trainer.withParameters(await truncatedParameters(trainer, r), () => trainer.logits(examples));
  let maxAbs = 0;
  let diff = 0;
  let size = 0;
  for (let i = 0; i < full.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(truncated[i] - full[i]));
    diff += (truncated[i] - full[i]) ** 2;
    size += full[i] ** 2;
  }
  return { examples: examples.length, max_abs_change: maxAbs, relative_change: size > 0 ? Math.sqrt(diff / size) : 0 };
}
