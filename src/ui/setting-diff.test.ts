import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../train/defaults.ts';
import { differingSettings } from './setting-diff.ts';

describe('differingSettings', () => {
  it('names only the settings that differ, per run, reading a missing setting as its default', () => {
    const base = defaultConfig(1000);
    const older = { ...base };
    delete older.warmupRatio;
    const configs = [older, { ...base, warmupRatio: 0.1, lr: 0.01 }, { ...base, lr: 0.01, variant: 'no-avf' as const, avf: { ...base.avf, k: 3 } }];
    expect(differingSettings(configs)).toEqual([
      ['lr 0.001', 'warm-up 0', 'k 5'],
      ['lr 0.01', 'warm-up 0.1', 'k 5'],
      ['lr 0.01', 'warm-up 0', 'k 3'],
    ]);
  });

  it('finds nothing between runs of the same settings (the variant has its own column)', () => {
    const base = defaultConfig(1000);
    expect(differingSettings([base, { ...base, variant: 'sigma', gradientAccumulation: 1 }])).toEqual([[], []]);
  });
});
