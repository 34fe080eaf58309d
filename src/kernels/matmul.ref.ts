// Float64 reference for shaders/matmul.wgsl (same op name and arguments as kernels/matmul.ts).
import type { MatmulShape } from './matmul.ts';

export interface MatmulRefArgs extends MatmulShape {
  a: Float64Array;
  b: Float64Array;
  /** Prior C, required when accumulate is set. */
  out?: Float64Array;
  bias?: Float64Array;
  kScale?: Float64Array;
}

export function matmul(args: MatmulRefArgs): Float64Array {
  const { m, n, k, a, b } = args;
  const batch = args.batch ?? 1;
  const strideA = args.strideA ?? m * k;
  const strideB = args.strideB ?? k * n;
  const strideC = args.strideC ?? m * n;
  const alpha = args.alpha ?? 1;
  const c = args.accumulate ? Float64Array.from(args.out!) : new Float64Array(Math.max(0, (batch - 1) * strideC + m * n));
  for (let z = 0; z < batch; z++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const av = args.transA ? a[z * strideA + p * m + i] : a[z * strideA + i * k + p];
          const bv = args.transB ? b[z * strideB + j * k + p] : b[z * strideB + p * n + j];
          sum += av * (args.kScale ? args.kScale[p] : 1) * bv;
        }
        const idx = z * strideC + i * n + j;
        c[idx] = alpha * sum + (args.bias ? args.bias[j] : 0) + (args.accumulate ? c[idx] : 0);
      }
    }
  }
  return c;
}
