// Float64 reference for shaders/loss.wgsl (same op names as kernels/loss.ts).

export function softmaxCrossEntropy(args: { logits: Float64Array; labels: ArrayLike<number>; rows: number; classes: number }): { loss: number; dLogits: Float64Array } {
  const { logits, labels, rows, classes } = args;
  const dLogits = new Float64Array(rows * classes);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const row = logits.subarray(r * classes, (r + 1) * classes);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    const s = row.reduce((a, v) => a + Math.exp(v - m), 0);
    for (let j = 0; j < classes; j++) dLogits[r * classes + j] = (Math.exp(row[j] - m) / s - (j === labels[r] ? 1 : 0)) / rows;
    total += Math.log(s) - (row[labels[r]] - m);
  }
  return { loss: total / rows, dLogits };
}

export function mseLoss(args: { pred: Float64Array; target: Float64Array; rows: number }): { loss: number; dPred: Float64Array } {
  const { pred, target, rows } = args;
  const dPred = new Float64Array(rows);
  let total = 0;
  for (let r = 0; r < rows; r++) {
    const diff = pred[r] - target[r];
    dPred[r] = (2 * diff) / rows;
    total += diff * diff;
  }
  return { loss: total / rows, dPred };
}
