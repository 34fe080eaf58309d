// The run settings. They start from the paper's defaults for the dataset size (train/defaults.ts),
// or from a preset (the demo's manifest), and keep every value the user edited: a new dataset
// recomputes the rest. The AVF schedule follows epochs and the (effective) batch size until
// edited by hand.
import { create } from 'zustand';
import { defaultAvf, defaultConfig, effectiveBatch, stepsPerEpoch } from '../train/defaults.ts';
import type { AvfSettings, TrainConfig } from '../train/types.ts';

interface ConfigState {
  config: TrainConfig;
  trainExamples: number;
  /** Settings that come with the data (the demo's manifest); cleared by a new training set. */
  preset: Partial<TrainConfig>;
  /** Values the user set by hand; they survive a new dataset. */
  edited: Partial<TrainConfig>;
  /** The AVF fields were edited by hand (or preset): epochs/batch changes no longer recompute them. */
  avfEdited: boolean;
  /** Settings for a training set of this size: defaults, then the preset (if given, it replaces the old one), then the user's edits. */
  resetFor(trainExamples: number, preset?: Partial<TrainConfig>): void;
  /** A new training set: the old preset no longer applies. */
  clearPreset(): void;
  set<K extends Exclude<keyof TrainConfig, 'avf'>>(key: K, value: TrainConfig[K]): void;
  setAvf<K extends keyof AvfSettings>(key: K, value: AvfSettings[K]): void;
}

export const useConfig = create<ConfigState>()((set) => ({
  config: defaultConfig(0),
  trainExamples: 0,
  preset: {},
  edited: {},
  avfEdited: false,
  resetFor(trainExamples, preset) {
    set((s) => {
      const kept = preset ?? s.preset;
      const overrides = { ...kept, ...s.edited };
      return { config: defaultConfig(trainExamples, overrides), trainExamples, preset: kept, avfEdited: overrides.avf !== undefined };
    });
  },
  clearPreset() {
    set({ preset: {} });
  },
  set(key, value) {
    set((s) => {
      const config = { ...s.config, [key]: value };
      if ((key === 'epochs' || key === 'batchSize' || key === 'gradientAccumulation') && !s.avfEdited) {
        const epochSteps = stepsPerEpoch(s.trainExamples, effectiveBatch(config));
        config.avf = defaultAvf(config.epochs * epochSteps, epochSteps);
      }
      return { config, edited: { ...s.edited, [key]: value } };
    });
  },
  setAvf(key, value) {
    set((s) => {
      const avf = { ...s.config.avf, [key]: value };
      return { config: { ...s.config, avf }, edited: { ...s.edited, avf }, avfEdited: true };
    });
  },
}));

export function totalSteps(config: TrainConfig, trainExamples: number): number {
  return config.epochs * stepsPerEpoch(trainExamples, effectiveBatch(config));
}

/** The AVF steps the schedule plans: t_i + j·t_f, j = 0 … n_f − 1. */
export function plannedAvfSteps(avf: AvfSettings): number[] {
  return Array.from({ length: avf.count }, (_, j) => avf.start + j * avf.interval);
}
