import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { attentionBackward, attentionForward } from './attention.ts';
import * as attentionRef from './attention.ref.ts';
import { kvBroadcastBackward, kvBroadcastForward, type KvShape } from './kv_broadcast.ts';
import * as ref from './kv_broadcast.ref.ts';

const maxAbs = (v: Float64Array) => v.reduce((m, x) => Math.max(m, Math.abs(x)), 0);

async function check(s: KvShape, seed = 1) {
  const { device } = await testGpu();
  const { tokens, heads, kvHeads, headDim } = s;
  const kv = f32(randomArray(tokens * kvHeads * headDim, seed));
  const dOut = f32(randomArray(tokens * heads * headDim, seed + 1));
  const out = createTensor(device, [tokens, heads * headDim]);
  const dKv = createTensor(device, [tokens, kvHeads * headDim]);
  runDispatches(device, [
    kvBroadcastForward(device, { ...s, kv: uploadTensor(device, kv, [tokens, kvHeads * headDim]), out }),
    kvBroadcastBackward(device, { ...s, dOut: uploadTensor(device, dOut, [tokens, heads * headDim]), dKv }),
  ]);
  // The forward copies: exact. The backward sums `group` fp32 values: group − 1 roundings of
  // partial sums ≤ group·max|dOut|, each ≤ 2⁻²⁴ relative.
  expectClose(await readTensor(device, out), ref.kvBroadcastForward({ ...s, kv }), { atol: 0, rtol: 0 }, `forward ${JSON.stringify(s)}`);
  const group = heads / kvHeads;
  expectClose(await readTensor(device, dKv), ref.kvBroadcastBackward({ ...s, dOut }), { atol: (group - 1) * group * 2 ** -24 * maxAbs(dOut), rtol: 0 }, `backward ${JSON.stringify(s)}`);
}

describe('kvBroadcast matches its float64 reference', () => {
  it('with one KV head for all (multi-query)', () => check({ tokens: 7, heads: 5, kvHeads: 1, headDim: 3 }));
  it('with as many KV heads as heads (a copy)', () => check({ tokens: 3, heads: 4, kvHeads: 4, headDim: 5 }));
  it('with groups in between (Llama 3.2 1B: 32 heads on 8), a single token', () => check({ tokens: 1, heads: 32, kvHeads: 8, headDim: 64 }));
  it('with groups of 3 on more tokens than one workgroup covers', () => check({ tokens: 131, heads: 6, kvHeads: 2, headDim: 7 }));
  it('refuses heads that are not a multiple of the KV heads', async () => {
    const { device } = await testGpu();
    const t = createTensor(device, [12]);
    expect(() => kvBroadcastForward(device, { tokens: 1, heads: 6, kvHeads: 4, headDim: 2, kv: t, out: t })).toThrow(/6 attention heads are not a multiple of 4 KV heads/);
  });
});

// Grouped-query attention as the model will run it: k and v broadcast to every query head,
// attention unchanged (causal, with padding), the gradients summed back per KV head.
interface GqaCase {
  batch: number;
  seq: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  lengths: number[];
}

function gqaInputs(c: GqaCase, seed: number) {
  const tokens = c.batch * c.seq;
  const mask = Array.from({ length: tokens }, (_, i) => Number(i % c.seq < c.lengths[Math.floor(i / c.seq)]));
  return {
    q: f32(randomArray(tokens * c.heads * c.headDim, seed, 2)),
    k: f32(randomArray(tokens * c.kvHeads * c.headDim, seed + 1, 2)),
    v: f32(randomArray(tokens * c.kvHeads * c.headDim, seed + 2)),
    dOut: f32(randomArray(tokens * c.heads * c.headDim, seed + 3)),
    mask,
  };
}

/** The float64 composition: broadcast, attention, and the summed gradients. */
function gqaRef(c: GqaCase, data: ReturnType<typeof gqaInputs>) {
  const shape = { tokens: c.batch * c.seq, heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim };
  const attn = { batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim), causal: true, mask: data.mask };
  const k = ref.kvBroadcastForward({ ...shape, kv: data.k });
  const v = ref.kvBroadcastForward({ ...shape, kv: data.v });
  const { out, probs } = attentionRef.attentionForward({ ...attn, q: data.q, k, v });
  const grads = attentionRef.attentionBackward({ ...attn, dOut: data.dOut, q: data.q, k, v, probs });
  return { out, dq: grads.dq, dk: ref.kvBroadcastBackward({ ...shape, dOut: grads.dk }), dv: ref.kvBroadcastBackward({ ...shape, dOut: grads.dv }) };
}

