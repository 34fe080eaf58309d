import { describe, expect, it } from 'vitest';
import { learningRate, warmupSteps } from './schedule.ts';

// Rates per update of a 10-step run at lr 0.02 with warmup_ratio 0.25 (3 warm-up steps), from
// transformers' lr_lambda formulas in Python (float64): what the Trainer's LambdaLR gives.
const HF = {
  linear: [0, 0.006666666666666666, 0.013333333333333332, 0.02, 0.017142857142857144, 0.014285714285714287, 0.011428571428571429, 0.008571428571428572, 0.005714285714285714, 0.002857142857142857],
  cosine: [0, 0.006666666666666666, 0.013333333333333332, 0.02, 0.01900968867902419, 0.016234898018587338, 0.012225209339563144, 0.007774790660436856, 0.0037651019814126654, 0.0009903113209758097],
  constant: [0, 0.006666666666666666, 0.013333333333333332, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02, 0.02],
} as const;

describe('learning-rate schedule', () => {
  it("follows the Trainer's schedules with warm-up, update by update", () => {
    for (const lrSchedule of ['linear', 'cosine', 'constant'] as const) {
      const rates = Array.from({ length: 10 }, (_, i) => learningRate({ lr: 0.02, lrSchedule, warmupRatio: 0.25 }, i + 1, 10));
      rates.forEach((rate, i) => expect(rate, `${lrSchedule}, update ${i + 1}`).toBeCloseTo(HF[lrSchedule][i], 16));
    }
  });

  it('without warm-up, decays linearly to lr/T at the last step and keeps a constant rate', () => {
    const config = { lr: 0.01, lrSchedule: 'linear' as const };
    expect(learningRate(config, 1, 4)).toBeCloseTo(0.01, 15);
    expect(learningRate(config, 4, 4)).toBeCloseTo(0.0025, 15);
    expect(learningRate({ ...config, lrSchedule: 'constant' }, 4, 4)).toBe(0.01);
    expect(learningRate({ ...config, lrSchedule: 'cosine' }, 1, 4)).toBe(0.01);
  });

  it("counts warm-up steps as the Trainer does: ceil(ratio · steps)", () => {
    expect(warmupSteps({ warmupRatio: 0.06 }, 100)).toBe(6);
    expect(warmupSteps({ warmupRatio: 0.06 }, 101)).toBe(7);
    expect(warmupSteps({}, 100)).toBe(0);
  });
});
