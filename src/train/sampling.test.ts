import { describe, expect, it } from 'vitest';
import { seededNormal, seededRandom } from '../util/random.ts';
import { generate, greedyToken, nucleus, sampleToken, type GenerateOptions } from './sampling.ts';

const logitsOf = (probs: number[]) => Float32Array.from(probs, Math.log);

/** Hugging Face's TopPLogitsWarper, written its own way: sort ascending, drop where cumsum ≤ 1 − p. */
function hfTopPSet(logits: Float32Array, temperature: number, topP: number): Set<number> {
  const scaled = Array.from(logits, (l) => l / temperature);
  const max = Math.max(...scaled);
  const exp = scaled.map((l) => Math.exp(l - max));
  const total = exp.reduce((a, b) => a + b, 0);
  const ascending = exp.map((e, i) => ({ i, p: e / total })).sort((a, b) => a.p - b.p);
  const kept = new Set<number>();
  let cumsum = 0;
  ascending.forEach(({ i, p }, k) => {
    cumsum += p;
    if (cumsum > 1 - topP || k === ascending.length - 1) kept.add(i);
  });
  return kept;
}

describe('sampling', () => {
  it('greedy takes the largest logit (the lowest id among equals) and refuses NaN or all −∞', () => {
    expect(greedyToken(Float32Array.from([0.1, 3, -2, 3]))).toBe(1);
    expect(greedyToken(Float32Array.from([-Infinity, -Infinity, -5]))).toBe(2);
    expect(() => greedyToken(Float32Array.from([0, Number.NaN]))).toThrow('logit 1 is NaN');
    expect(() => greedyToken(Float32Array.from([-Infinity]))).toThrow(/every logit is −∞/);
    expect(() => greedyToken(new Float32Array(0))).toThrow(/no logits/);
    expect(sampleToken(Float32Array.from([0.1, 3, -2]), { temperature: 0, topP: 0.5 }, () => 0.99)).toBe(1);
  });

  it('the nucleus keeps the most probable tokens until their mass reaches p (the crossing token kept), renormalised', () => {
    const logits = logitsOf([0.15, 0.5, 0.05, 0.3]);
    const at = (topP: number, temperature = 1) => nucleus(logits, { temperature, topP });
    expect(at(0.4).ids).toEqual([1]);
    expect(at(0.75).ids).toEqual([1, 3]);
    at(0.75).probs.forEach((p, i) => expect(p).toBeCloseTo([0.625, 0.375][i], 6));
    expect(at(0.85).ids).toEqual([1, 3, 0]);
    expect(at(1).ids).toEqual([1, 3, 0, 2]);
    at(1).probs.forEach((p, i) => expect(p).toBeCloseTo([0.5, 0.3, 0.15, 0.05][i], 6));
    // Temperature 2 is the softmax of logits / 2: probabilities ∝ √p.
    const root = [0.5, 0.3, 0.15, 0.05].map(Math.sqrt);
    const sum = root.reduce((a, b) => a + b, 0);
    at(1, 2).probs.forEach((p, i) => expect(p).toBeCloseTo(root[i] / sum, 6));
    // −∞ logits (masked tokens) never enter the nucleus.
    expect(nucleus(Float32Array.from([0, -Infinity, 1]), { temperature: 1, topP: 1 }).ids).toEqual([2, 0]);
    expect(() => nucleus(logits, { temperature: 1, topP: 0 })).toThrow(/top-p must be in \(0, 1\]/);
    expect(() => nucleus(logits, { temperature: -1, topP: 1 })).toThrow(/temperature/);
  });

  it('the nucleus is the set Hugging Face keeps, on random logits at several temperatures and p', () => {
    const normal = seededNormal(5);
    for (let trial = 0; trial < 40; trial++) {
      const logits = Float32Array.from({ length: 37 }, () => 3 * normal());
      const temperature = [0.5, 1, 1.7][trial % 3];
      const topP = [0.3, 0.9, 0.95, 0.99][trial % 4];
      expect(new Set(nucleus(logits, { temperature, topP }).ids)).toEqual(hfTopPSet(logits, temperature, topP));
    }
  });

  it('draws tokens with the nucleus probabilities (20,000 seeded draws), never outside it', () => {
    const logits = logitsOf([0.15, 0.5, 0.05, 0.3]);
    const random = seededRandom(11);
    const counts = [0, 0, 0, 0];
    const draws = 20000;
    for (let i = 0; i < draws; i++) counts[sampleToken(logits, { temperature: 1, topP: 0.85 }, random)]++;
    expect(counts[2]).toBe(0);
    // Nucleus {1, 3, 0} renormalised by 0.95; 4 standard deviations ≈ 0.014 at n = 20,000.
    [0.15, 0.5, 0, 0.3].forEach((p, id) => expect(Math.abs(counts[id] / draws - p / 0.95)).toBeLessThan(0.015));
  });

  describe('generate', () => {
    // A fake model over 6 tokens that prefers last + 1 (mod 6) strongly and last + 2 a little.
    const model = (tokens: readonly number[]) => {
      const last = tokens[tokens.length - 1];
      const logits = new Float32Array(6).fill(-4);
      logits[(last + 1) % 6] = 2;
      logits[(last + 2) % 6] = 1;
      return logits;
    };
    const run = async (prompt: number[], options: Partial<GenerateOptions>) => {
      const tokens: number[] = [];
      const iterator = generate(prompt, model, { temperature: 0, topP: 1, maxNewTokens: 10, eosIds: [5], seed: 1, ...options });
      for (;;) {
        const next = await iterator.next();
        if (next.done) return { tokens, reason: next.value };
        tokens.push(next.value);
      }
    };

    it('greedy runs until EOS, which it emits, or until maxNewTokens', async () => {
      expect(await run([1], {})).toEqual({ tokens: [2, 3, 4, 5], reason: 'eos' });
      expect(await run([0], { maxNewTokens: 3 })).toEqual({ tokens: [1, 2, 3], reason: 'length' });
      expect(await run([0], { maxNewTokens: 0 })).toEqual({ tokens: [], reason: 'length' });
      expect(await run([0], { eosIds: [], maxNewTokens: 7 })).toEqual({ tokens: [1, 2, 3, 4, 5, 0, 1], reason: 'length' });
    });

    it('sampling repeats under the same seed, varies across seeds, and top-p 0.5 makes it greedy here', async () => {
      const sampled = { temperature: 1.5, topP: 1, eosIds: [], maxNewTokens: 30 };
      const a = await run([0], { ...sampled, seed: 3 });
      expect(await run([0], { ...sampled, seed: 3 })).toEqual(a);
      const others = await Promise.all([4, 5, 6].map((seed) => run([0], { ...sampled, seed })));
      expect(others.some((b) => b.tokens.join() !== a.tokens.join())).toBe(true);
      // The favourite holds ~63% of the mass at temperature 1.5: a nucleus of 0.5 keeps only it.
      expect((await run([0], { ...sampled, topP: 0.5, maxNewTokens: 7 })).tokens).toEqual([1, 2, 3, 4, 5, 0, 1]);
    });

    it('refuses an empty prompt and bad lengths', async () => {
      await expect(run([], {})).rejects.toThrow(/at least one prompt token/);
      await expect(run([0], { maxNewTokens: 1.5 })).rejects.toThrow(/maxNewTokens/);
    });
  });
});
