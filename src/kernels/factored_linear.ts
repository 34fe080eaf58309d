// GPU wrapper for the factored linear y = U(Σ ⊙ Vᵀx) + b and the column reductions of
// shaders/factored_linear.wgsl; the float64 reference of the same names is factored_linear.ref.ts.
// Shapes: x [n, dIn], U [dOut, r], Σ [r], V [dIn, r], b [dOut], r = min(dIn, dOut) (thin SVD).
import code from '../../shaders/factored_linear.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, createTensor, placeholder, type Tensor } from '../gpu/tensor.ts';
import { matmul } from './matmul.ts';

/** Rows per partial sum; must match CHUNK_ROWS in the shader. */
const CHUNK_ROWS = 256;

export interface FactoredLinearShape {
  /** Tokens. */
  n: number;
  dIn: number;
  dOut: number;
  r: number;
}

export interface FactoredLinearForwardArgs extends FactoredLinearShape {
  x: Tensor;
  u: Tensor;
  sigma: Tensor;
  v: Tensor;
  bias?: Tensor;
  /** Output t = x·V [n, r], kept for the backward (dΣ needs it). */
  t: Tensor;
  /** Output y [n, dOut]. */
  y: Tensor;
}

/** t = x·V, then y = (t ⊙ Σ)·Uᵀ + b, with Σ and b fused into the second product's loads/epilogue. */
export function factoredLinearForward(device: GPUDevice, args: FactoredLinearForwardArgs): Dispatch[] {
  const { n, dIn, dOut, r } = args;
  return [
    matmul(device, { m: n, n: r, k: dIn, a: args.x, b: args.v, out: args.t }),
    matmul(device, { m: n, n: dOut, k: r, a: args.t, b: args.u, transB: true, kScale: args.sigma, bias: args.bias, out: args.y }),
  ];
}

export interface FactoredLinearBackwardArgs extends FactoredLinearShape {
  /** Upstream gradient dL/dy [n, dOut]. */
  g: Tensor;
  /** The forward's t = x·V [n, r]. */
  t: Tensor;
  u: Tensor;
  sigma: Tensor;
  v: Tensor;
  /** Scratch h = g·U [n, r]. */
  h: Tensor;
  /** dΣ [r]; leave out when Σ is frozen. */
  dSigma?: Tensor;
  /** db [dOut]; leave out when the bias is frozen or absent. */
  dBias?: Tensor;
  /** dx [n, dIn]; leave out when the input needs no gradient. */
  dx?: Tensor;
  /** dx += … instead of dx = … (a residual branch adding into the same gradient). */
  accumulateDx?: boolean;
  /** dΣ += …, db += … instead of = … (a second use of the same linear: DeBERTa's q and k on the
   * relative embeddings, after their use on the tokens). */
  accumulateGrads?: boolean;
  /** Σ and the bias are both frozen (AVF): only dx; dSigma and dBias are left untouched, so a
   * plan can keep passing them and re-plan by flipping this at AVF steps. */
  frozen?: boolean;
}

/** h = g·U; dΣ = Σ_tokens h ⊙ t; db = Σ_tokens g; dx (+)= (h ⊙ Σ)·Vᵀ. */
export function factoredLinearBackward(device: GPUDevice, args: FactoredLinearBackwardArgs): Dispatch[] {
  const { n, dIn, dOut, r } = args;
  const dispatches: Dispatch[] = [];
  const dSigma = args.frozen ? undefined : args.dSigma;
  const dBias = args.frozen ? undefined : args.dBias;
  if (dSigma || args.dx) dispatches.push(matmul(device, { m: n, n: r, k: dOut, a: args.g, b: args.u, out: args.h }));
  const accumulate = !!args.accumulateGrads;
  if (dSigma) dispatches.push(...columnDotSum(device, { a: args.h, b: args.t, out: dSigma, rows: n, cols: r, accumulate }));
  if (dBias) dispatches.push(...columnSum(device, { x: args.g, out: dBias, rows: n, cols: dOut, accumulate }));
  if (args.dx) {
    dispatches.push(
      matmul(device, { m: n, n: dIn, k: r, a: args.h, b: args.v, transB: true, kScale: args.sigma, out: args.dx, accumulate: args.accumulateDx }),
    );
  }
  return dispatches;
}

export interface ColumnSumArgs {
  /** [rows, cols] */
  x: Tensor;
  /** [cols] */
  out: Tensor;
  rows: number;
  cols: number;
  /** out += column sums instead of out = column sums. */
  accumulate?: boolean;
}

/** out[j] (+)= Σ_i x[i, j]. One dispatch for rows ≤ 256, two beyond (partials, then their sum). */
export function columnSum(device: GPUDevice, args: ColumnSumArgs): Dispatch[] {
  return columnReduction(device, 'columnSum', args.x, undefined, args.out, args.rows, args.cols, !!args.accumulate);
}

export interface ColumnDotSumArgs {
  /** [rows, cols] */
  a: Tensor;
  /** [rows, cols] */
  b: Tensor;
  /** [cols] */
  out: Tensor;
  rows: number;
  cols: number;
  /** out += the sums instead of out = the sums. */
  accumulate?: boolean;
}

/** out[j] (+)= Σ_i a[i, j]·b[i, j]. */
export function columnDotSum(device: GPUDevice, args: ColumnDotSumArgs): Dispatch[] {
  return columnReduction(device, 'columnDotSum', args.a, args.b, args.out, args.rows, args.cols, !!args.accumulate);
}

function columnReduction(
  device: GPUDevice,
  label: string,
  a: Tensor,
  b: Tensor | undefined,
  out: Tensor,
  rows: number,
  cols: number,
  accumulate: boolean,
): Dispatch[] {
  // rows = 0 still takes one chunk, so out is written (with zeros).
  const chunks = Math.max(1, ceilDiv(rows, CHUNK_ROWS));
  const dims = createParams(device, [['u32', rows], ['u32', cols], ['u32', chunks]], `${label} dims`);
  const partials = chunks === 1 ? out : createTensor(device, [chunks, cols], 'f32', `${label} partials`);
  const first = makeDispatch(device, {
    label: `${label} ${rows}×${cols}`,
    code,
    entryPoint: 'partialColumnSums',
    constants: { PRODUCT: Number(!!b), ACCUMULATE: Number(accumulate && chunks === 1) },
    bindings: [dims, partials, a, b ?? placeholder(device)],
    workgroups: [ceilDiv(cols, 64), chunks],
  });
  if (chunks === 1) return [first];
  const finish = makeDispatch(device, {
    label: `${label} finish ${chunks}×${cols}`,
    code,
    entryPoint: 'finishColumnSums',
    constants: { ACCUMULATE: Number(accumulate) },
    bindings: [dims, out, partials],
    workgroups: [ceilDiv(cols, 256)],
  });
  return [first, finish];
}
