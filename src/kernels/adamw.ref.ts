// Float64 reference for kernels/adamw.ts: torch.optim.AdamW's update (decoupled weight decay,
// bias corrections from a step count kept per vector), skipping frozen vectors entirely; weight
// decay only where `decays` says.

export interface AdamWRefArgs {
  params: Float64Array;
  grads: Float64Array;
  m: Float64Array;
  v: Float64Array;
  vectorIndex: ArrayLike<number>;
  steps: ArrayLike<number>;
  /** Per vector, non-zero = frozen. */
  frozen: ArrayLike<number>;
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Every gradient is scaled by it first (gradient clipping); 1 when absent. */
  gradFactor?: number;
  /** Per vector, non-zero where weight decay applies; every vector when absent. */
  decays?: ArrayLike<number>;
}

/** One step; returns updated copies (the inputs are not modified). */
export function adamw(args: AdamWRefArgs): { params: Float64Array; m: Float64Array; v: Float64Array; steps: Uint32Array } {
  const { lr, beta1, beta2, eps, weightDecay } = args;
  const params = Float64Array.from(args.params);
  const m = Float64Array.from(args.m);
  const v = Float64Array.from(args.v);
  const steps = Uint32Array.from(args.steps);
  for (let i = 0; i < params.length; i++) {
    const vector = args.vectorIndex[i];
    if (args.frozen[vector]) continue;
    const step = steps[vector] + 1;
    const g = args.grads[i] * (args.gradFactor ?? 1);
    if (!args.decays || args.decays[vector]) params[i] *= 1 - lr * weightDecay;
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    const denom = Math.sqrt(v[i]) / Math.sqrt(1 - beta2 ** step) + eps;
    params[i] -= (lr / (1 - beta1 ** step)) * (m[i] / denom);
  }
  for (let s = 0; s < steps.length; s++) if (!args.frozen[s]) steps[s]++;
  return { params, m, v, steps };
}
