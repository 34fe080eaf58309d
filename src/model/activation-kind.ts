// The model's activation names → the kinds the activation kernels (WGSL and float64) compute.
import type { ActivationKind } from '../kernels/activation.ts';
import { unreachable } from '../util/unreachable.ts';
import type { Activation } from './architectures.ts';

/** Fails loudly, naming `where`, for an activation without a kernel yet (SiLU, until the gated
 * MLP's kernels land). */
export function kernelActivation(a: Activation, where: string): ActivationKind {
  switch (a) {
    case 'gelu':
    case 'gelu_new':
    case 'relu':
    case 'tanh':
      return a;
    case 'silu':
      throw new Error(`${where}: the SiLU activation is not implemented yet`);
    default:
      return unreachable(a, 'activation');
  }
}
