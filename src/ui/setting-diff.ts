// Which settings set compared runs apart, for the comparison table: every training setting whose
// value is not the same in all the runs (the variant has a column of its own). A setting a run
// was saved without reads as its default, so an older run compares as it trained.
import type { TrainConfig } from '../train/types.ts';

const SETTINGS: readonly { label: string; value: (c: TrainConfig) => string | number }[] = [
  { label: 'lr', value: (c) => c.lr },
  { label: 'schedule', value: (c) => c.lrSchedule },
  { label: 'warm-up', value: (c) => c.warmupRatio ?? 0 },
  { label: 'batch', value: (c) => c.batchSize },
  { label: 'accumulation', value: (c) => c.gradientAccumulation ?? 1 },
  { label: 'epochs', value: (c) => c.epochs },
  { label: 'clip', value: (c) => (c.maxGradNorm ? c.maxGradNorm : 'off') },
  { label: 'weight decay', value: (c) => c.weightDecay },
  { label: 'β1', value: (c) => c.beta1 },
  { label: 'β2', value: (c) => c.beta2 },
  { label: 'eps', value: (c) => c.eps },
  { label: 'max length', value: (c) => c.maxLength },
  { label: 'seed', value: (c) => c.seed },
  { label: 'tᵢ', value: (c) => c.avf.start },
  { label: 't_f', value: (c) => c.avf.interval },
  { label: 'n_f', value: (c) => c.avf.count },
  { label: 'k', value: (c) => c.avf.k },
  { label: 'AVF β', value: (c) => c.avf.beta },
  { label: 'eval every', value: (c) => c.evalEvery },
  { label: 'patience', value: (c) => c.patience ?? 0 },
  { label: 'metric', value: (c) => c.metric ?? 'default' },
];

/** Per run, "label value" for each setting that differs among `configs`. */
export function differingSettings(configs: readonly TrainConfig[]): string[][] {
  const differing = SETTINGS.filter((s) => new Set(configs.map((c) => s.value(c))).size > 1);
  return configs.map((c) => differing.map((s) => `${s.label} ${s.value(c)}`));
}
