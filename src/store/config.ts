// The run settings. They start from the paper's defaults for the dataset size (train/defaults.ts)
// and follow the user's edits; the AVF schedule follows epochs and batch size until edited by hand.
import { create } from 'zustand';
import { defaultAvf, defaultConfig, stepsPerEpoch } from '../train/defaults.ts';
import type { AvfSettings, TrainConfig } from '../train/types.ts';

interface ConfigState {
  config: TrainConfig;
  trainExamples: number;
  /** The AVF fields were edited by hand: epochs/batch changes no longer recompute them. */
  avfEdited: boolean;
  /** Fresh defaults for a new training set (the demo passes its manifest's settings). */
  resetFor(trainExamples: number, overrides?: Partial<TrainConfig>): void;
  set<K extends Exclude<keyof TrainConfig, 'avf'>>(key: K, value: TrainConfig[K]): void;
  setAvf<K extends keyof AvfSettings>(key: K, value: AvfSettings[K]): void;
}

export const useConfig = create<ConfigState>()((set) => ({
  config: defaultConfig(0),
  trainExamples: 0,
  avfEdited: false,
  resetFor(trainExamples, overrides = {}) {
    set({ config: defaultConfig(trainExamples, overrides), trainExamples, avfEdited: overrides.avf !== undefined });
  },
  set(key, value) {
    set((s) => {
      const config = { ...s.config, [key]: value };
      if ((key === 'epochs' || key === 'batchSize') && !s.avfEdited) {
        const epochSteps = stepsPerEpoch(s.trainExamples, config.batchSize);
        config.avf = defaultAvf(config.epochs * epochSteps, epochSteps);
      }
      return { config };
    });
  },
  setAvf(key, value) {
    set((s) => ({ config: { ...s.config, avf: { ...s.config.avf, [key]: value } }, avfEdited: true }));
  },
}));

export function totalSteps(config: TrainConfig, trainExamples: number): number {
  return config.epochs * stepsPerEpoch(trainExamples, config.batchSize);
}

/** The AVF steps the schedule plans: t_i + j·t_f, j = 0 … n_f − 1. */
export function plannedAvfSteps(avf: AvfSettings): number[] {
  return Array.from({ length: avf.count }, (_, j) => avf.start + j * avf.interval);
}