describe('grouped-query attention (kv broadcast around the attention kernel)', () => {
  it.each([1, 2, 6])('matches the float64 composition with %i KV heads of 6, causal and padded', async (kvHeads) => {
    const { device } = await testGpu();
    const c: GqaCase = { batch: 2, seq: 5, heads: 6, kvHeads, headDim: 4, lengths: [5, 3] };
    const data = gqaInputs(c, 3);
    const tokens = c.batch * c.seq;
    const shape = { tokens, heads: c.heads, kvHeads, headDim: c.headDim };
    const wide = [tokens, c.heads * c.headDim];
    const narrow = [tokens, kvHeads * c.headDim];
    const scores = [c.batch, c.heads, c.seq, c.seq];
    const attn = { batch: c.batch, seq: c.seq, heads: c.heads, headDim: c.headDim, scale: 1 / Math.sqrt(c.headDim) };
    const q = uploadTensor(device, data.q, wide);
    const [kWide, vWide, out, dq, dkWide, dvWide] = [0, 1, 2, 3, 4, 5].map(() => createTensor(device, wide));
    const [dk, dv] = [createTensor(device, narrow), createTensor(device, narrow)];
    const probs = createTensor(device, scores);
    runDispatches(device, [
      kvBroadcastForward(device, { ...shape, kv: uploadTensor(device, data.k, narrow), out: kWide }),
      kvBroadcastForward(device, { ...shape, kv: uploadTensor(device, data.v, narrow), out: vWide }),
      ...attentionForward(device, { ...attn, q, k: kWide, v: vWide, mask: uploadTensor(device, data.mask, [tokens], 'u32'), causal: true, out, probs }),
      ...attentionBackward(device, {
        ...attn, dOut: uploadTensor(device, data.dOut, wide), q, k: kWide, v: vWide, probs, dScores: createTensor(device, scores), dq, dk: dkWide, dv: dvWide,
      }),
      kvBroadcastBackward(device, { ...shape, dOut: dkWide, dKv: dk }),
      kvBroadcastBackward(device, { ...shape, dOut: dvWide, dKv: dv }),
    ]);
    const expected = gqaRef(c, data);
    // attention.test.ts's tolerances; dk and dv add up `group` heads' gradients, each within 1e-5.
    const group = c.heads / kvHeads;
    expectClose(await readTensor(device, out), expected.out, { atol: 5e-6, rtol: 1e-5 }, 'out');
    expectClose(await readTensor(device, dq), expected.dq, { atol: 1e-5, rtol: 1e-5 }, 'dq');
    expectClose(await readTensor(device, dk), expected.dk, { atol: group * 1e-5, rtol: 1e-5 }, 'dk');
    expectClose(await readTensor(device, dv), expected.dv, { atol: group * 1e-5, rtol: 1e-5 }, 'dv');
  });

  it('has, in float64, the gradients of its forward w.r.t. the shared k and v (central differences)', () => {
    const c: GqaCase = { batch: 1, seq: 4, heads: 4, kvHeads: 2, headDim: 3, lengths: [4] };
    const data = gqaInputs(c, 8);
    const expected = gqaRef(c, data);
    const loss = (k: Float64Array, v: Float64Array) => gqaRef(c, { ...data, k, v }).out.reduce((s, y, i) => s + y * data.dOut[i], 0);
    const h = 1e-6;
    const numeric = (x: Float64Array, f: (p: Float64Array) => number) =>
      x.map((_, i) => {
        const [plus, minus] = [Float64Array.from(x), Float64Array.from(x)];
        plus[i] += h;
        minus[i] -= h;
        return (f(plus) - f(minus)) / (2 * h);
      });
    const fd = { atol: 1e-7, rtol: 1e-6 }; // O(h²) truncation, ~1e-10/h rounding
    expectClose(expected.dk, numeric(data.k, (k) => loss(k, data.v)), fd, 'dk');
    expectClose(expected.dv, numeric(data.v, (v) => loss(data.k, v)), fd, 'dv');
  });
});
