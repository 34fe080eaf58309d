// Default run settings from the dataset size, following the paper (App. C): AdamW 0.9/0.999,
// no warm-up, no weight decay, lr 1e-3, batch 32, k = 5, t_i ≈ a third of all steps, t_f ≈ one
// epoch of steps, and n_f such that AVF ends well before training does.
import type { AvfSettings, TrainConfig } from './types.ts';

export const PAPER_DEFAULTS = {
  lr: 1e-3,
  batchSize: 32,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
  weightDecay: 0,
  k: 5,
  beta: 0.99,
} as const;

/** Examples per optimizer step: the batch size times the micro-batches accumulated. */
export function effectiveBatch(config: Pick<TrainConfig, 'batchSize' | 'gradientAccumulation'>): number {
  return config.batchSize * (config.gradientAccumulation ?? 1);
}

export function stepsPerEpoch(trainExamples: number, batchSize: number): number {
  return Math.max(1, Math.ceil(trainExamples / batchSize));
}

/** AVF schedule for a run of `totalSteps` with `epochSteps` per epoch. */
export function defaultAvf(totalSteps: number, epochSteps: number): AvfSettings {
  const start = Math.max(1, Math.round(totalSteps / 3));
  // One epoch between AVF steps, but at least 4 AVF steps fit in short (one- or two-epoch) runs.
  const interval = Math.max(1, Math.min(epochSteps, Math.floor((totalSteps - start) / 5)));
  // Stop freezing-and-releasing with at least a sixth of the run left.
  const room = Math.floor((totalSteps * (5 / 6) - start) / interval) + 1;
  return { start, interval, count: Math.max(1, Math.min(room, 8)), k: PAPER_DEFAULTS.k, beta: PAPER_DEFAULTS.beta };
}

/** Epochs: the paper's 30 for small GLUE tasks, fewer as the dataset grows. */
export function defaultEpochs(trainExamples: number): number {
  if (trainExamples <= 2_000) return 10;
  if (trainExamples <= 20_000) return 3;
  return 1;
}

export function defaultConfig(trainExamples: number, overrides: Partial<TrainConfig> = {}): TrainConfig {
  const batchSize = overrides.batchSize ?? PAPER_DEFAULTS.batchSize;
  const epochs = overrides.epochs ?? defaultEpochs(trainExamples);
  const epochSteps = stepsPerEpoch(trainExamples, effectiveBatch({ batchSize, gradientAccumulation: overrides.gradientAccumulation }));
  return {
    variant: 'vectorfit',
    epochs,
    batchSize,
    lr: PAPER_DEFAULTS.lr,
    lrSchedule: 'linear',
    beta1: PAPER_DEFAULTS.beta1,
    beta2: PAPER_DEFAULTS.beta2,
    eps: PAPER_DEFAULTS.eps,
    weightDecay: PAPER_DEFAULTS.weightDecay,
    avf: defaultAvf(epochs * epochSteps, epochSteps),
    seed: 42,
    maxLength: 128,
    evalEvery: 0,
    ...overrides,
  };
}
