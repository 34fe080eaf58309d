// A norm on the GPU as the layout names it: LayerNorm (weight and bias) or RMSNorm (weight
// only). Norm weights are not trained: the backward gives dx alone.
import { prefix, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { layerNormBackward, layerNormForward } from '../kernels/layernorm.ts';
import { rmsNormBackward, rmsNormForward } from '../kernels/rmsnorm.ts';
import { unreachable } from '../util/unreachable.ts';
import type { NormLayout } from './architectures.ts';
import type { BlockContext } from './gpu-context.ts';

export interface GpuNorm {
  layout: NormLayout;
  gamma: Tensor;
  /** LayerNorm only. */
  beta: Tensor | null;
}

/** Per-row statistics the backward needs, sized for the largest batch (mean: LayerNorm only). */
export interface NormActivations {
  mean: Tensor;
  rstd: Tensor;
}

export function gpuNorm(ctx: BlockContext, layout: NormLayout): GpuNorm {
  return { layout, gamma: ctx.upload(layout.weight), beta: layout.bias ? ctx.upload(layout.bias) : null };
}

export function normForward(d: GPUDevice, n: GpuNorm, x: Tensor, y: Tensor, acts: NormActivations, rows: number): PlanOp {
  const { dim, eps, kind } = n.layout;
  const rstd = prefix(acts.rstd, [rows]);
  switch (kind) {
    case 'layernorm':
      return layerNormForward(d, { x, gamma: n.gamma, beta: n.beta!, y, mean: prefix(acts.mean, [rows]), rstd, rows, d: dim, eps });
    case 'rmsnorm':
      return rmsNormForward(d, { x, weight: n.gamma, y, rstd, rows, d: dim, eps });
    default:
      return unreachable(kind, 'norm kind');
  }
}

/** dx (written, or added to what dx holds with `accumulateDx`: a pre-norm residual). */
export function normBackward(d: GPUDevice, n: GpuNorm, dy: Tensor, x: Tensor, acts: NormActivations, dx: Tensor, rows: number, accumulateDx = false): PlanOp[] {
  const { dim, kind } = n.layout;
  const rstd = prefix(acts.rstd, [rows]);
  switch (kind) {
    case 'layernorm':
      return layerNormBackward(d, { dy, x, gamma: n.gamma, mean: prefix(acts.mean, [rows]), rstd, dx, rows, d: dim, accumulateDx });
    case 'rmsnorm':
      return rmsNormBackward(d, { dy, x, weight: n.gamma, rstd, dx, rows, d: dim, accumulateDx });
    default:
      return unreachable(kind, 'norm kind');
  }
}
