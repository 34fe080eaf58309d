// Validation figures of a causal LM: the mean cross-entropy per predicted token over a whole
// split (batches weighted by how many tokens they predict, as one big batch would give it) and
// its perplexity exp(loss).

import { IGNORE_INDEX } from '../util/ignore-index.ts';

/** How many labels of a batch × seq label array a causal LM predicts (shifted: t ≥ 1, not −100). */
export function predictedTokens(labels: Int32Array, batch: number, seq: number): number {
  if (labels.length !== batch * seq) throw new Error(`labels hold ${labels.length} values, not batch ${batch} × seq ${seq}`);
  let count = 0;
  for (let b = 0; b < batch; b++) for (let t = 1; t < seq; t++) if (labels[b * seq + t] !== IGNORE_INDEX) count++;
  return count;
}

/** Mean loss per predicted token over batches whose `loss` is their own per-token mean. */
export function pooledLoss(batches: readonly { loss: number; tokens: number }[]): number {
  let sum = 0;
  let tokens = 0;
  for (const batch of batches) {
    if (batch.tokens === 0) continue; // a batch with nothing to predict has a NaN mean and no weight
    sum += batch.loss * batch.tokens;
    tokens += batch.tokens;
  }
  if (tokens === 0) throw new Error('no predicted tokens: the loss and perplexity are undefined');
  return sum / tokens;
}

/** Perplexity of a mean per-token cross-entropy in nats. */
export function perplexity(meanLoss: number): number {
  if (!(meanLoss >= 0)) throw new Error(`a cross-entropy loss is ≥ 0, got ${meanLoss}`);
  return Math.exp(meanLoss);
}
