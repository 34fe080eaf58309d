import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray, type Tolerance } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { attentionBackward, attentionForward } from './attention.ts';
import * as attentionRef from './attention.ref.ts';
import type { MatmulVariant } from './matmul.ts';
import {
  relativeChunkRows, relativeGather, relativeGatherSum, relativeScoresBackward, relativeScoresForward, relativeScratchSize,
  type RelativeAttentionShape, type RelativeTerm,
} from './relative_attention.ts';
import * as ref from './relative_attention.ref.ts';
import { relativeWindow } from './relative_positions.ts';

const U = 2 ** -24;
// fp32 sums of `terms` products against float64: first-order bound terms·u·Σ|products|, with
// Σ|products| the same computation on |inputs|. A wrong row or transpose errs by O(Σ|products|).
const bound = (terms: number, magnitude: ArrayLike<number>): Tolerance => ({ atol: terms * U * Math.max(0, ...Array.from(magnitude)), rtol: 0 });
const abs = (a: Float64Array) => a.map(Math.abs);
const plus = (a: Float64Array, b: ArrayLike<number>) => a.map((x, i) => x + b[i]);

function shape(batch: number, seq: number, heads: number, headDim: number, c2p: boolean, p2c: boolean, buckets: number, maxRelative: number, variant?: MatmulVariant): RelativeAttentionShape {
  const span = buckets > 0 ? buckets : maxRelative;
  return { batch, seq, heads, headDim, scale: 1 / Math.sqrt(headDim * (1 + Number(c2p) + Number(p2c))), c2p, p2c, positions: { buckets, maxRelative, span }, variant };
}

function inputs(s: RelativeAttentionShape, seed: number) {
  const tokens = s.batch * s.seq * s.heads * s.headDim;
  const rows = 2 * s.positions.span * s.heads * s.headDim;
  const scores = s.batch * s.heads * s.seq * s.seq;
  return {
    q: f32(randomArray(tokens, seed, 2)),
    k: f32(randomArray(tokens, seed + 1, 2)),
    posKey: f32(randomArray(rows, seed + 2, 2)),
    posQuery: f32(randomArray(rows, seed + 3, 2)),
    scores0: f32(randomArray(scores, seed + 4)),
    dScores: f32(randomArray(scores, seed + 5)),
    dq0: f32(randomArray(tokens, seed + 6)),
    dk0: f32(randomArray(tokens, seed + 7)),
  };
}

/** Runs the forward and backward with a scratch of `chunkRows` batch rows (all by default: one
 * chunk), checks them against the float64 reference and returns what they wrote. */
