import { describe, expect, it } from 'vitest';
import { perplexity, pooledLoss, predictedTokens } from './lm-metrics.ts';

describe('causal-LM validation metrics', () => {
  it('counts the shifted, non-ignored labels only', () => {
    // Two rows of 4: position 0 is never predicted; −100 never counts.
    const labels = Int32Array.from([5, 6, -100, 7, 9, -100, -100, -100]);
    expect(predictedTokens(labels, 2, 4)).toBe(2);
    expect(() => predictedTokens(labels, 3, 4)).toThrow(/batch 3 × seq 4/);
  });

  it('pools batch means by token count, as one batch holding every token would', () => {
    expect(pooledLoss([{ loss: 2, tokens: 1 }, { loss: 1, tokens: 3 }, { loss: Number.NaN, tokens: 0 }])).toBeCloseTo(1.25, 12);
    expect(() => pooledLoss([{ loss: Number.NaN, tokens: 0 }])).toThrow(/no predicted tokens/);
  });

  it('perplexity is exp(loss): ln 50 nats is a perplexity of 50, a uniform guess over 50 tokens', () => {
    expect(perplexity(Math.log(50))).toBeCloseTo(50, 10);
    expect(perplexity(0)).toBe(1);
    expect(() => perplexity(Number.NaN)).toThrow(/≥ 0/);
    expect(() => perplexity(-0.1)).toThrow(/≥ 0/);
  });
});
