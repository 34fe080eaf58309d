// Evaluation metrics, computed on the CPU from predicted classes / values, following
// scikit-learn and SciPy so numbers compare directly with a Python run. Accumulation is float64.
// Undefined values (an empty set, Pearson of a constant) are NaN, never a made-up 0: a chart or
// a table should show "—" rather than a correlation nobody measured.

import type { Task } from '../io/types.ts';
import { unreachable } from '../util/unreachable.ts';

/** Tasks with one label per text (their metrics are here; token-level tasks have their own). */
export type SentenceTask = Extract<Task, 'classification' | 'regression'>;

type Values = ArrayLike<number>;

function checkLengths(a: Values, b: Values, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: ${a.length} predictions for ${b.length} targets`);
}

export function accuracy(pred: Values, gold: Values): number {
  checkLengths(pred, gold, 'accuracy');
  let correct = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === gold[i]) correct++;
  return correct / pred.length;
}

/** Confusion matrix C[true][pred] over classes 0 … numClasses−1. */
function confusion(pred: Values, gold: Values, numClasses: number, what: string): Float64Array[] {
  checkLengths(pred, gold, what);
  const c = Array.from({ length: numClasses }, () => new Float64Array(numClasses));
  for (let i = 0; i < pred.length; i++) {
    for (const k of [gold[i], pred[i]]) {
      if (!Number.isInteger(k) || k < 0 || k >= numClasses) throw new Error(`${what}: class ${k} at index ${i} is not in 0…${numClasses - 1}`);
    }
    c[gold[i]][pred[i]]++;
  }
  return c;
}

/**
 * sklearn's `f1_score(gold, pred, average='macro')`: the mean F1 over the classes that occur in
 * gold or pred (a class absent from both is not averaged in); a class predicted but never true
 * (or the reverse) scores 0.
 */
export function macroF1(pred: Values, gold: Values, numClasses: number): number {
  const c = confusion(pred, gold, numClasses, 'macroF1');
  let sum = 0;
  let classes = 0;
  for (let k = 0; k < numClasses; k++) {
    let truth = 0;
    let predicted = 0;
    for (let j = 0; j < numClasses; j++) {
      truth += c[k][j];
      predicted += c[j][k];
    }
    if (truth + predicted === 0) continue;
    classes++;
    // F1 = 2·tp / (|true| + |pred|): the same as 2PR/(P+R), and 0 (not NaN) when tp = 0.
    sum += (2 * c[k][k]) / (truth + predicted);
  }
  return classes === 0 ? NaN : sum / classes;
}

/**
 * Matthews correlation, sklearn's multi-class form (Gorodkin's R_K), equal to the binary φ for two
 * classes: (c·s − Σ p_k t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)). 0 when either side is constant,
 * as sklearn returns.
 */
export function matthewsCorrelation(pred: Values, gold: Values): number {
  checkLengths(pred, gold, 'matthewsCorrelation');
  let numClasses = 0;
  for (let i = 0; i < pred.length; i++) numClasses = Math.max(numClasses, pred[i] + 1, gold[i] + 1);
  const c = confusion(pred, gold, numClasses, 'matthewsCorrelation');
  const t = new Float64Array(numClasses);
  const p = new Float64Array(numClasses);
  let correct = 0;
  for (let k = 0; k < numClasses; k++) {
    correct += c[k][k];
    for (let j = 0; j < numClasses; j++) {
      t[k] += c[k][j];
      p[k] += c[j][k];
    }
  }
  const s = pred.length;
  let pt = 0;
  let pp = 0;
  let tt = 0;
  for (let k = 0; k < numClasses; k++) {
    pt += p[k] * t[k];
    pp += p[k] * p[k];
    tt += t[k] * t[k];
  }
  const denominator = Math.sqrt((s * s - pp) * (s * s - tt));
  return denominator === 0 ? 0 : (correct * s - pt) / denominator;
}

/** Pearson's r; NaN when either side is constant (SciPy warns and returns nan too). */
export function pearson(x: Values, y: Values): number {
  checkLengths(x, y, 'pearson');
  const n = x.length;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  // Rounding can push |r| a hair past 1 for (anti)collinear data.
  return Math.max(-1, Math.min(1, sxy / Math.sqrt(sxx * syy)));
}

/** 1-based ranks, ties sharing the mean of their ranks (scipy.stats.rankdata 'average'). */
export function averageRanks(values: Values): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a] - values[b]);
  const ranks = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]] === values[order[start]]) end++;
    const rank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) ranks[order[i]] = rank;
    start = end;
  }
  return ranks;
}

/** Spearman's ρ: Pearson of the average ranks (scipy.stats.spearmanr); NaN when a side is constant. */
export function spearman(x: Values, y: Values): number {
  checkLengths(x, y, 'spearman');
  return pearson(averageRanks(x), averageRanks(y));
}

export function meanSquaredError(pred: Values, gold: Values): number {
  checkLengths(pred, gold, 'meanSquaredError');
  let sum = 0;
  for (let i = 0; i < pred.length; i++) sum += (pred[i] - gold[i]) ** 2;
  return sum / pred.length;
}

/**
 * The metrics shown for a task. Classification: `predictions` are predicted class indices →
 * accuracy, macro_f1, mcc. Regression: predicted values → pearson, spearman, mse.
 */
export function taskMetrics(task: SentenceTask, labelCount: number, predictions: Values, golds: Values): Record<string, number> {
  if (task === 'classification') {
    return {
      accuracy: accuracy(predictions, golds),
      macro_f1: macroF1(predictions, golds, labelCount),
      mcc: matthewsCorrelation(predictions, golds),
    };
  }
  return {
    pearson: pearson(predictions, golds),
    spearman: spearman(predictions, golds),
    mse: meanSquaredError(predictions, golds),
  };
}

/**
 * Validation loss as the trainer minimises it (Hugging Face's sequence-classification losses):
 * mean softmax cross-entropy of `logits` [n, labelCount] against class indices, or the mean
 * squared error of the single regression output. Float64, log-sum-exp shifted by the row max.
 */
export function validationLoss(task: SentenceTask, labelCount: number, logits: Values, golds: Values): number {
  if (task === 'regression') return meanSquaredError(logits, golds);
  if (logits.length !== golds.length * labelCount) throw new Error(`validationLoss: ${logits.length} logits for ${golds.length} targets × ${labelCount} labels`);
  let sum = 0;
  for (let i = 0; i < golds.length; i++) {
    let max = -Infinity;
    for (let k = 0; k < labelCount; k++) max = Math.max(max, logits[i * labelCount + k]);
    let z = 0;
    for (let k = 0; k < labelCount; k++) z += Math.exp(logits[i * labelCount + k] - max);
    sum += max + Math.log(z) - logits[i * labelCount + golds[i]];
  }
  return sum / golds.length;
}

/** Every metric an evaluation reports (taskMetrics plus the validation loss), by task. */
export const TASK_METRICS: Record<Task, readonly string[]> = {
  classification: ['accuracy', 'macro_f1', 'mcc', 'loss'],
  regression: ['pearson', 'spearman', 'mse', 'loss'],
  // Pooled over every predicted token of the split (lm-metrics.ts).
  'causal-lm': ['loss', 'perplexity'],
  // SQuAD's exact match and F1 (percent) after post-processing the windows (qa-metrics.ts).
  'question-answering': ['exact', 'f1', 'loss'],
  // seqeval's entity-level micro scores and the word-tag accuracy (ner-metrics.ts).
  'token-classification': ['precision', 'recall', 'f1', 'accuracy', 'loss'],
};

/** The metric early stopping watches unless told otherwise: the task's headline metric. */
export function defaultWatchedMetric(task: Task): string {
  switch (task) {
    case 'classification':
      return 'accuracy';
    case 'regression':
      return 'pearson';
    case 'causal-lm':
      return 'loss';
    case 'question-answering':
    case 'token-classification':
      return 'f1';
    default:
      return unreachable(task, 'task');
  }
}

/** Losses and errors improve downwards, scores and correlations upwards. */
export function lowerIsBetter(metric: string): boolean {
  return metric === 'loss' || metric === 'mse' || metric === 'perplexity';
}

/** Whether `value` beats `best` on `metric` (strictly; NaN never improves anything). */
export function improves(metric: string, value: number, best: number | undefined): boolean {
  if (Number.isNaN(value)) return false;
  if (best === undefined || Number.isNaN(best)) return true;
  return lowerIsBetter(metric) ? value < best : value > best;
}