async function check(s: RelativeAttentionShape, seed = 1, chunkRows = s.batch) {
  const { device } = await testGpu();
  const data = inputs(s, seed);
  const A = s.heads * s.headDim;
  const tokens = [s.batch * s.seq, A];
  const rows = [2 * s.positions.span, A];
  const up = (x: Float64Array | number[], sh: number[]) => uploadTensor(device, x, sh);
  const q = up(data.q, tokens);
  const k = up(data.k, tokens);
  const posKey = up(data.posKey, rows);
  const posQuery = up(data.posQuery, rows);
  const scores = up(data.scores0, [s.batch, s.heads, s.seq, s.seq]);
  const dq = up(data.dq0, tokens);
  const dk = up(data.dk0, tokens);
  // Prior contents that the backward must overwrite, rows outside the window included.
  const dPosKey = up(randomArray(rows[0] * A, seed + 8), rows);
  const dPosQuery = up(randomArray(rows[0] * A, seed + 9), rows);
  // One scratch for rel and dRel, as the model shares it.
  const rel = createTensor(device, [relativeScratchSize(s, chunkRows)]);
  submitPlan(device, [
    ...relativeScoresForward(device, { ...s, q, k, posKey, posQuery, scores, rel }),
    ...relativeScoresBackward(device, { ...s, dScores: up(data.dScores, [s.batch, s.heads, s.seq, s.seq]), q, k, posKey, posQuery, dq, dk, dPosKey, dPosQuery, dRel: rel }),
  ]);
  const label = `${JSON.stringify(s)} in chunks of ${chunkRows}`;
  const out = { scores: await readTensor(device, scores), dq: await readTensor(device, dq), dk: await readTensor(device, dk), dPosKey: await readTensor(device, dPosKey), dPosQuery: await readTensor(device, dPosQuery) };
  const expected = ref.relativeScoresForward({ ...s, ...data });
  const magnitude = ref.relativeScoresForward({ ...s, q: abs(data.q), k: abs(data.k), posKey: abs(data.posKey), posQuery: abs(data.posQuery) });
  expectClose(out.scores, plus(expected, data.scores0), bound(2 * s.headDim + 2, plus(magnitude, abs(data.scores0))), `scores ${label}`);
  const grads = ref.relativeScoresBackward({ ...s, ...data });
  const gradMagnitude = ref.relativeScoresBackward({ ...s, q: abs(data.q), k: abs(data.k), posKey: abs(data.posKey), posQuery: abs(data.posQuery), dScores: abs(data.dScores) });
  const pairs = s.batch * s.seq * s.seq + 2;
  // dq (c2p) and dk (p2c): each dRel entry sums at most seq dScores (seq − 1 roundings), times
  // the scale (1, and 1 more for the scale's own fp32 rounding), then the product sums the window's
  // columns (1 per product, columns − 1 adds) and adds to the prior gradient (1).
  const depth = s.seq + relativeWindow(s.positions, s.seq).columns + 2;
  expectClose(out.dq, plus(grads.dq, data.dq0), bound(depth, plus(gradMagnitude.dq, abs(data.dq0))), `dq ${label}`);
  expectClose(out.dk, plus(grads.dk, data.dk0), bound(depth, plus(gradMagnitude.dk, abs(data.dk0))), `dk ${label}`);
  if (s.c2p) expectClose(out.dPosKey, grads.dPosKey, bound(pairs, gradMagnitude.dPosKey), `dPosKey ${label}`);
  if (s.p2c) expectClose(out.dPosQuery, grads.dPosQuery, bound(pairs, gradMagnitude.dPosQuery), `dPosQuery ${label}`);
  // A term that is off leaves its content gradient alone.
  if (!s.c2p) expect(Array.from(out.dq)).toEqual(Array.from(Float32Array.from(data.dq0)));
  if (!s.p2c) expect(Array.from(out.dk)).toEqual(Array.from(Float32Array.from(data.dk0)));
  return { out, pairs, gradMagnitude };
}

/** The batch in chunks of 1 and 2 rows (the last one partial) against the reference and against
 * one chunk: the same scores, dq and dk bit for bit (each element is computed alike); dPositions
 * sums the chunks' partial sums in turn, another fp32 order: each is within pairs·u·Σ|products|
 * of the exact sum, so within twice that of each other. */
async function checkChunks(s: RelativeAttentionShape) {
  const whole = await check(s);
  for (const rows of [1, 2]) {
    const { out } = await check(s, 1, rows);
    const label = `${JSON.stringify(s)} in chunks of ${rows}`;
    for (const name of ['scores', 'dq', 'dk'] as const) expect(Array.from(out[name]), `${name} ${label}`).toEqual(Array.from(whole.out[name]));
    if (s.c2p) expectClose(out.dPosKey, whole.out.dPosKey, bound(2 * whole.pairs, whole.gradMagnitude.dPosKey), `dPosKey ${label}`);
    if (s.p2c) expectClose(out.dPosQuery, whole.out.dPosQuery, bound(2 * whole.pairs, whole.gradMagnitude.dPosQuery), `dPosQuery ${label}`);
  }
}

