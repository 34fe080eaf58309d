// Learning-rate schedules as Hugging Face's Trainer applies them with no warm-up: the t-th
// update (t from 1) uses the rate after t − 1 scheduler steps.
import type { TrainConfig } from './types.ts';

export function learningRate(config: Pick<TrainConfig, 'lr' | 'lrSchedule'>, step: number, totalSteps: number): number {
  if (config.lrSchedule === 'constant') return config.lr;
  return config.lr * Math.max(0, (totalSteps - (step - 1)) / totalSteps);
}
