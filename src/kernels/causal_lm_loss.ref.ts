// Float64 reference for shaders/causal_lm_loss.wgsl (same op name as kernels/causal_lm_loss.ts).

export interface CausalLmLossRefArgs {
  /** [batch·seq, vocab] */
  logits: Float64Array;
  /** [batch·seq]: input ids, −100 (or anything outside the vocabulary) where no loss applies. */
  labels: ArrayLike<number>;
  batch: number;
  seq: number;
  vocab: number;
  /** false: position t is scored against label t (token classification); default true. */
  shift?: boolean;
}

/** Position t of a row predicts label t + 1 of the same row (or label t unshifted); the mean over
 * counted positions. */
export function causalLmLoss(args: CausalLmLossRefArgs): { loss: number; count: number; rowLoss: Float64Array; dLogits: Float64Array } {
  const { logits, labels, batch, seq, vocab } = args;
  const rows = batch * seq;
  const shift = args.shift ?? true;
  const targetOf = (r: number) => {
    if (shift && r % seq === seq - 1) return -1;
    const label = labels[shift ? r + 1 : r];
    return Number.isInteger(label) && label >= 0 && label < vocab ? label : -1;
  };
  let count = 0;
  for (let r = 0; r < rows; r++) if (targetOf(r) >= 0) count++;
  const rowLoss = new Float64Array(rows);
  const dLogits = new Float64Array(rows * vocab);
  for (let r = 0; r < rows; r++) {
    const t = targetOf(r);
    if (t < 0) continue;
    const row = logits.subarray(r * vocab, (r + 1) * vocab);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let j = 0; j < vocab; j++) dLogits[r * vocab + j] = (Math.exp(row[j] - m) / s - (j === t ? 1 : 0)) / count;
    rowLoss[r] = Math.log(s) - (row[t] - m);
  }
  return { loss: count ? rowLoss.reduce((a, b) => a + b, 0) / count : 0, count, rowLoss, dLogits };
}
