// The recomposed-dense form of a factored linear, and the per-module choice between it and the
// factored form (DESIGN.md, "What the factored form costs"). Both give y = U(Σ ⊙ Vᵀx) + b and
// the same gradients; they differ in FLOPs:
//   factored:   t = x·V, y = (t⊙Σ)·Uᵀ + b; h = g·U, dΣ = Σ_tokens h⊙t, dx = (h⊙Σ)·Vᵀ
//   recomposed: W' = U·diag(Σ)·Vᵀ once per step, y = x·W'ᵀ + b, dx = g·W',
//               dΣ = diag(Uᵀ·(gᵀx)·V), taken as P = (gᵀx)·V, dΣ_i = Σ_j U_ji·P_ji.
// Every product runs through matmul.wgsl and the column reductions of factored_linear.wgsl; the
// float64 reference of the same names is linear_forms.ref.ts. The builders take the arguments
// factoredLinearForward/Backward take, so a plan switches form per module in a few lines.
import type { Dispatch } from '../gpu/dispatch.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { columnDotSum, columnSum, type FactoredLinearShape } from './factored_linear.ts';
import { matmul } from './matmul.ts';

export type LinearForm = 'factored' | 'recomposed';

export interface LinearFormChoice {
  form: LinearForm;
  /** FLOPs of one forward + backward in each form (a multiply-add counts 2). */
  factoredFlops: number;
  recomposedFlops: number;
}

/**
 * The cheaper form for a dOut×dIn module over `tokens` tokens, by FLOPs. Without dΣ (Σ frozen)
 * the recomposed form drops gᵀx and its projection; the factored form still needs h = g·U for
 * dx. The bias gradient costs the same in both and is left out. Ties go to the factored form,
 * which needs no dOut×dIn buffers.
 */
export function chooseLinearForm(dIn: number, dOut: number, tokens: number, needsSigmaGrad = true): LinearFormChoice {
  for (const [name, x] of [['dIn', dIn], ['dOut', dOut], ['tokens', tokens]] as const) {
    if (!(Number.isInteger(x) && x > 0)) throw new Error(`chooseLinearForm: ${name} = ${x} is not a positive integer`);
  }
  const r = Math.min(dIn, dOut);
  const n = tokens;
  // t, y, h, dx: four products of n·r·d; dΣ's column dot: n·r.
  const factoredFlops = 4 * n * r * (dIn + dOut) + (needsSigmaGrad ? 2 * n * r : 0);
  // W' (dOut·dIn·r), y and dx (n·dIn·dOut each); dΣ: gᵀx (n·dOut·dIn), ·V (dOut·dIn·r), U⊙P (dOut·r).
  const recompose = 2 * dOut * dIn * r;
  const sigmaGrad = needsSigmaGrad ? 2 * n * dOut * dIn + 2 * dOut * dIn * r + 2 * dOut * r : 0;
  const recomposedFlops = recompose + 4 * n * dIn * dOut + sigmaGrad;
  return { form: recomposedFlops < factoredFlops ? 'recomposed' : 'factored', factoredFlops, recomposedFlops };
}

export interface RecomposeArgs {
  dIn: number;
  dOut: number;
  r: number;
  u: Tensor;
  sigma: Tensor;
  v: Tensor;
  /** Output W' = U·diag(Σ)·Vᵀ [dOut, dIn]. */
  w: Tensor;
}

/** W' = U·diag(Σ)·Vᵀ, Σ fused into the product's loads. */
export function recompose(device: GPUDevice, args: RecomposeArgs): Dispatch {
  return matmul(device, { m: args.dOut, n: args.dIn, k: args.r, a: args.u, b: args.v, transB: true, kScale: args.sigma, out: args.w });
}

export interface RecomposedLinearForwardArgs extends FactoredLinearShape {
  x: Tensor;
  u: Tensor;
  sigma: Tensor;
  v: Tensor;
  bias?: Tensor;
  /** Output W' [dOut, dIn], recomposed from this step's Σ and kept for the backward. */
  w: Tensor;
  /** Output y [n, dOut]. */
  y: Tensor;
}

/** W' = U·diag(Σ)·Vᵀ, then y = x·W'ᵀ + b. */
export function recomposedLinearForward(device: GPUDevice, args: RecomposedLinearForwardArgs): Dispatch[] {
  const { n, dIn, dOut } = args;
  return [recompose(device, args), matmul(device, { m: n, n: dOut, k: dIn, a: args.x, b: args.w, transB: true, bias: args.bias, out: args.y })];
}

export interface SigmaGradDenseArgs extends FactoredLinearShape {
  /** Upstream gradient dL/dy [n, dOut]. */
  g: Tensor;
  /** The forward's input [n, dIn]. */
  x: Tensor;
  u: Tensor;
  v: Tensor;
  /** Scratch: the dense weight gradient gᵀx [dOut, dIn]. */
  gradW: Tensor;
  /** Scratch: (gᵀx)·V [dOut, r]. */
  projected: Tensor;
  /** Output dΣ [r]. */
  dSigma: Tensor;
}

/** dΣ = diag(Uᵀ·(gᵀx)·V): the dense weight gradient, projected on V, dotted with U per column. */
export function sigmaGradDense(device: GPUDevice, args: SigmaGradDenseArgs): Dispatch[] {
  const { n, dIn, dOut, r } = args;
  return [
    matmul(device, { m: dOut, n: dIn, k: n, a: args.g, b: args.x, transA: true, out: args.gradW }),
    matmul(device, { m: dOut, n: r, k: dIn, a: args.gradW, b: args.v, out: args.projected }),
    ...columnDotSum(device, { a: args.u, b: args.projected, out: args.dSigma, rows: dOut, cols: r }),
  ];
}

export interface RecomposedLinearBackwardArgs extends FactoredLinearShape {
  g: Tensor;
  x: Tensor;
  u: Tensor;
  v: Tensor;
  /** The forward's W' [dOut, dIn]. */
  w: Tensor;
  /** Scratch for dΣ (see sigmaGradDense); needed only with dSigma. */
  gradW?: Tensor;
  projected?: Tensor;
  dSigma?: Tensor;
  dBias?: Tensor;
  dx?: Tensor;
  accumulateDx?: boolean;
  /** Σ and the bias are both frozen (AVF): only dx; dSigma and dBias are left untouched. */
  frozen?: boolean;
}

/** dΣ = diag(Uᵀ·(gᵀx)·V); db = Σ_tokens g; dx (+)= g·W'. */
export function recomposedLinearBackward(device: GPUDevice, args: RecomposedLinearBackwardArgs): Dispatch[] {
  const { n, dIn, dOut } = args;
  const dispatches: Dispatch[] = [];
  const dSigma = args.frozen ? undefined : args.dSigma;
  const dBias = args.frozen ? undefined : args.dBias;
  if (dSigma) {
    if (!args.gradW || !args.projected) throw new Error('recomposedLinearBackward: dSigma needs the gradW and projected scratch tensors');
    dispatches.push(...sigmaGradDense(device, { ...args, gradW: args.gradW, projected: args.projected, dSigma }));
  }
  if (dBias) dispatches.push(...columnSum(device, { x: args.g, out: dBias, rows: n, cols: dOut }));
  if (args.dx) dispatches.push(matmul(device, { m: n, n: dIn, k: dOut, a: args.g, b: args.w, out: args.dx, accumulate: args.accumulateDx }));
  return dispatches;
}
