import { describe, expect, it } from 'vitest';
import { BatchSampler, epochOrder } from './batches.ts';

describe('batch order', () => {
  it('is a permutation that depends on the seed and the epoch', () => {
    const a = epochOrder(100, 1, 0);
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(epochOrder(100, 1, 0)).toEqual(a);
    expect(epochOrder(100, 1, 1)).not.toEqual(a);
    expect(epochOrder(100, 2, 0)).not.toEqual(a);
  });

  it('covers every example once per epoch, the last batch short', () => {
    const sampler = new BatchSampler(10, 4, 7);
    expect(sampler.stepsPerEpoch).toBe(3);
    const seen = [1, 2, 3].flatMap((t) => [...sampler.batch(t).indices]);
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(sampler.batch(3).indices.length).toBe(2);
    expect(sampler.batch(4).epoch).toBe(1);
  });
});
