// The typed messages between the studio (main thread) and the engine worker. The UI only ever
// sees these: no GPU handles, no model tensors.

import type { Dataset, EncodedImage, ModelFiles } from '../io/types.ts';
import type { AnswerPrediction } from '../train/qa-metrics.ts';
import type { TrainConfig } from '../train/types.ts';
import type { ModuleKind, VectorId, VectorRow } from '../model/types.ts';

export interface ModelSummary {
  name: string;
  modelType: string;
  /** What the model reads: text (a tokenizer) or images (predict with 'predictImage'). */
  input: 'tokens' | 'pixels';
  layers: number;
  hidden: number;
  totalParameters: number;
  /** Trainable under the chosen variant (Σ, biases, head). */
  trainableParameters: number;
  numLabels: number;
  /** The strength heatmap's rows: Σ of each linear, then the biases this model has. */
  vectorRows: VectorRow[];
  /** Set when the checkpoint's head had another shape and was re-initialised: one line for the user. */
  headNote?: string;
  /** GPU memory the run holds once loaded (weights, factors, activations, optimizer), in bytes. */
  gpuBytes: number;
}

export type EngineState = 'idle' | 'loading' | 'ready' | 'training' | 'paused' | 'stopped' | 'finished' | 'error';

export type ExportKind = 'vectors' | 'merged' | 'log' | 'lora';
/** Which parameters an export writes: the run's last, or its best checkpoint's (by the watched metric). */
export type ExportWhich = 'best' | 'last';

export type EngineRequest =
  /** 'held': the model or Dataset the previous load sent. The page posts a model's files and a
   * Dataset when they change, not again with every settings edit (hundreds of MB, or a second of
   * the page's time for SQuAD's windows). */
  | { type: 'load'; model: ModelFiles | 'held'; dataset: Dataset | 'held'; config: TrainConfig }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Resume a run from its last checkpoint (after a stop, an error or a lost device). */
  | { type: 'restore' }
  /** `rank`: the LoRA rank of a 'lora' export (absent: full rank). */
  | { type: 'export'; kind: ExportKind; which?: ExportWhich; rank?: number }
  | { type: 'predict'; id: number; text: string; textPair?: string }
  /** A QA model answers `question` about `context`, base and fine-tuned (an 'answer' event). */
  | { type: 'answer'; id: number; context: string; question: string }
  /** A token classifier tags each word, base and fine-tuned (a 'tags' event). */
  | { type: 'tag'; id: number; words: string[] }
  /** An image model's prediction on one image (PNG or JPEG bytes: a dropped file, or a drawn
   * canvas as PNG); answered by a 'prediction' event with the same id. */
  | { type: 'predictImage'; id: number; image: EncodedImage }
  /** A causal LM continues `prompt`, base and fine-tuned side by side (token events). */
  | { type: 'generate'; id: number; prompt: string; settings: GenerateSettings }
  | { type: 'stopGenerate'; id: number };

export type EngineEvent =
  | { type: 'state'; state: EngineState }
  | { type: 'adapter'; name: string; isSoftware: boolean }
  | { type: 'progress'; phase: 'reading' | 'factoring' | 'tokenizing' | 'tuning' | 'checkpoint'; done: number; total: number; message: string }
  | { type: 'model'; summary: ModelSummary; totalSteps: number }
  /** gradNorm: the gradients' global L2 norm before clipping (absent from a run saved before the
   * engine reported it). */
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; gradNorm?: number; stepsPerSecond: number; tokensPerSecond: number }
  /** Strength S_v (not the EMA) of every vector, layer-major in `rows` order (the model's
   * vectors: Σ of each linear, then the biases it has); throttled. */
  | { type: 'strength'; step: number; layers: number; rows: VectorRow[]; values: Float32Array; frozen: Uint8Array; trainable: Uint8Array }
  | { type: 'avf'; step: number; frozen: VectorId[]; released: VectorId[] }
  | { type: 'eval'; step: number; epoch: number; metrics: Record<string, number> }
  /** The watched metric improved: the best checkpoint is now this step's. */
  | { type: 'best'; step: number; metric: string; value: number }
  /** Early stopping ended the run at `step`: `patience` evaluations without improvement. */
  | { type: 'earlyStop'; step: number; metric: string; bestStep: number; best: number }
  /** ΔW's spectrum per module (see train/delta-spectrum.ts); with a `strength` event, at most once a second and at the last step. */
  | { type: 'deltaSpectrum'; step: number; modules: ModuleSpectrum[]; layers: LayerSigmaChange[] }
  | { type: 'prediction'; id: number; base: Prediction; tuned: Prediction }
  | { type: 'answer'; id: number; base: AnswerPrediction; tuned: AnswerPrediction }
  /** One tag per word asked about (words past the max length are left out). */
  | { type: 'tags'; id: number; base: string[]; tuned: string[] }
  /** The next piece of a generation's text (empty while a character is partial). */
  | { type: 'token'; id: number; side: GenerationSide; text: string }
  /** One side of a generation ended: at EOS, at max tokens, or stopped. */
  | { type: 'generated'; id: number; side: GenerationSide; stop: 'eos' | 'length' | 'stopped'; tokens: number; tokensPerSecond: number }
  | { type: 'export'; kind: ExportKind; which?: ExportWhich; files: { name: string; bytes: ArrayBuffer }[] }
  | { type: 'error'; message: string; file?: string; recoverable: boolean };

/** Generation from the model as loaded (initial Σ) or as fine-tuned. */
export type GenerationSide = 'base' | 'tuned';

export interface GenerateSettings {
  maxNewTokens: number;
  /** 0: greedy. */
  temperature: number;
  /** Nucleus mass in (0, 1]. */
  topP: number;
  seed: number;
}

export interface Prediction {
  /** Class probabilities (classification) or the predicted value (regression). */
  scores: number[];
  label: string;
}

/** The spectrum of ΔW = U·diag(Σ − Σ₀)·Vᵀ of one module: its singular values are the sorted |ΔΣ|. */
export interface ModuleSpectrum {
  /** Module path, e.g. `bert.encoder.layer.0.attention.self.query`. */
  path: string;
  layer: number;
  module: ModuleKind;
  /** Singular values of ΔW, descending. */
  values: Float32Array;
  /** ‖ΔW‖_F = √Σ|ΔΣ|². */
  frobenius: number;
  /** exp(entropy of p = s/Σs) (Roy & Vetterli 2007), 0 for ΔW = 0: the figure the studio shows. */
  effectiveRank: number;
  /** Singular values above 1% of the largest. */
  rankAbove1Percent: number;
  /** Share of ‖ΔW‖²_F the top 1, 8 and 64 singular values carry (energy, Σ s² over the top k). */
  energyTop1: number;
  energyTop8: number;
  energyTop64: number;
}

/** Σ_t[i] − Σ₀[i] of the leading singular values (i < 4) of every module of one layer. */
export interface LayerSigmaChange {
  layer: number;
  /** By module kind: the first (up to) four entries of Σ_t − Σ₀, in Σ₀'s order (descending Σ₀). */
  change: Partial<Record<ModuleKind, number[]>>;
}

/** What an event hands over rather than copies when posted: an export's files and a strength
 * event's arrays, which the engine makes for that event alone. */
export function eventTransferables(event: EngineEvent): Transferable[] {
  if (event.type === 'export') return event.files.map((f) => f.bytes);
  if (event.type === 'strength') return [event.values.buffer, event.frozen.buffer, event.trainable.buffer];
  return [];
}
