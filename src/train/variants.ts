// Which vectors each VectorFit variant trains (paper §6.3), plus `head`, the baseline that trains
// the task head alone; the task head is always trained.
import type { ModuleKind } from '../model/types.ts';
import type { Variant } from './types.ts';

// DeBERTa's position projections (pk, pq) are attention linears too.
const ATTENTION: readonly ModuleKind[] = ['q', 'k', 'v', 'o', 'pk', 'pq'];

export function variantTrains(variant: Variant, kind: 'sigma' | 'bias', module: ModuleKind): boolean {
  switch (variant) {
    case 'sigma-attn':
      return kind === 'sigma' && ATTENTION.includes(module);
    case 'sigma':
      return kind === 'sigma';
    case 'sigma-attn+bias':
      return kind === 'bias' || ATTENTION.includes(module);
    case 'no-avf':
    case 'vectorfit':
      return true;
    case 'head':
      return false;
  }
}

export function variantUsesAvf(variant: Variant): boolean {
  return variant === 'vectorfit';
}
