import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { skipWithoutSubgroups, testGpu } from '../test/gpu.ts';
import { attentionBackward, attentionForward, type AttentionShape } from './attention.ts';
import * as ref from './attention.ref.ts';

// Probabilities: a score is an fp32 dot of headDim ≤ 64 terms with |q|, |k| ≤ 2, off by at most
// ~64·2⁻²⁴·4·scale ≈ 2e-6 (≈ 3e-7 seen); exp turns that into the same relative error.
const PROBS_TOL = { atol: 1e-6, rtol: 1e-5 };
// out, dq, dk, dv: sums over ≤ 70 keys of terms ≤ 2 carrying those relative errors, and for dq,
// dk the cancellation in dP − rowsum(dP ⊙ P) with |dP| ≤ headDim; ≤ 1.1e-6 seen, 10× below.
const OUT_TOL = { atol: 5e-6, rtol: 1e-5 };
const GRAD_TOL = { atol: 1e-5, rtol: 1e-5 };

interface Case extends AttentionShape {
  /** Real tokens per sequence (the rest are padding); `left` pads the front instead. */
  lengths: number[];
  left?: boolean;
  causal?: boolean;
}

function makeMask({ batch, seq, lengths, left }: Case): number[] {
  const mask: number[] = [];
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) mask.push(Number(left ? t >= seq - lengths[b] : t < lengths[b]));
  }
  return mask;
}

function inputs(c: Case, seed: number) {
  const size = c.batch * c.seq * c.heads * c.headDim;
  // |q|, |k| ≤ 2 so that the softmax is far from uniform.
  return {
    q: f32(randomArray(size, seed, 2)),
    k: f32(randomArray(size, seed + 1, 2)),
    v: f32(randomArray(size, seed + 2)),
    dOut: f32(randomArray(size, seed + 3)),
    mask: makeMask(c),
  };
}

interface GpuRun {
  forward: ReturnType<typeof attentionForward>;
  backward: ReturnType<typeof attentionBackward>;
  tensors: Record<'out' | 'probs' | 'dq' | 'dk' | 'dv', Tensor>;
}

async function build(c: Case, data: ReturnType<typeof inputs>, dropout?: { p: number; stream: number; seed: Tensor }): Promise<GpuRun> {
  const { device } = await testGpu();
  const tokens = [c.batch * c.seq, c.heads * c.headDim];
  const scores = [c.batch, c.heads, c.seq, c.seq];
  const q = uploadTensor(device, data.q, tokens);
  const k = uploadTensor(device, data.k, tokens);
  const v = uploadTensor(device, data.v, tokens);
  const tensors = {
    out: createTensor(device, tokens),
    probs: createTensor(device, scores),
    dq: createTensor(device, tokens),
    dk: createTensor(device, tokens),
    dv: createTensor(device, tokens),
  };
  const forward = attentionForward(device, {
    ...c, q, k, v, mask: uploadTensor(device, data.mask, [c.batch * c.seq], 'u32'), dropout, out: tensors.out, probs: tensors.probs,
  });
  const backward = attentionBackward(device, {
    ...c, dOut: uploadTensor(device, data.dOut, tokens), q, k, v, probs: tensors.probs, dropout,
    dScores: createTensor(device, scores), dq: tensors.dq, dk: tensors.dk, dv: tensors.dv,
  });
  return { forward, backward, tensors };
}

async function expectMatchesRef(run: GpuRun, c: Case, data: ReturnType<typeof inputs>, dropout?: ref.AttentionDropoutRef) {
  const { device } = await testGpu();
  runDispatches(device, [...run.forward, ...run.backward]);
  const expected = ref.attentionForward({ ...c, ...data, dropout });
  const grads = ref.attentionBackward({ ...c, ...data, probs: expected.probs, dropout });
  const label = JSON.stringify(c) + (dropout ? ` dropout ${JSON.stringify(dropout)}` : '');
  const probs = await readTensor(device, run.tensors.probs);
  expectClose(probs, expected.probs, PROBS_TOL, `probs ${label}`);
  // A masked key's probability is exactly 0 (not merely small) wherever the reference's is.
  for (let i = 0; i < probs.length; i++) if (expected.probs[i] === 0) expect(probs[i], `probs[${i}] ${label}`).toBe(0);
  expectClose(await readTensor(device, run.tensors.out), expected.out, OUT_TOL, `out ${label}`);
  expectClose(await readTensor(device, run.tensors.dv), grads.dv, GRAD_TOL, `dv ${label}`);
  expectClose(await readTensor(device, run.tensors.dq), grads.dq, GRAD_TOL, `dq ${label}`);
  expectClose(await readTensor(device, run.tensors.dk), grads.dk, GRAD_TOL, `dk ${label}`);
}

async function check(c: Case, seed = 1) {
  const data = inputs(c, seed);
  await expectMatchesRef(await build(c, data), c, data);
}

const bert = (headDim: number) => 1 / Math.sqrt(headDim);

// The products' variant beside the softmaxes': every softmax variant runs once.
const VARIANTS = [['tiled', 'subgroup'], ['tiled', 'workgroup'], ['direct', 'rows']] as const;