describe.each(['tiled', 'direct'] as const)('relative attention terms (c2p, p2c) forward and backward (%s products) match their float64 reference', (variant) => {
  it('both terms, 4 buckets (deltas past ±2 log-bucketed), 3 heads of 5', () => check(shape(2, 7, 3, 5, true, true, 4, 6, variant)));
  it('c2p only, one token, one head', () => check(shape(3, 1, 1, 8, true, false, 16, 64, variant)));
  it('p2c only over 70 positions (many deltas clamped to the outer rows), 16 buckets', () => check(shape(2, 70, 2, 16, false, true, 16, 64, variant)));
  it('both terms without buckets: raw distances clamped at ±5 (10 rows)', () => check(shape(1, 13, 2, 3, true, true, -1, 5, variant)));
  it('DeBERTa-v3-base positions (256 buckets, 512 relative) on 9 tokens, heads of 64', () => check(shape(2, 9, 2, 64, true, true, 256, 512, variant)));
  it('c2p only, 3 heads of 7, 33 tokens in a window of 2 × 16 buckets', () => check(shape(3, 33, 3, 7, true, false, 16, 40, variant)));
});

describe.each(['tiled', 'direct'] as const)('relative attention terms run in batch chunks (%s products): a scratch of 1 or 2 of 5 rows gives the unsplit results', (variant) => {
  it('both terms, 4 buckets, 3 heads of 5, 7 tokens', () => checkChunks(shape(5, 7, 3, 5, true, true, 4, 6, variant)));
  it('p2c only, 2 heads of 16, 21 tokens in a window of 2 × 8 buckets (dPosQuery rows outside it cleared once)', () => checkChunks(shape(5, 21, 2, 16, false, true, 8, 32, variant)));
  it('c2p only, DeBERTa-v3-base positions on 9 tokens, heads of 64', () => checkChunks(shape(5, 9, 1, 64, true, false, 256, 512, variant)));
});

describe('relative scratch chunks', () => {
  it('take the most batch rows whose rel fits the bytes given, at least one', () => {
    // DeBERTa-v3-base at 32 × 256: 12 heads × 256 tokens × 385 columns (deltas past ±128 are
    // log-bucketed), 4,730,880 bytes a row: 144.4 MiB for the batch, 28 rows in 128 MiB.
    const s = { batch: 32, seq: 256, heads: 12, positions: { buckets: 256, maxRelative: 512, span: 256 } };
    expect(relativeWindow(s.positions, s.seq).columns).toBe(385);
    const row = 4 * 12 * 256 * 385;
    expect(relativeScratchSize(s, 1) * 4).toBe(row);
    expect(relativeChunkRows(s, 128 * 2 ** 20)).toBe(28);
    expect(relativeScratchSize(s, relativeChunkRows(s, 128 * 2 ** 20)) * 4).toBeLessThanOrEqual(128 * 2 ** 20);
    expect(relativeChunkRows(s, 2 ** 30)).toBe(32);
    expect(relativeChunkRows(s, row - 1)).toBe(1);
  });
});

/** The gather and its transpose alone, on each term. */
async function checkGathers(s: RelativeAttentionShape, term: RelativeTerm, seed = 1) {
  const { device } = await testGpu();
  const scoreShape = [s.batch, s.heads, s.seq, s.seq];
  const size = relativeScratchSize(s);
  const rel = f32(randomArray(size, seed, 2));
  const scores0 = f32(randomArray(s.batch * s.heads * s.seq * s.seq, seed + 1));
  const dScores = f32(randomArray(scores0.length, seed + 2));
  const scores = uploadTensor(device, scores0, scoreShape);
  // Prior contents that gatherSum must overwrite.
  const dRel = uploadTensor(device, randomArray(size, seed + 3), [size]);
  runDispatches(device, [
    relativeGather(device, { ...s, term, rel: uploadTensor(device, rel, [size]), scores }),
    relativeGatherSum(device, { ...s, term, dScores: uploadTensor(device, dScores, scoreShape), dRel }),
  ]);
  const label = `${term} ${JSON.stringify(s)}`;
  const magnitude = ref.relativeGather({ ...s, term, rel: abs(rel), scores: abs(scores0) });
  expectClose(await readTensor(device, scores), ref.relativeGather({ ...s, term, rel, scores: scores0 }), bound(2, magnitude), `gather ${label}`);
  // A column sums at most seq entries.
  const sumMagnitude = ref.relativeGatherSum({ ...s, term, dScores: abs(dScores) });
  expectClose(await readTensor(device, dRel), ref.relativeGatherSum({ ...s, term, dScores }), bound(s.seq + 1, sumMagnitude), `gatherSum ${label}`);
}

