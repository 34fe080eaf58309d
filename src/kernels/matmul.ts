// GPU wrapper for shaders/matmul.wgsl; the float64 reference of the same name is matmul.ref.ts.
import code from '../../shaders/matmul.wgsl?raw';
import { isSoftwareDevice } from '../gpu/device.ts';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, placeholder, type Tensor } from '../gpu/tensor.ts';

export interface MatmulShape {
  /** op(A) is m×k, op(B) is k×n, C is m×n (per batch entry). */
  m: number;
  n: number;
  k: number;
  batch?: number;
  transA?: boolean;
  transB?: boolean;
  /** Elements between consecutive batch entries; 0 broadcasts one matrix to every entry. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
  alpha?: number;
  /** C += result instead of C = result. */
  accumulate?: boolean;
  /** 'tiled' (workgroup-memory tiles, for GPUs) or 'direct' (no barriers, for software
   * adapters); chosen from the device when absent. Tests run both. */
  variant?: 'tiled' | 'direct';
}

export interface MatmulArgs extends MatmulShape {
  a: Tensor;
  b: Tensor;
  out: Tensor;
  /** Added to every row of C (length n). */
  bias?: Tensor;
  /** Scales A's inner index: C = (op(A) · diag(kScale)) · op(B) (length k). */
  kScale?: Tensor;
}

export function matmul(device: GPUDevice, args: MatmulArgs): Dispatch {
  const { m, n, k } = args;
  const batch = args.batch ?? 1;
  const params = createParams(device, [
    ['u32', m], ['u32', n], ['u32', k],
    ['u32', args.strideA ?? m * k], ['u32', args.strideB ?? k * n], ['u32', args.strideC ?? m * n],
    ['f32', args.alpha ?? 1],
  ]);
  // Software adapters get the barrier-free variant (see the shader); GPUs the shared-memory tiles.
  const direct = (args.variant ?? (isSoftwareDevice(device) ? 'direct' : 'tiled')) === 'direct';
  return makeDispatch(device, {
    label: `matmul ${batch}×${m}×${n}×${k}`,
    code,
    entryPoint: direct ? 'direct' : 'main',
    constants: {
      TRANS_A: Number(!!args.transA),
      TRANS_B: Number(!!args.transB),
      HAS_BIAS: Number(!!args.bias),
      K_SCALE: Number(!!args.kScale),
      ACCUMULATE: Number(!!args.accumulate),
    },
    bindings: [args.a, args.b, args.out, params, args.bias ?? placeholder(device), args.kScale ?? placeholder(device)],
    workgroups: direct ? [ceilDiv(n, 32), ceilDiv(m, 32), batch] : [ceilDiv(n, 64), ceilDiv(m, 64), batch],
  });
}
