// What a training run is asked to do: the variant and its hyperparameters.

/** Paper §6.3 variants, plus `head`, the baseline that trains the task head alone. */
export type Variant = 'sigma-attn' | 'sigma' | 'sigma-attn+bias' | 'no-avf' | 'vectorfit' | 'head';
export const VARIANTS: readonly Variant[] = ['vectorfit', 'no-avf', 'sigma', 'sigma-attn', 'sigma-attn+bias', 'head'];

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
  lrSchedule: 'constant' | 'linear' | 'cosine';
  /** Share of the run's steps over which the rate rises linearly from 0 (absent: none). */
  warmupRatio?: number;
  /** Clip each step's gradients to this global L2 norm, as Hugging Face's max_grad_norm
   * (absent or 0: no clipping). */
  maxGradNorm?: number;
  /** Micro-batches of batchSize per optimizer step, their gradients summed (Hugging Face's
   * gradient_accumulation_steps): an effective batch this many times larger in the memory of
   * one micro-batch. Absent: 1. */
  gradientAccumulation?: number;
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
