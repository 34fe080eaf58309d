// A norm on the GPU as the layout names it. LayerNorm runs today; RMSNorm fails loudly until its
// kernel exists, instead of running as LayerNorm.
import { prefix, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { layerNormBackward, layerNormForward } from '../kernels/layernorm.ts';
import { unreachable } from '../util/unreachable.ts';
import type { NormLayout } from './architectures.ts';
import type { BlockContext } from './gpu-context.ts';

export interface GpuNorm {
  layout: NormLayout;
  gamma: Tensor;
  beta: Tensor;
}

/** Per-row statistics the backward needs, sized for the largest batch. */
export interface NormActivations {
  mean: Tensor;
  rstd: Tensor;
}

export function gpuNorm(ctx: BlockContext, layout: NormLayout): GpuNorm {
  switch (layout.kind) {
    case 'layernorm':
      return { layout, gamma: ctx.upload(layout.weight), beta: ctx.upload(layout.bias!) };
    case 'rmsnorm':
      throw new Error(`${layout.path}: RMSNorm is not implemented on the GPU yet`);
    default:
      return unreachable(layout.kind, 'norm kind');
  }
}

export function normForward(d: GPUDevice, n: GpuNorm, x: Tensor, y: Tensor, acts: NormActivations, rows: number): PlanOp {
  const { dim, eps } = n.layout;
  return layerNormForward(d, { x, gamma: n.gamma, beta: n.beta, y, mean: prefix(acts.mean, [rows]), rstd: prefix(acts.rstd, [rows]), rows, d: dim, eps });
}

/** dx only: norm weights are not trained. */
export function normBackward(d: GPUDevice, n: GpuNorm, dy: Tensor, x: Tensor, acts: NormActivations, dx: Tensor, rows: number): PlanOp[] {
  return layerNormBackward(d, { dy, x, gamma: n.gamma, mean: prefix(acts.mean, [rows]), rstd: prefix(acts.rstd, [rows]), dx, rows, d: n.layout.dim });
}
