// The three exports of a run: (a) the trained vectors with adapter_config.json, (b) the merged
// model under the original Hugging Face names, loadable by Hugging Face tools unchanged, and
// (c) the training log and strength history.
import { writeSafetensors, readSafetensors } from '../io/safetensors.ts';
import { finite as firstNonFinite } from '../kernels/finite.ref.ts';
import type { ExportKind, ExportWhich } from '../worker/protocol.ts';
import { deltaSpectrumJson } from './delta-spectrum.ts';
import type { Trainer } from './trainer.ts';

export interface ExportFile {
  name: string;
  bytes: ArrayBuffer;
}

export const VECTORS_FILE = 'vectorfit_vectors.safetensors';
export const ADAPTER_CONFIG_FILE = 'adapter_config.json';

const HF_CLASSES: Record<string, string> = {
  bert: 'BertForSequenceClassification',
  roberta: 'RobertaForSequenceClassification',
  distilbert: 'DistilBertForSequenceClassification',
};

export interface ExportOptions {
  /** 'best': the best checkpoint's parameters (by the watched validation metric); default 'last'. */
  which?: ExportWhich;
}

/** The state an export describes: its step and validation metrics. */
interface ExportedState {
  step: number;
  metrics: Record<string, number>;
  avfFrozen?: ArrayLike<number>;
}

export async function buildExport(trainer: Trainer, kind: ExportKind, options: ExportOptions = {}): Promise<ExportFile[]> {
  if (kind === 'log') return logExport(trainer);
  const build = (state: ExportedState) => (kind === 'vectors' ? vectorsExport(trainer, state) : mergedExport(trainer));
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
    num_labels: loaded.config.numLabels,
    labels: loaded.config.labelNames,
    target_modules: layout.layers.flatMap((l) => l.modules.map((m) => m.path)),
    head_modules: layout.head.map((h) => h.linear.path),
    trainable_parameters: trainer.summary().trainableParameters,
    avf: { t_i: config.avf.start, t_f: config.avf.interval, n_f: config.avf.count, k: config.avf.k, beta: config.avf.beta, frozen_at_end: frozen },
    training: {
      epochs: config.epochs, batch_size: config.batchSize, lr: config.lr, lr_schedule: config.lrSchedule,
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
  const config = {
    ...loaded.rawConfig,
    architectures: [HF_CLASSES[loaded.config.modelType]],
    num_labels: loaded.config.numLabels,
    id2label,
    label2id: Object.fromEntries(loaded.config.labelNames.map((label, i) => [label, i])),
    problem_type: loaded.config.problemType,
  };
  return [
    { name: 'model.safetensors', bytes: bytesOf(writeSafetensors(tensors, { format: 'pt' })) },
    { name: 'config.json', bytes: json(config) },
    ...Object.entries(loaded.tokenizerFiles).map(([name, bytes]) => ({ name, bytes })),
  ];
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
