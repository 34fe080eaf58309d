import { describe, expect, it } from 'vitest';
import { accuracy, averageRanks, improves, TASK_METRICS, macroF1, matthewsCorrelation, meanSquaredError, pearson, spearman, taskMetrics, validationLoss } from './metrics.ts';

// Expected values are worked by hand (in the comments) from the definitions sklearn/SciPy use;
// 1e-12 is float64 rounding over a handful of terms.
const close = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 12);

// Three classes: gold row, pred column. Class 0: tp 1, |true| 2, |pred| 2; class 1: tp 2, 3, 2;
// class 2: tp 1, 1, 2.
const PRED = [0, 0, 1, 1, 2, 2];
const GOLD = [0, 1, 1, 1, 2, 0];

describe('metrics', () => {
  it('accuracy is the fraction of exact matches', () => {
    close(accuracy([0, 1, 1, 0], [0, 1, 0, 0]), 0.75);
    expect(() => accuracy([0], [0, 1])).toThrow(/1 predictions for 2 targets/);
  });

  it('macro F1 averages 2·tp/(|true|+|pred|) over the classes that occur, as sklearn average="macro"', () => {
    // (2/4 + 4/5 + 2/3) / 3
    close(macroF1(PRED, GOLD, 3), (0.5 + 0.8 + 2 / 3) / 3);
    // A fourth class absent from both sides is not averaged in (sklearn's default labels).
    close(macroF1(PRED, GOLD, 4), (0.5 + 0.8 + 2 / 3) / 3);
    // A class only ever predicted scores 0: gold all 0, pred half 1 → (2·2/(4+2) + 0) / 2.
    close(macroF1([0, 0, 1, 1], [0, 0, 0, 0], 2), (2 / 3 + 0) / 2);
    expect(() => macroF1([0, 3], [0, 1], 3)).toThrow(/class 3 at index 1/);
  });

  it('Matthews correlation: binary φ, the multi-class R_K, and 0 for constant predictions', () => {
    // TP 2, FP 1, TN 2, FN 0: (2·2 − 1·0)/√(3·2·3·2) = 4/6.
    close(matthewsCorrelation([1, 1, 0, 0, 1], [1, 0, 0, 0, 1]), 2 / 3);
    // c = 4, s = 6, t = (2,3,1), p = (2,2,2): (24 − 12)/√((36 − 12)(36 − 14)).
    close(matthewsCorrelation(PRED, GOLD), 12 / Math.sqrt(24 * 22));
    close(matthewsCorrelation([1, 0, 1, 0], [1, 0, 1, 0]), 1);
    close(matthewsCorrelation([0, 1, 0, 1], [1, 0, 1, 0]), -1);
    expect(matthewsCorrelation([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0);
    expect(matthewsCorrelation([0, 1, 0, 1], [1, 1, 1, 1])).toBe(0);
  });

  it('Pearson r and its undefined case (a constant side gives NaN, as SciPy)', () => {
    // dx = (−1.5, −.5, .5, 1.5), dy = (−3, −1, 0, 4): 11/√(5·26).
    close(pearson([1, 2, 3, 4], [2, 4, 5, 9]), 11 / Math.sqrt(130));
    close(pearson([1, 2, 3], [6, 4, 2]), -1);
    expect(pearson([2, 2, 2], [1, 2, 3])).toBeNaN();
  });

  it('Spearman ρ ranks ties by their average rank, as scipy.stats.spearmanr', () => {
    expect(Array.from(averageRanks([10, 20, 10, 30, 20, 20]))).toEqual([1.5, 4, 1.5, 6, 4, 4]);
    // ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): 4.5/√(4.5·5).
    close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 4.5 / Math.sqrt(22.5));
    // Monotone but not linear: ρ = 1 while r < 1.
    close(spearman([1, 2, 3, 4], [1, 8, 27, 64]), 1);
    expect(spearman([5, 5, 5], [1, 2, 3])).toBeNaN();
  });

  it('taskMetrics picks accuracy/macro_f1/mcc for classification and pearson/spearman/mse for regression', () => {
    const c = taskMetrics('classification', 3, PRED, GOLD);
    expect(Object.keys(c)).toEqual(['accuracy', 'macro_f1', 'mcc']);
    close(c.accuracy, 4 / 6);
    const r = taskMetrics('regression', 1, [1, 2, 3, 4], [2, 4, 5, 9]);
    expect(Object.keys(r)).toEqual(['pearson', 'spearman', 'mse']);
    // (1 + 4 + 4 + 25) / 4
    close(r.mse, 8.5);
    close(meanSquaredError([0.5], [0]), 0.25);
    close(r.spearman, 1);
  });

  it('validation loss is the mean cross-entropy of the logits (classification) or the MSE (regression)', () => {
    // Row 0: logits (0, ln 3), gold 1 → −ln(3/4); row 1: (1000, 1000), gold 0 → ln 2 (no overflow).
    close(validationLoss('classification', 2, [0, Math.log(3), 1000, 1000], [1, 0]), (-Math.log(3 / 4) + Math.log(2)) / 2);
    close(validationLoss('regression', 1, [1, 2], [0, 0]), 2.5);
    expect(() => validationLoss('classification', 3, [0, 1], [0])).toThrow(/2 logits for 1 targets × 3 labels/);
  });

  it('TASK_METRICS names exactly what an evaluation reports', () => {
    expect([...Object.keys(taskMetrics('classification', 2, [0, 1], [0, 1])), 'loss']).toEqual(TASK_METRICS.classification);
    expect([...Object.keys(taskMetrics('regression', 1, [0, 1], [0, 1])), 'loss']).toEqual(TASK_METRICS.regression);
  });

  it('early stopping compares in each metric’s direction, strictly, and NaN never improves', () => {
    expect(improves('accuracy', 0.8, 0.7)).toBe(true);
    expect(improves('accuracy', 0.7, 0.7)).toBe(false);
    expect(improves('loss', 0.5, 0.6)).toBe(true);
    expect(improves('mse', 0.7, 0.6)).toBe(false);
    expect(improves('pearson', NaN, 0.1)).toBe(false);
    expect(improves('pearson', 0.1, undefined)).toBe(true);
    expect(improves('pearson', -0.5, NaN)).toBe(true);
  });
});
