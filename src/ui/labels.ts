// Names in the paper's notation, shared by the heatmap, the timeline and the setup panel.
import type { ModuleKind, VectorId, VectorRow } from '../model/types.ts';
import type { LrSchedule } from '../train/schedule.ts';
import type { Variant } from '../train/types.ts';

export function rowLabel(kind: 'sigma' | 'bias', module: ModuleKind): string {
  return `${kind === 'sigma' ? 'Σ' : 'b'}${module}`;
}

export function rowLabels(rows: readonly VectorRow[]): string[] {
  return rows.map((r) => rowLabel(r.kind, r.module));
}

export function vectorLabel(v: VectorId): string {
  return `L${v.layer} ${rowLabel(v.kind, v.module)}`;
}

export const VARIANT_LABELS: Record<Variant, string> = {
  vectorfit: 'VectorFit: all Σ and biases, with AVF',
  'no-avf': 'All Σ and biases, no AVF',
  sigma: 'Σ of every factored linear',
  'sigma-attn': 'Σ of q, k, v, o',
  'sigma-attn+bias': 'Σ of q, k, v, o and every bias',
  head: 'Head only (baseline, no Σ or biases)',
};

export const SCHEDULE_LABELS: Record<LrSchedule, string> = {
  linear: 'linear decay',
  cosine: 'cosine decay',
  constant: 'constant',
};

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** A loss for the progress line: four decimals, or exponent form once it is huge (a divergence). */
export function formatLoss(x: number): string {
  return Math.abs(x) >= 1e5 ? x.toExponential(3) : x.toFixed(4);
}
