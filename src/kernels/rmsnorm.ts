// GPU wrapper for shaders/rmsnorm.wgsl; the float64 reference of the same name is rmsnorm.ref.ts.
import code from '../../shaders/rmsnorm.wgsl?raw';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';
import { rowGrid } from './grid.ts';
import { rowVariant, withReductions, type RowVariant } from './reduction.ts';

const WEIGHT_GRAD_COLUMNS = 32; // PG_COLS in the shader

export interface RmsNormForwardArgs {
  /** [rows, d] */
  x: Tensor;
  /** [d] */
  weight: Tensor;
  /** [rows, d]; may not be x. */
  y: Tensor;
  /** [rows]: saved for the backward. */
  rstd: Tensor;
  rows: number;
  d: number;
  /** The model's rms_norm_eps (1e-5 for Llama, 1e-6 for Qwen2). */
  eps: number;
  variant?: RowVariant;
}

function rowsGrid(rows: number): [number] {
  return [Math.min(Math.max(1, ceilDiv(rows, 64)), 1024)];
}

export function rmsNormForward(device: GPUDevice, args: RmsNormForwardArgs): Dispatch {
  const params = createParams(device, [['u32', args.rows], ['u32', args.d], ['f32', args.eps]]);
  const variant = rowVariant(device, args.variant);
  const rows = variant === 'rows';
  return makeDispatch(device, {
    label: `rmsnorm forward ${args.rows}×${args.d}`,
    code: withReductions(variant, code),
    entryPoint: rows ? 'forward_rows' : 'forward',
    bindings: [args.x, args.weight, args.y, args.rstd, params],
    workgroups: rows ? rowsGrid(args.rows) : rowGrid(args.rows),
  });
}

export interface RmsNormBackwardArgs {
  dy: Tensor;
  /** The forward's input and rstd. */
  x: Tensor;
  weight: Tensor;
  rstd: Tensor;
  dx: Tensor;
  /** Written (summed over rows, not accumulated across calls) when given. */
  dWeight?: Tensor;
  rows: number;
  d: number;
  /** dx += the input gradient (a residual branch already wrote dx). */
  accumulateDx?: boolean;
  variant?: RowVariant;
}

export function rmsNormBackward(device: GPUDevice, args: RmsNormBackwardArgs): Dispatch[] {
  const params = createParams(device, [['u32', args.rows], ['u32', args.d], ['f32', 0]]);
  const variant = rowVariant(device, args.variant);
  const rows = variant === 'rows';
  const composed = withReductions(variant, code);
  const dispatches = [
    makeDispatch(device, {
      label: `rmsnorm backward dx ${args.rows}×${args.d}`,
      code: composed,
      entryPoint: rows ? 'backward_dx_rows' : 'backward_dx',
      constants: { ACCUMULATE_DX: Number(!!args.accumulateDx) },
      bindings: [args.dy, args.x, args.weight, args.rstd, args.dx, params],
      workgroups: rows ? rowsGrid(args.rows) : rowGrid(args.rows),
    }),
  ];
  if (args.dWeight) {
    dispatches.push(
      makeDispatch(device, {
        label: `rmsnorm backward dWeight ${args.rows}×${args.d}`,
        code: composed,
        entryPoint: 'backward_weight',
        bindings: [args.dy, args.x, args.rstd, args.dWeight, params],
        workgroups: [ceilDiv(args.d, WEIGHT_GRAD_COLUMNS)],
      }),
    );
  }
  return dispatches;
}
