// Float64 reference for shaders/span_loss.wgsl (same op name as kernels/span_loss.ts).

export interface SpanLossRefArgs {
  /** [batch·seq, 2]: start and end logit of each position. */
  logits: Float64Array;
  /** [2·batch]: start and end position of each row; outside the row's tokens: not counted. */
  labels: ArrayLike<number>;
  /** [batch·seq]: 1 for the row's tokens (the softmax runs over them), 0 for padding. */
  mask: ArrayLike<number>;
  batch: number;
  seq: number;
}

/** (mean over rows of −log softmax(start logits)[start] + the same for the ends) / 2, each
 * softmax over the row's unmasked positions, and its gradient. */
export function spanLoss(args: SpanLossRefArgs): { loss: number; dLogits: Float64Array } {
  const { logits, labels, mask, batch, seq } = args;
  const targetOf = (b: number, s: number) => {
    const t = labels[2 * b + s];
    return Number.isInteger(t) && t >= 0 && t < seq && mask[b * seq + t] ? t : -1;
  };
  const dLogits = new Float64Array(2 * batch * seq);
  let loss = 0;
  for (let s = 0; s < 2; s++) {
    let count = 0;
    for (let b = 0; b < batch; b++) if (targetOf(b, s) >= 0) count++;
    if (count === 0) continue;
    let total = 0;
    for (let b = 0; b < batch; b++) {
      const t = targetOf(b, s);
      if (t < 0) continue;
      const at = (j: number) => logits[2 * (b * seq + j) + s];
      const positions = Array.from({ length: seq }, (_, j) => j).filter((j) => mask[b * seq + j]);
      const m = Math.max(...positions.map(at));
      const sum = positions.reduce((a, j) => a + Math.exp(at(j) - m), 0);
      for (const j of positions) dLogits[2 * (b * seq + j) + s] = (Math.exp(at(j) - m) / sum - (j === t ? 1 : 0)) / (2 * count);
      total += Math.log(sum) - (at(t) - m);
    }
    loss += total / count / 2;
  }
  return { loss, dLogits };
}
