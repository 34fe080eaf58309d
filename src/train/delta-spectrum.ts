// What VectorFit changed inside each weight matrix. With W₀ = U·diag(Σ₀)·Vᵀ and the trained
// W = U·diag(Σ)·Vᵀ (U and V fixed, orthonormal columns), ΔW = U·diag(Σ − Σ₀)·Vᵀ is already a
// singular value decomposition up to signs and order: ΔW's singular values are the sorted |ΔΣ|.
// So the paper's rank analysis costs a sort per module, cheap enough to run live.
//
// Definitions (s = singular values of ΔW, descending):
// - effective rank: exp(H(p)), p = s / Σs, H the Shannon entropy in nats (Roy & Vetterli, 2007).
//   It is 1 for a rank-one ΔW and n for n equal values; 0 for ΔW = 0. The studio shows this one.
// - rank above 1%: the count of s > 0.01·max s, a hard-threshold companion.
// - energy share of the top k: Σ_{i<k} s_i² / Σ s_i², the share of ‖ΔW‖²_F that the best rank-k
//   approximation keeps (Eckart–Young), i.e. 1 − (relative truncation error)². NaN for ΔW = 0.
// - leading change: Σ[i] − Σ₀[i] for the first LEADING singular values of W₀ (Σ₀ is descending).
import type { LayerSigmaChange, ModuleKind, ModuleSpectrum } from '../worker/protocol.ts';

export const LEADING = 4;

export interface SigmaPair {
  path: string;
  layer: number;
  module: ModuleKind;
  /** Σ as trained. */
  sigma: ArrayLike<number>;
  /** Σ₀ from the factorisation, descending. */
  initial: ArrayLike<number>;
}

export interface DeltaSpectrum {
  modules: ModuleSpectrum[];
  layers: LayerSigmaChange[];
}

/** |Σ − Σ₀| sorted descending: the singular values of ΔW. */
export function deltaSingularValues(sigma: ArrayLike<number>, initial: ArrayLike<number>): Float64Array {
  if (sigma.length !== initial.length) throw new Error(`delta spectrum: Σ has ${sigma.length} values, Σ₀ ${initial.length}`);
  // Plain loops and a comparator-free typed sort: this runs live, on every module.
  const s = new Float64Array(sigma.length);
  for (let i = 0; i < s.length; i++) s[i] = Math.abs(sigma[i] - initial[i]);
  return s.sort().reverse();
}

export function moduleSpectrum(pair: SigmaPair): ModuleSpectrum {
  const s = deltaSingularValues(pair.sigma, pair.initial);
  let sum = 0;
  let energy = 0;
  for (const x of s) {
    sum += x;
    energy += x * x;
  }
  let entropy = 0;
  for (const x of s) if (x > 0) entropy -= (x / sum) * Math.log(x / sum);
  const max = s[0] ?? 0;
  const top = (k: number) => {
    let e = 0;
    for (let i = 0; i < Math.min(k, s.length); i++) e += s[i] * s[i];
    return energy > 0 ? e / energy : NaN;
  };
  return {
    path: pair.path,
    layer: pair.layer,
    module: pair.module,
    values: Float32Array.from(s),
    frobenius: Math.sqrt(energy),
    effectiveRank: sum > 0 ? Math.exp(entropy) : 0,
    rankAbove1Percent: countAbove(s, 0.01 * max),
    energyTop1: top(1),
    energyTop8: top(8),
    energyTop64: top(64),
  };
}

/** How many of the descending values exceed `threshold` (none when all are 0). */
function countAbove(descending: Float64Array, threshold: number): number {
  let n = 0;
  while (n < descending.length && descending[n] > threshold) n++;
  return n;
}

export function deltaSpectrum(pairs: readonly SigmaPair[]): DeltaSpectrum {
  const layers = new Map<number, LayerSigmaChange>();
  for (const p of pairs) {
    let layer = layers.get(p.layer);
    if (!layer) layers.set(p.layer, (layer = { layer: p.layer, change: {} }));
    layer.change[p.module] = Array.from({ length: Math.min(LEADING, p.sigma.length) }, (_, i) => p.sigma[i] - p.initial[i]);
  }
  return { modules: pairs.map(moduleSpectrum), layers: [...layers.values()].sort((a, b) => a.layer - b.layer) };
}

/** The report as plain JSON (spectra as arrays; NaN shares become null). */
export function deltaSpectrumJson(report: DeltaSpectrum): string {
  const modules = report.modules.map((m) => ({ ...m, values: Array.from(m.values) }));
  return `${JSON.stringify({ definitions: DEFINITIONS, modules, layers: report.layers }, null, 1)}\n`;
}

const DEFINITIONS = {
  values: 'singular values of ΔW = U·diag(Σ − Σ₀)·Vᵀ, i.e. |Σ − Σ₀| sorted descending',
  effectiveRank: 'exp(H(p)), p = s / Σs (Roy & Vetterli 2007)',
  rankAbove1Percent: 'count of s > 0.01·max s',
  energyTopK: 'Σ_{i<k} s_i² / Σ s_i²: share of ‖ΔW‖²_F in the top k',
  change: `Σ[i] − Σ₀[i] for the ${LEADING} leading singular values of W₀`,
};
