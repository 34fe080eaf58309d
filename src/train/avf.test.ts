import { describe, expect, it } from 'vitest';
import type { AvfSettings } from './types.ts';
import { applyAvfStep, avfSteps, createAvfState, isAvfStep } from './avf.ts';

const avf: AvfSettings = { start: 3, interval: 2, count: 3, k: 2, beta: 0.5 };

describe('AVF schedule', () => {
  it('fires exactly at t_i + j·t_f for j < n_f', () => {
    const fired = Array.from({ length: 12 }, (_, i) => i + 1).filter((t) => isAvfStep(t, avf));
    expect(fired).toEqual([3, 5, 7]);
    expect(avfSteps(avf)).toEqual([3, 5, 7]);
  });
  it('never fires with k = 0 or n_f = 0', () => {
    expect(isAvfStep(3, { ...avf, k: 0 })).toBe(false);
    expect(isAvfStep(3, { ...avf, count: 0 })).toBe(false);
  });
});

describe('AVF freezing on a scripted strength sequence', () => {
  it('freezes the top-k by EMA, releases vectors that drop out, and keeps the last set', () => {
    const state = createAvfState(4);
    const all = [1, 1, 1, 1];
    // Step 3: EMA = 0.5·S → top-2 are vectors 0 and 1.
    let change = applyAvfStep(state, [4, 3, 2, 1], all, avf);
    expect(Array.from(state.ema)).toEqual([2, 1.5, 1, 0.5]);
    expect(change).toEqual({ frozen: [0, 1], released: [] });
    // Step 5: vector 3 surges: EMA = [1+0, 0.75+0, 0.5+1, 0.25+5] → top-2 are 3 and 2.
    change = applyAvfStep(state, [0, 0, 2, 10], all, avf);
    expect(Array.from(state.ema)).toEqual([1, 0.75, 1.5, 5.25]);
    expect(change).toEqual({ frozen: [2, 3], released: [0, 1] });
    // Step 7: vector 0 comes back above 2 → {3, 0}; 2 is released, 3 stays frozen.
    change = applyAvfStep(state, [6, 0, 0, 0], all, avf);
    expect(change).toEqual({ frozen: [0], released: [2] });
    expect(Array.from(state.frozen)).toEqual([1, 0, 0, 1]);
  });

  it('only freezes candidates and breaks ties by vector index', () => {
    const state = createAvfState(4);
    const change = applyAvfStep(state, [5, 5, 5, 9], [1, 1, 1, 0], avf);
    expect(change.frozen).toEqual([0, 1]);
    expect(state.ema[3]).toBe(0);
  });
});