describe('relative gather and gatherSum match their float64 reference', () => {
  for (const term of ['c2p', 'p2c'] as const) {
    it(`${term}: 4 buckets over 11 tokens (log-bucketed, clamped), 3 heads, batch 3`, () => checkGathers(shape(3, 11, 3, 5, true, true, 4, 6), term));
    it(`${term}: raw distances clamped at ±5 over 13 tokens, batch 1`, () => checkGathers(shape(1, 13, 2, 3, true, true, -1, 5), term));
    it(`${term}: DeBERTa-v3-base positions on 37 tokens (a window of 73 of the 512 rows)`, () => checkGathers(shape(2, 37, 1, 64, true, true, 256, 512), term));
    it(`${term}: one token`, () => checkGathers(shape(2, 1, 3, 4, true, true, 16, 64), term));
  }
});

describe('attention with the relative terms added to its scores', () => {
  it('gives the probabilities, outputs and dScores of the float64 attention with that score bias', async () => {
    const { device } = await testGpu();
    const s = shape(2, 6, 2, 4, true, true, 4, 8);
    const data = inputs(s, 3);
    const A = s.heads * s.headDim;
    const tokens = [s.batch * s.seq, A];
    const rows = [2 * s.positions.span, A];
    const scoreShape = [s.batch, s.heads, s.seq, s.seq];
    const v = f32(randomArray(s.batch * s.seq * A, 11));
    const dOut = f32(randomArray(s.batch * s.seq * A, 12));
    const mask = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0];
    const up = (x: Float64Array | number[], sh: number[], dtype: 'f32' | 'u32' = 'f32') => uploadTensor(device, x, sh, dtype);
    const [q, k, vT, posKey, posQuery] = [up(data.q, tokens), up(data.k, tokens), up(v, tokens), up(data.posKey, rows), up(data.posQuery, rows)];
    const probs = createTensor(device, scoreShape);
    const dScores = createTensor(device, scoreShape);
    const rel = createTensor(device, [relativeScratchSize(s)]);
    const out = createTensor(device, tokens);
    const [dq, dk, dv] = [createTensor(device, tokens), createTensor(device, tokens), createTensor(device, tokens)];
    runDispatches(device, [
      ...attentionForward(device, { ...s, q, k, v: vT, mask: up(mask, [12], 'u32'), out, probs, addToScores: relativeScoresForward(device, { ...s, q, k, posKey, posQuery, scores: probs, rel }) }),
      ...attentionBackward(device, { ...s, dOut: up(dOut, tokens), q, k, v: vT, probs, dScores, dq, dk, dv }),
    ]);
    const scoreBias = ref.relativeScoresForward({ ...s, ...data });
    const expected = attentionRef.attentionForward({ ...s, q: data.q, k: data.k, v, mask, scoreBias });
    const grads = attentionRef.attentionBackward({ ...s, dOut, q: data.q, k: data.k, v, probs: expected.probs });
    expectClose(await readTensor(device, probs), expected.probs, { atol: 1e-6, rtol: 1e-5 }, 'probs');
    expectClose(await readTensor(device, out), expected.out, { atol: 5e-6, rtol: 1e-5 }, 'out');
    expectClose(await readTensor(device, dScores), grads.dScores, { atol: 1e-5, rtol: 1e-5 }, 'dScores');
  });
});
