// Adaptive Vector Freezing (VectorFit §4): at AVF steps t = t_i + j·t_f (j = 0 … n_f − 1) the
// EMA of every candidate vector's training strength is updated, S' ← β·S' + (1 − β)·S(t), and
// the frozen set becomes exactly the top-k candidates by S'. Vectors frozen before and not
// re-selected are released. After the last AVF step the last frozen set stays frozen.
import type { AvfSettings } from './types.ts';

export interface AvfState {
  /** S' per vector (0 before the first AVF step). */
  ema: Float64Array;
  /** 1 where the vector is frozen now. */
  frozen: Uint8Array;
}

export interface AvfChange {
  frozen: number[];
  released: number[];
}

export function createAvfState(vectorCount: number): AvfState {
  return { ema: new Float64Array(vectorCount), frozen: new Uint8Array(vectorCount) };
}

/** Steps are counted from 1: step t is the t-th optimizer update. */
export function isAvfStep(step: number, avf: AvfSettings): boolean {
  if (avf.count <= 0 || avf.k <= 0 || step < avf.start) return false;
  const j = (step - avf.start) / avf.interval;
  return Number.isInteger(j) && j < avf.count;
}

export function avfSteps(avf: AvfSettings): number[] {
  if (avf.k <= 0) return [];
  return Array.from({ length: Math.max(0, avf.count) }, (_, j) => avf.start + j * avf.interval);
}

/**
 * One AVF step: updates the EMA of the candidates with this step's strengths and replaces the
 * frozen set by the top-k candidates (ties broken by vector index, so runs are reproducible).
 * Non-candidates (vectors the variant does not train) never freeze.
 */
export function applyAvfStep(state: AvfState, strength: ArrayLike<number>, candidate: ArrayLike<number>, avf: AvfSettings): AvfChange {
  const n = state.ema.length;
  const pool: number[] = [];
  for (let i = 0; i < n; i++) {
    if (!candidate[i]) continue;
    state.ema[i] = avf.beta * state.ema[i] + (1 - avf.beta) * strength[i];
    pool.push(i);
  }
  pool.sort((a, b) => state.ema[b] - state.ema[a] || a - b);
  const chosen = new Set(pool.slice(0, avf.k));
  const change: AvfChange = { frozen: [], released: [] };
  for (let i = 0; i < n; i++) {
    const now = chosen.has(i) ? 1 : 0;
    if (now && !state.frozen[i]) change.frozen.push(i);
    if (!now && state.frozen[i]) change.released.push(i);
    state.frozen[i] = now;
  }
  return change;
}
