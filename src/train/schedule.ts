// Learning-rate schedules as Hugging Face's Trainer applies them (transformers' optimization.py:
// get_constant_schedule_with_warmup, get_linear_schedule_with_warmup,
// get_cosine_schedule_with_warmup with half a cycle). The t-th update (t from 1) uses the rate
// after t − 1 scheduler steps, so with warm-up the first update's rate is 0, as there.
import type { TrainConfig } from './types.ts';

export type LrSchedule = TrainConfig['lrSchedule'];
export const LR_SCHEDULES: readonly LrSchedule[] = ['linear', 'cosine', 'constant'];

/** Warm-up steps of a run: the Trainer's ceil(warmup_ratio · total steps). */
export function warmupSteps(config: Pick<TrainConfig, 'warmupRatio'>, totalSteps: number): number {
  return Math.ceil((config.warmupRatio ?? 0) * totalSteps);
}

export function learningRate(config: Pick<TrainConfig, 'lr' | 'lrSchedule' | 'warmupRatio'>, step: number, totalSteps: number): number {
  return config.lr * lrFactor(config.lrSchedule, step - 1, warmupSteps(config, totalSteps), totalSteps);
}

/** The Trainer's lr_lambda after `current` scheduler steps. */
function lrFactor(schedule: LrSchedule, current: number, warmup: number, total: number): number {
  if (current < warmup) return current / Math.max(1, warmup);
  switch (schedule) {
    case 'constant':
      return 1;
    case 'linear':
      return Math.max(0, (total - current) / Math.max(1, total - warmup));
    case 'cosine':
      return Math.max(0, 0.5 * (1 + Math.cos(Math.PI * ((current - warmup) / Math.max(1, total - warmup)))));
  }
}
