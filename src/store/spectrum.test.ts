import { describe, expect, it } from 'vitest';
import { moduleSpectrum } from './spectrum.ts';

describe('moduleSpectrum', () => {
  it('sorts |ΔΣ| and takes shares of their sum', () => {
    const s = moduleSpectrum({ layer: 1, module: 'q', delta: [0.5, -2, 0, 1.5] });
    expect(s.values).toEqual([2, 1.5, 0.5, 0]);
    expect(s.top1).toBeCloseTo(0.5, 15);
    expect(s.top8).toBe(1);
    expect(s.leading).toEqual([0.5, -2, 0, 1.5]);
  });

  it('gives effective rank 1 for one change and n for n equal changes', () => {
    expect(moduleSpectrum({ layer: 0, module: 'f1', delta: [0, -3, 0, 0] }).effectiveRank).toBeCloseTo(1, 12);
    const flat = moduleSpectrum({ layer: 0, module: 'f1', delta: Array.from({ length: 100 }, (_, i) => (i % 2 ? 0.1 : -0.1)) });
    expect(flat.effectiveRank).toBeCloseTo(100, 9);
    expect(flat.top8).toBeCloseTo(0.08, 12);
    expect(flat.top64).toBeCloseTo(0.64, 12);
  });

  it('reports an untouched module as rank 0 with no shares', () => {
    const s = moduleSpectrum({ layer: 0, module: 'v', delta: [0, 0, 0] });
    expect(s.effectiveRank).toBe(0);
    expect(s.top1).toBe(0);
  });
});
