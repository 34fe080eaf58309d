// Float64 reference for kernels/grad_norm.ts: torch.nn.utils.clip_grad_norm_ over the gradients
// of the unfrozen vectors.

export interface GradNormRefArgs {
  grads: ArrayLike<number>;
  vectorIndex: ArrayLike<number>;
  /** Per vector, non-zero = frozen. */
  frozen: ArrayLike<number>;
  maxNorm?: number;
}

/** The norm, and the factor that scales the gradients (1 when not clipping). */
export function gradNorm(args: GradNormRefArgs): { norm: number; factor: number } {
  let sum = 0;
  for (let i = 0; i < args.grads.length; i++) if (!args.frozen[args.vectorIndex[i]]) sum += args.grads[i] ** 2;
  const norm = Math.sqrt(sum);
  return { norm, factor: args.maxNorm === undefined ? 1 : Math.min(1, args.maxNorm / (norm + 1e-6)) };
}
