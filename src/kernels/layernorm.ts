// GPU wrapper for shaders/layernorm.wgsl; the float64 reference of the same name is
// layernorm.ref.ts.
import code from '../../shaders/layernorm.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, placeholder, type Tensor } from '../gpu/tensor.ts';
import { rowGrid } from './grid.ts';
import { rowVariant, withReductions, type RowVariant } from './reduction.ts';

const PARAM_GRAD_COLUMNS = 32; // PG_COLS in the shader

export interface LayerNormForwardArgs {
  /** [rows, d] */
  x: Tensor;
  /** [d] */
  gamma: Tensor;
  beta: Tensor;
  /** [rows, d]; may not be x. */
  y: Tensor;
  /** [rows]: saved for the backward. */
  mean: Tensor;
  rstd: Tensor;
  rows: number;
  d: number;
  /** The model's epsilon: 1e-12 for BERT and DistilBERT, 1e-5 for RoBERTa. */
  eps: number;
  variant?: RowVariant;
}

function rowsGrid(rows: number): [number] {
  return [Math.min(Math.max(1, ceilDiv(rows, 64)), 1024)];
}

export function layerNormForward(device: GPUDevice, args: LayerNormForwardArgs): Dispatch {
  const params = createParams(device, [['u32', args.rows], ['u32', args.d], ['f32', args.eps]]);
  const variant = rowVariant(device, args.variant);
  return makeDispatch(device, {
    label: `layernorm forward ${args.rows}×${args.d}`,
    code: withReductions(variant, code),
    entryPoint: variant === 'rows' ? 'forward_rows' : 'forward',
    bindings: [args.x, args.gamma, args.beta, args.y, args.mean, args.rstd, params],
    workgroups: variant === 'rows' ? rowsGrid(args.rows) : rowGrid(args.rows),
  });
}

export interface LayerNormBackwardArgs {
  dy: Tensor;
  /** The forward's input, mean and rstd. */
  x: Tensor;
  gamma: Tensor;
  mean: Tensor;
  rstd: Tensor;
  dx: Tensor;
  /** Written (not accumulated) when given: VectorFit does not train LayerNorm. */
  dGamma?: Tensor;
  dBeta?: Tensor;
  rows: number;
  d: number;
  /** dx += the input gradient (a residual branch already wrote dx). */
  accumulateDx?: boolean;
  variant?: RowVariant;
}

export function layerNormBackward(device: GPUDevice, args: LayerNormBackwardArgs): Dispatch[] {
  const params = createParams(device, [['u32', args.rows], ['u32', args.d], ['f32', 0]]);
  const variant = rowVariant(device, args.variant);
  const composed = withReductions(variant, code);
  const dispatches = [
    makeDispatch(device, {
      label: `layernorm backward dx ${args.rows}×${args.d}`,
      code: composed,
      entryPoint: variant === 'rows' ? 'backward_dx_rows' : 'backward_dx',
      constants: { ACCUMULATE_DX: Number(!!args.accumulateDx) },
      bindings: [args.dy, args.x, args.gamma, args.mean, args.rstd, args.dx, params],
      workgroups: variant === 'rows' ? rowsGrid(args.rows) : rowGrid(args.rows),
    }),
  ];
  if (args.dGamma || args.dBeta) {
    dispatches.push(
      makeDispatch(device, {
        label: `layernorm backward dGamma/dBeta ${args.rows}×${args.d}`,
        code: composed,
        entryPoint: 'backward_params',
        constants: { HAS_DGAMMA: Number(!!args.dGamma), HAS_DBETA: Number(!!args.dBeta) },
        bindings: [args.dy, args.x, args.mean, args.rstd, args.dGamma ?? placeholder(device), args.dBeta ?? placeholder(device), params],
        workgroups: [ceilDiv(args.d, PARAM_GRAD_COLUMNS)],
      }),
    );
  }
  return dispatches;
}
