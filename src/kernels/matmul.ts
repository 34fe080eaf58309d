// GPU wrapper for shaders/matmul.wgsl; the float64 reference of the same name is matmul.ref.ts.
import code from '../../shaders/matmul.wgsl?raw';
import rng from '../../shaders/rng.wgsl?raw';
import { isSoftwareDevice } from '../gpu/device.ts';
import { ceilDiv, makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import type { PipelineSpec } from '../gpu/pipelines.ts';
import { createParams, placeholder, type Tensor } from '../gpu/tensor.ts';
import { chosenKernel, kernelName, tileHeader, DEFAULT_TILE, NO_FLAGS, type MatmulKernel, type MatmulTile, type OperandFlags, type ProductShape } from './matmul_tiles.ts';

export type MatmulVariant = 'tiled' | 'direct';

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
  variant?: MatmulVariant;
  /** The tiled kernel's tile (implies 'tiled'); when neither is given, the kernel measured fastest
   * for this product on this device (matmul_tuning.ts), or until then the adapter's default. */
  tile?: MatmulTile;
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
  const layout = (stride: number, ld: number): BlockLayout => ({ batchStride: stride, headStride: 0, ld });
  return blockMatmul(device, {
    ...args,
    label: `matmul ${batch}×${m}×${n}×${k}`,
    blocks: batch,
    heads: 1,
    a: [args.a, layout(args.strideA ?? m * k, args.transA ? m : k)],
    b: [args.b, layout(args.strideB ?? k * n, args.transB ? k : n)],
    out: [args.out, layout(args.strideC ?? m * n, n)],
  });
}

/** Where block z = b·heads + h of an operand starts (offset + b·batchStride + h·headStride), and
 * how far apart its stored rows are. */
export interface BlockLayout {
  /** Elements before block 0 (0 when absent): any count, where a view must be 64-aligned. */
  offset?: number;
  batchStride: number;
  headStride: number;
  ld: number;
}

export interface BlockMatmulArgs extends Omit<MatmulShape, 'batch' | 'strideA' | 'strideB' | 'strideC'> {
  label: string;
  /** Number of blocks z (batch·heads). */
  blocks: number;
  heads: number;
  a: [Tensor, BlockLayout];
  b: [Tensor, BlockLayout];
  out: [Tensor, BlockLayout];
  bias?: Tensor;
  kScale?: Tensor;
  /** Scales each element of A by its dropout factor, drawn at its index in A (attention
   * probabilities); `seed` is a u32 buffer the caller rewrites each step. */
  dropoutA?: { p: number; stream: number; seed: Tensor };
}

/** The general product: C[z] = alpha · op(A[z]) · op(B[z]) over strided blocks (see the shader). */
export function blockMatmul(device: GPUDevice, args: BlockMatmulArgs): Dispatch {
  const [a, la] = args.a;
  const [b, lb] = args.b;
  const [c, lc] = args.out;
  const drop = args.dropoutA;
  if (drop && !(drop.p >= 0 && drop.p <= 1)) throw new Error(`${args.label}: dropout p = ${drop.p} is outside [0, 1]`);
  const params = createParams(device, [
    ['u32', args.m], ['u32', args.n], ['u32', args.k], ['u32', args.heads],
    ['u32', la.offset ?? 0], ['u32', la.batchStride], ['u32', la.headStride], ['u32', la.ld],
    ['u32', lb.offset ?? 0], ['u32', lb.batchStride], ['u32', lb.headStride], ['u32', lb.ld],
    ['u32', lc.offset ?? 0], ['u32', lc.batchStride], ['u32', lc.headStride], ['u32', lc.ld],
    ['f32', args.alpha ?? 1],
    // p = 1 drops everything (as nn.Dropout does) instead of dividing by 0.
    ['f32', drop?.p ?? 0], ['f32', drop ? (drop.p < 1 ? 1 / (1 - drop.p) : 0) : 1], ['u32', drop?.stream ?? 0],
  ], args.label);
  const transposed = { transA: !!args.transA, transB: !!args.transB };
  const flags = { bias: !!args.bias, kScale: !!args.kScale, accumulate: !!args.accumulate, dropoutA: !!drop };
  const kernel = pickKernel(device, args, transposed, flags);
  const [tm, tn] = kernel === 'direct' ? [32, 32] : [kernel.tm, kernel.tn];
  return makeDispatch(device, {
    label: `${args.label} · ${kernelName(kernel)}`,
    ...matmulPipeline(kernel, transposed, flags),
    bindings: [a, b, c, params, args.bias ?? placeholder(device), args.kScale ?? placeholder(device), drop?.seed ?? placeholder(device)],
    workgroups: [ceilDiv(args.n, tn), ceilDiv(args.m, tm), args.blocks],
    flops: 2 * args.blocks * args.m * args.n * args.k,
  });
}

/** The pipeline blockMatmul runs `kernel` with, for compiling ahead (matmul_tuning.ts). */
export function matmulPipeline(kernel: MatmulKernel, transposed: Pick<ProductShape, 'transA' | 'transB'>, flags: OperandFlags = NO_FLAGS): PipelineSpec {
  return {
    // 'direct' ignores the tile constants, but the module declares the tiled kernel's too.
    code: tileHeader(kernel === 'direct' ? DEFAULT_TILE : kernel) + rng + code,
    entryPoint: kernel === 'direct' ? 'direct' : 'main',
    constants: {
      TRANS_A: Number(transposed.transA),
      TRANS_B: Number(transposed.transB),
      HAS_BIAS: Number(flags.bias),
      K_SCALE: Number(flags.kScale),
      ACCUMULATE: Number(flags.accumulate),
      DROPOUT_A: Number(flags.dropoutA),
    },
  };
}

/** A forced tile or variant wins; otherwise the kernel measured fastest for this product on this
 * device (matmul_tuning.ts), and until measured: the barrier-free kernel on software adapters
 * (see the shader), the default shared-memory tile on GPUs. */
function pickKernel(device: GPUDevice, args: BlockMatmulArgs, transposed: Pick<ProductShape, 'transA' | 'transB'>, flags: OperandFlags): MatmulKernel {
  if (args.tile) return args.tile;
  if (args.variant) return args.variant === 'direct' ? 'direct' : DEFAULT_TILE;
  const shape = { m: args.m, n: args.n, k: args.k, blocks: args.blocks, ...transposed };
  return chosenKernel(device, shape, isSoftwareDevice(device) ? 'direct' : DEFAULT_TILE, flags);
}