describe.each(VARIANTS)('attention (%s products, %s softmax) forward and backward match their float64 reference', (variant, softmaxVariant) => {
  skipWithoutSubgroups(softmaxVariant);
  it('with padded keys in some sequences and one sequence fully unpadded', () =>
    check({ variant, softmaxVariant, batch: 3, seq: 7, heads: 3, headDim: 8, scale: bert(8), lengths: [7, 4, 2] }));
  it('on a sequence length that is not a multiple of the 64-row tile', () =>
    check({ variant, softmaxVariant, batch: 2, seq: 70, heads: 2, headDim: 16, scale: bert(16), lengths: [70, 51] }));
  it('with seq = 1 and a single head', () =>
    check({ variant, softmaxVariant, batch: 3, seq: 1, heads: 1, headDim: 8, scale: bert(8), lengths: [1, 1, 1] }));
  it('with the BERT-base head layout (12 heads of 64)', () =>
    check({ variant, softmaxVariant, batch: 2, seq: 9, heads: 12, headDim: 64, scale: bert(64), lengths: [9, 5] }));
  it('with causal masking and right padding', () =>
    check({ variant, softmaxVariant, batch: 2, seq: 67, heads: 2, headDim: 16, scale: bert(16), lengths: [67, 40], causal: true }));
  it('with causal masking and left padding (padded queries with no real key are uniform)', () =>
    check({ variant, softmaxVariant, batch: 2, seq: 6, heads: 2, headDim: 8, scale: bert(8), lengths: [6, 3], left: true, causal: true }));
  it('with a fully padded sequence (uniform rows, as Hugging Face gives)', () =>
    check({ variant, softmaxVariant, batch: 2, seq: 5, heads: 1, headDim: 8, scale: bert(8), lengths: [3, 0] }));

  it('with attention dropout, regenerating the mask from the seed the caller rewrites each step', async () => {
    const { device } = await testGpu();
    const c: Case = { variant, softmaxVariant, batch: 2, seq: 66, heads: 2, headDim: 8, scale: bert(8), lengths: [66, 30] };
    const data = inputs(c, 7);
    const seed = uploadTensor(device, [12345], [1], 'u32');
    const run = await build(c, data, { p: 0.25, stream: 3, seed });
    await expectMatchesRef(run, c, data, { p: 0.25, stream: 3, seed: 12345 });
    writeTensor(device, seed, [777]);
    await expectMatchesRef(run, c, data, { p: 0.25, stream: 3, seed: 777 });
  });
});

describe('the float64 attention reference', () => {
  const c: Case = { batch: 2, seq: 5, heads: 2, headDim: 3, scale: 0.7, lengths: [5, 3], causal: true };

  it('has a backward equal to central finite differences of its forward (padding, causal, dropout)', () => {
    // Every query row has a real key here (right padding): rows with none are constant in q, k.
    const data = inputs(c, 11);
    const dropout = { p: 0.3, stream: 1, seed: 99 };
    const loss = (x: Pick<typeof data, 'q' | 'k' | 'v'>) =>
      ref.attentionForward({ ...c, ...data, ...x, dropout }).out.reduce((s, o, i) => s + o * data.dOut[i], 0);
    const { probs } = ref.attentionForward({ ...c, ...data, dropout });
    const grads = ref.attentionBackward({ ...c, ...data, probs, dropout });
    const h = 1e-6;
    for (const name of ['q', 'k', 'v'] as const) {
      const numeric = data[name].map((_, i) => {
        const plus = Float64Array.from(data[name]);
        const minus = Float64Array.from(data[name]);
        plus[i] += h;
        minus[i] -= h;
        return (loss({ ...data, [name]: plus }) - loss({ ...data, [name]: minus })) / (2 * h);
      });
      // Central differences: truncation O(h²) ≈ 1e-12, rounding ≈ 1e-16·|loss|/h ≈ 1e-9.
      expectClose(grads[`d${name}`], numeric, { atol: 1e-7, rtol: 1e-6 }, `d${name}`);
    }
    // The dropout mask is really applied: without it the output differs.
    expect(ref.attentionForward({ ...c, ...data }).out).not.toEqual(ref.attentionForward({ ...c, ...data, dropout }).out);
  });

  it('ignores padded keys: outputs equal attention over the real tokens alone', () => {
    const noCausal: Case = { ...c, causal: false };
    const data = inputs(noCausal, 5);
    const full = ref.attentionForward({ ...noCausal, ...data }).out;
    const width = c.heads * c.headDim;
    const real = 3;
    // Sequence 1 has 3 real tokens: rerun it alone at seq = 3.
    const slice = (x: Float64Array) => x.slice(c.seq * width, (c.seq + real) * width);
    const alone = ref.attentionForward({
      ...noCausal, batch: 1, seq: real, q: slice(data.q), k: slice(data.k), v: slice(data.v), mask: [1, 1, 1],
    }).out;
    expectClose(slice(full), alone, { atol: 1e-14, rtol: 1e-12 }, 'padded vs truncated');
  });
});
