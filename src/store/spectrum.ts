// ΔW of a factored module is U·diag(Σ − Σ₀)·Vᵀ, its own SVD: its singular values are the sorted
// |ΔΣ|. These are the figures of the paper's rank analysis, computed from ΔΣ of every module.
import type { ModuleKind } from '../worker/protocol.ts';

/** ΔΣ of one module, index i = change of its i-th (original) singular value. */
export interface ModuleDelta {
  layer: number;
  module: ModuleKind;
  delta: number[];
}

export interface ModuleSpectrum {
  layer: number;
  module: ModuleKind;
  /** Singular values of ΔW: |ΔΣ| sorted descending. */
  values: number[];
  /** exp of the entropy of the normalised spectrum (Roy & Vetterli): 1 for rank one, n for a flat one. */
  effectiveRank: number;
  /** Share of Σ|ΔΣ| carried by the top 1, 8 and 64 values. */
  top1: number;
  top8: number;
  top64: number;
  /** Signed change of the module's leading singular values σ₀ … σ₃. */
  leading: number[];
}

export const LEADING = 4;

export function moduleSpectrum({ layer, module, delta }: ModuleDelta): ModuleSpectrum {
  const values = delta.map(Math.abs).sort((a, b) => b - a);
  const total = values.reduce((a, b) => a + b, 0);
  let entropy = 0;
  if (total > 0) for (const v of values) if (v > 0) entropy -= (v / total) * Math.log(v / total);
  const share = (k: number) => (total > 0 ? values.slice(0, k).reduce((a, b) => a + b, 0) / total : 0);
  return {
    layer,
    module,
    values,
    effectiveRank: total > 0 ? Math.exp(entropy) : 0,
    top1: share(1),
    top8: share(8),
    top64: share(64),
    leading: delta.slice(0, LEADING),
  };
}
