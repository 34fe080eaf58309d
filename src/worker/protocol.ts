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

export type ExportKind = 'vectors' | 'merged' | 'log';

export type EngineRequest =
  | { type: 'load'; model: ModelFiles; dataset: Dataset; config: TrainConfig }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** Resume a run from its last checkpoint (after a stop, an error or a lost device). */
  | { type: 'restore' }
  | { type: 'export'; kind: ExportKind }
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
  | { type: 'prediction'; id: number; base: Prediction; tuned: Prediction }
  | { type: 'export'; kind: ExportKind; files: { name: string; bytes: ArrayBuffer }[] }
  | { type: 'error'; message: string; file?: string; recoverable: boolean };

export interface Prediction {
  /** Class probabilities (classification) or the predicted value (regression). */
  scores: number[];
  label: string;
}
