// The typed messages between the studio (main thread) and the engine worker. The UI only ever
// sees these: no GPU handles, no model tensors.

/** Paper §6.3 variants. */
export type Variant = 'sigma-attn' | 'sigma' | 'sigma-attn+bias' | 'no-avf' | 'vectorfit' | 'head';
export const VARIANTS: readonly Variant[] = ['vectorfit', 'no-avf', 'sigma', 'sigma-attn', 'sigma-attn+bias', 'head'];

/** The linears of a transformer layer that VectorFit factors. */
export type ModuleKind = 'q' | 'k' | 'v' | 'o' | 'f1' | 'f2';
export const MODULE_KINDS: readonly ModuleKind[] = ['q', 'k', 'v', 'o', 'f1', 'f2'];

/** A trainable vector of one layer: Σ or bias of one module. Rows of the strength heatmap. */
export interface VectorId {
  layer: number;
  module: ModuleKind;
  kind: 'sigma' | 'bias';
}
/** Heatmap row order: Σq Σk Σv Σo Σf1 Σf2 bq bk bv bo bf1 bf2. */
export const VECTOR_ROWS: readonly { kind: 'sigma' | 'bias'; module: ModuleKind }[] = [
  ...MODULE_KINDS.map((module) => ({ kind: 'sigma' as const, module })),
  ...MODULE_KINDS.map((module) => ({ kind: 'bias' as const, module })),
];

export interface AvfSettings {
  /** t_i: first AVF step. */
  start: number;
  /** t_f: steps between AVF steps. */
  interval: number;
  /** n_f: number of AVF steps. */
  count: number;
  /** k: vectors frozen at each AVF step. */
  k: number;
  /** EMA factor of the training strength (paper: 0.99). */
  beta: number;
}

export interface TrainConfig {
  variant: Variant;
  epochs: number;
  batchSize: number;
  lr: number;
  lrSchedule: 'constant' | 'linear';
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  avf: AvfSettings;
  seed: number;
  maxLength: number;
  /** Evaluate every N steps as well as after each epoch (0: only per epoch). */
  evalEvery: number;
  /** Early stopping: stop after this many evaluations without improvement (0 or absent: off). */
  patience?: number;
  /** Validation metric to watch for the best checkpoint and early stopping (absent: accuracy for
   * classification, pearson for regression; `loss` is the validation loss). */
  metric?: string;
}

export type Task = 'classification' | 'regression';

export interface Example {
  text: string;
  textPair?: string;
  /** Class index (classification) or target value (regression). */
  label: number;
}

export interface Dataset {
  task: Task;
  /** Class names, index = label (classification only). */
  labelNames: string[];
  train: Example[];
  validation: Example[];
  /** Shown in exports and logs. */
  name: string;
}

/** A dropped model folder: file name (relative path) → bytes. */
export interface ModelFiles {
  name: string;
  files: Record<string, ArrayBuffer>;
}

export interface ModelSummary {
  name: string;
  modelType: string;
  layers: number;
  hidden: number;
  totalParameters: number;
  /** Trainable under the chosen variant (Σ, biases, head). */
  trainableParameters: number;
  numLabels: number;
  /** Set when the checkpoint's head had another shape and was re-initialised: one line for the user. */
  headNote?: string;
}

export type EngineState = 'idle' | 'loading' | 'ready' | 'training' | 'paused' | 'stopped' | 'finished' | 'error';

export type ExportKind = 'vectors' | 'merged' | 'log' | 'lora';
/** Which parameters an export writes: the run's last, or its best checkpoint's (by the watched metric). */
export type ExportWhich = 'best' | 'last';

export type EngineRequest =
  | { type: 'load'; model: ModelFiles; dataset: Dataset; config: TrainConfig }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Resume a run from its last checkpoint (after a stop, an error or a lost device). */
  | { type: 'restore' }
  /** `rank`: the LoRA rank of a 'lora' export (absent: full rank). */
  | { type: 'export'; kind: ExportKind; which?: ExportWhich; rank?: number }
  | { type: 'predict'; id: number; text: string; textPair?: string };

export type EngineEvent =
  | { type: 'state'; state: EngineState }
  | { type: 'adapter'; name: string; isSoftware: boolean }
  | { type: 'progress'; phase: 'reading' | 'factoring' | 'tokenizing' | 'checkpoint'; done: number; total: number; message: string }
  | { type: 'model'; summary: ModelSummary; totalSteps: number }
  | { type: 'step'; step: number; totalSteps: number; epoch: number; loss: number; lr: number; stepsPerSecond: number; tokensPerSecond: number }
  /** Strength S_v (not the EMA) of every vector, layer-major in VECTOR_ROWS order; throttled. */
  | { type: 'strength'; step: number; layers: number; values: Float32Array; frozen: Uint8Array; trainable: Uint8Array }
  | { type: 'avf'; step: number; frozen: VectorId[]; released: VectorId[] }
  | { type: 'eval'; step: number; epoch: number; metrics: Record<string, number> }
  /** The watched metric improved: the best checkpoint is now this step's. */
  | { type: 'best'; step: number; metric: string; value: number }
  /** Early stopping ended the run at `step`: `patience` evaluations without improvement. */
  | { type: 'earlyStop'; step: number; metric: string; bestStep: number; best: number }
  /** ΔW's spectrum per module (see train/delta-spectrum.ts); with a `strength` event, at most once a second and at the last step. */
  | { type: 'deltaSpectrum'; step: number; modules: ModuleSpectrum[]; layers: LayerSigmaChange[] }
  | { type: 'prediction'; id: number; base: Prediction; tuned: Prediction }
  | { type: 'export'; kind: ExportKind; which?: ExportWhich; files: { name: string; bytes: ArrayBuffer }[] }
  | { type: 'error'; message: string; file?: string; recoverable: boolean };

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
