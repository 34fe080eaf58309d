// The typed messages between the studio (main thread) and the engine worker. The UI only ever
// sees these: no GPU handles, no model tensors.

import type { Dataset, ModelFiles } from '../io/types.ts';
import type { TrainConfig } from '../train/types.ts';
import type { VectorId, VectorRow } from '../model/types.ts';

export interface ModelSummary {
  name: string;
  modelType: string;
  layers: number;
  hidden: number;
  totalParameters: number;
  /** Trainable under the chosen variant (Σ, biases, head). */
  trainableParameters: number;
  numLabels: number;
  /** The strength heatmap's rows: Σ of each linear, then the biases this model has. */
  vectorRows: VectorRow[];
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
  /** Strength S_v (not the EMA) of every vector, layer-major in `rows` order (the model's
   * vectors: Σ of each linear, then the biases it has); throttled. */
  | { type: 'strength'; step: number; layers: number; rows: VectorRow[]; values: Float32Array; frozen: Uint8Array; trainable: Uint8Array }
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
