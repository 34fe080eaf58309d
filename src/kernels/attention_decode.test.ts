import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import * as attentionRef from './attention.ref.ts';
import { attentionDecode, type AttentionDecodeShape } from './attention_decode.ts';
import * as ref from './attention_decode.ref.ts';
import * as kvRef from './kv_broadcast.ref.ts';

interface Case extends Omit<AttentionDecodeShape, 'scale'> {
  start: number;
}

// Inputs in [−1, 1): a score q·k sums headDim fp32 products, error ≤ headDim·2⁻²⁴·headDim·scale;
// exp and the normalisation add a few ulps; the output is a convex mix of v (|v| < 1), so its
// error stays below (score error + 8·2⁻²⁴)·2 ≈ 2e-6 for headDim ≤ 64.
const TOL = { atol: 2e-6, rtol: 0 };

async function check(c: Case, seed = 1) {
  const { device } = await testGpu();
  const { queries, heads, kvHeads, headDim, capacity, start } = c;
  const scale = 1 / Math.sqrt(headDim);
  const q = f32(randomArray(queries * heads * headDim, seed));
  // Rows past start + queries hold garbage the kernel must not read.
  const kCache = f32(randomArray(capacity * kvHeads * headDim, seed + 1));
  const vCache = f32(randomArray(capacity * kvHeads * headDim, seed + 2));
  const out = createTensor(device, [queries, heads * headDim]);
  runDispatches(device, attentionDecode(device, {
    queries, heads, kvHeads, headDim, capacity, scale,
    q: uploadTensor(device, q, [queries, heads * headDim]),
    kCache: uploadTensor(device, kCache, [capacity, kvHeads * headDim]),
    vCache: uploadTensor(device, vCache, [capacity, kvHeads * headDim]),
    start: uploadTensor(device, [start], [1], 'u32'),
    scores: createTensor(device, [queries, heads, capacity]),
    out,
  }));
  const expected = ref.attentionDecode({ queries, heads, kvHeads, headDim, capacity, scale, q, kCache, vCache, start });
  expectClose(await readTensor(device, out), expected, TOL, JSON.stringify(c));
}

describe('attentionDecode matches its float64 reference', () => {
  it('one query (a generation step) deep into the cache, grouped heads', () => check({ queries: 1, heads: 6, kvHeads: 2, headDim: 7, capacity: 23, start: 17 }));
  it('one query at position 0 (a single key)', () => check({ queries: 1, heads: 4, kvHeads: 4, headDim: 5, capacity: 3, start: 0 }));
  it('a prefill of 9 queries on one KV head, filling the cache', () => check({ queries: 9, heads: 3, kvHeads: 1, headDim: 12, capacity: 9, start: 0 }));
  it('a second prompt chunk after earlier tokens (start > 0, queries > 1)', () => check({ queries: 5, heads: 4, kvHeads: 2, headDim: 16, capacity: 40, start: 11 }));
  it('more keys than one workgroup covers, Llama-3.2-1B heads', () => check({ queries: 1, heads: 32, kvHeads: 8, headDim: 64, capacity: 300, start: 299 }));
  it('refuses heads that are not a multiple of the KV heads', async () => {
    const { device } = await testGpu();
    const t = createTensor(device, [12]);
    const start = createTensor(device, [1], 'u32');
    expect(() => attentionDecode(device, { queries: 1, heads: 6, kvHeads: 4, headDim: 2, capacity: 1, scale: 1, q: t, kCache: t, vCache: t, start, scores: t, out: t })).toThrow(/6 attention heads are not a multiple of 4 KV heads/);
  });
});

describe('attentionDecode reference', () => {
  // The decode reference must be the training attention (causal, KV broadcast) restricted to the
  // cache: a prefill from position 0 is exactly that.
  it('equals causal attention over broadcast K, V for a prefill from position 0', () => {
    const [seq, heads, kvHeads, headDim] = [6, 4, 2, 3];
    const scale = 0.5;
    const q = randomArray(seq * heads * headDim, 4);
    const k = randomArray(seq * kvHeads * headDim, 5);
    const v = randomArray(seq * kvHeads * headDim, 6);
    const shape = { tokens: seq, heads, kvHeads, headDim };
    const full = attentionRef.attentionForward({
      batch: 1, seq, heads, headDim, scale, causal: true, mask: new Array(seq).fill(1),
      q, k: kvRef.kvBroadcastForward({ ...shape, kv: k }), v: kvRef.kvBroadcastForward({ ...shape, kv: v }),
    }).out;
    const decoded = ref.attentionDecode({ queries: seq, heads, kvHeads, headDim, capacity: seq, scale, q, kCache: k, vCache: v, start: 0 });
    expectClose(decoded, full, { atol: 1e-14, rtol: 0 });
  });
});
