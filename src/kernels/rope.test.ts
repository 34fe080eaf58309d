import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { ELEMENTWISE_WORKGROUP } from './grid.ts';
import { createRopeTable, ropeBackward, ropeForward, ropeInPlace, ropeTable, type RopeConfig } from './rope.ts';
import * as ref from './rope.ref.ts';
import { ropeInverseFrequencies } from './rope_frequencies.ts';

// Llama-3.2-1B's rotary settings (config.json: head_dim 64, rope_theta 500000, rope_scaling llama3).
const LLAMA32: RopeConfig = {
  headDim: 64,
  theta: 500000,
  scaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 },
};
const QWEN2: RopeConfig = { headDim: 64, theta: 1000000 };

interface Case {
  batch: number;
  seq: number;
  heads: number;
  config: RopeConfig;
  positionOffset?: number;
  /** Per-token positions (left-padded prompts) instead of offset + t mod seq. */
  positions?: number[];
  mode: 'out of place' | 'in place';
  direction: 'forward' | 'backward';
}

// Both sides use the same float32 table, so the kernel's only error is its own arithmetic:
// a·c − b·s rounds three times, ≤ 1.5·2⁻²⁴·(|a| + |b|) ≤ 3·2⁻²⁴·max|x|; 4·2⁻²⁴·max|x| absolute.
async function check(c: Case, seed = 1) {
  const { device } = await testGpu();
  const { batch, seq, heads, config } = c;
  const { headDim } = config;
  const tokens = batch * seq;
  const positions = c.positions ? Math.max(...c.positions) + 1 : (c.positionOffset ?? 0) + seq;
  const x = f32(randomArray(tokens * heads * headDim, seed, 3));
  const table = createRopeTable(device, config, positions);
  const shape = [tokens, heads * headDim];
  const perToken = c.positions && uploadTensor(device, c.positions, [tokens], 'u32');
  const args = { table, tokens, seq, heads, headDim, positionOffset: c.positionOffset, positions: perToken };
  const backward = c.direction === 'backward';
  let out;
  if (c.mode === 'in place') {
    out = uploadTensor(device, x, shape);
    runDispatches(device, [ropeInPlace(device, { ...args, data: out, backward })]);
  } else {
    out = createTensor(device, shape);
    const input = uploadTensor(device, x, shape);
    runDispatches(device, [backward ? ropeBackward(device, { ...args, dy: input, dx: out }) : ropeForward(device, { ...args, x: input, y: out })]);
  }
  const refArgs = { table: Float64Array.from(ropeTable(config, positions)), tokens, seq, heads, headDim, positionOffset: c.positionOffset, positions: c.positions };
  const expected = backward ? ref.ropeBackward({ ...refArgs, dy: x }) : ref.ropeForward({ ...refArgs, x });
  const maxAbs = x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  expectClose(await readTensor(device, out), expected, { atol: 4 * 2 ** -24 * maxAbs, rtol: 0 }, JSON.stringify(c));
}

describe('rope kernels match their float64 reference', () => {
  const llama2 = (headDim: number): RopeConfig => ({ headDim, theta: 10000 });
  it('forward out of place, several rows, an odd number of pairs per head', () =>
    check({ batch: 2, seq: 5, heads: 3, config: llama2(6), mode: 'out of place', direction: 'forward' }));
  it('backward out of place, batch 1, one pair per head, positions offset as in generation', () =>
    check({ batch: 1, seq: 7, heads: 1, config: llama2(2), positionOffset: 4, mode: 'out of place', direction: 'backward' }));
  it('forward in place with llama3 scaling (Llama 3.2 1B), a sequence not a multiple of anything', () =>
    check({ batch: 3, seq: 33, heads: 2, config: LLAMA32, mode: 'in place', direction: 'forward' }));
  it('backward in place (Qwen2 theta)', () =>
    check({ batch: 2, seq: 9, heads: 3, config: QWEN2, mode: 'in place', direction: 'backward' }));
  it('in place at per-token positions (two left-padded prompts, pads at position 1 as transformers puts them)', () =>
    check({ batch: 2, seq: 5, heads: 2, config: llama2(8), positions: [0, 1, 2, 3, 4, 1, 1, 0, 1, 2], mode: 'in place', direction: 'forward' }));
  it('past the grid-stride cap, where an invocation takes several pairs', () =>
    check({ batch: 2, seq: 130, heads: 4, config: { headDim: 2 * ELEMENTWISE_WORKGROUP * 5 + 2, theta: 10000 }, mode: 'out of place', direction: 'forward' }));
  it('refuses a table too short for the positions, and rows that do not divide the tokens', async () => {
    const { device } = await testGpu();
    const table = createRopeTable(device, llama2(4), 5);
    const data = createTensor(device, [6, 4]);
    expect(() => ropeInPlace(device, { table, data, tokens: 6, seq: 3, heads: 1, headDim: 4, positionOffset: 3 })).toThrow(/table of 6, it has 5/);
    expect(() => ropeInPlace(device, { table, data, tokens: 6, seq: 4, heads: 1, headDim: 4 })).toThrow(/not whole rows of 4/);
    expect(() => ropeInPlace(device, { table, data, tokens: 6, seq: 3, heads: 1, headDim: 4, positions: createTensor(device, [6]) })).toThrow(/positions must be u32 \[6\]/);
  });
});

describe('rope inverse frequencies', () => {
  it("follow transformers' llama3 scaling (values computed independently in Python float64)", () => {
    // i = 14 is kept (wavelength < 8192/4), 15–17 are smoothed, 18 and 31 divided by the factor.
    const expected: Record<number, number> = {
      0: 1.0, 14: 0.0032114459947525913, 15: 0.001290547928209264, 16: 0.00042955679655936815,
      17: 9.70828780262767e-5, 18: 1.9461638184831125e-5, 31: 9.418306725434909e-8,
    };
    const inv = ropeInverseFrequencies(LLAMA32, (v) => v);
    for (const [i, v] of Object.entries(expected)) expect(inv[Number(i)] / v - 1, `inv_freq[${i}]`).toBeCloseTo(0, 13);
  });

  it('in float32 stay within their rounding bound of float64', () => {
    // θ^(2i/d) with its exponent rounded to float32 is off by up to ln θ·2⁻²⁴ relative, the pow,
    // reciprocal and divisions add ~2⁻²³. The llama3 smoothing mixes f and f/factor with a
    // weight whose float32 error (a few 2⁻²⁴) is amplified up to `factor` times where the
    // result is ≈ f/factor: 8·factor·2⁻²⁴ more there.
    for (const config of [QWEN2, LLAMA32]) {
      const exact = ropeInverseFrequencies(config, (v) => v);
      const single = ropeInverseFrequencies(config, Math.fround);
      const bound = (Math.log(config.theta) + 4 + 8 * (config.scaling?.factor ?? 0)) * 2 ** -24;
      single.forEach((v, i) => expect(Math.abs(v / exact[i] - 1), `θ ${config.theta} inv_freq[${i}]`).toBeLessThanOrEqual(bound));
    }
  });

  it('give a float32 table within the angle error of the float64 one', () => {
    // Angle p·f in float32: f's relative error (bounded above) times the angle, plus its own
    // rounding (2⁻²⁴ relative); cos and sin are 1-Lipschitz; the table's own rounding 2⁻²⁴.
    const positions = 3000;
    for (const config of [QWEN2, LLAMA32]) {
      const single = ropeTable(config, positions);
      const exact = ref.ropeTable(config, positions);
      const inv = ropeInverseFrequencies(config, (v) => v);
      const half = config.headDim / 2;
      const rel = (Math.log(config.theta) + 5 + 8 * (config.scaling?.factor ?? 0)) * 2 ** -24;
      for (let k = 0; k < exact.length; k++) {
        const angle = Math.floor(k / 2 / half) * inv[Math.floor(k / 2) % half];
        const err = Math.abs(single[k] - exact[k]);
        if (err > rel * angle + 2 ** -24) expect.fail(`θ ${config.theta} table[${k}]: error ${err} at angle ${angle}`);
      }
    }
  });

  it('refuse settings that are not rotary embeddings', () => {
    expect(() => ropeInverseFrequencies({ headDim: 7, theta: 10000 }, Math.fround)).toThrow(/head_dim 7/);
    expect(() => ropeInverseFrequencies({ headDim: 8, theta: 0 }, Math.fround)).toThrow(/rope_theta 0/);
    expect(() => ropeInverseFrequencies({ ...LLAMA32, scaling: { ...LLAMA32.scaling!, highFreqFactor: 1 } }, Math.fround)).toThrow(/high_freq_factor/);
  });
});

describe('the rope reference', () => {
  const table = ref.ropeTable({ headDim: 6, theta: 10000 }, 4);
  const shape = { table, tokens: 8, seq: 4, heads: 2, headDim: 6 };
  const x = randomArray(8 * 2 * 6, 3);

  it('has the gradient of its forward (central differences in float64)', () => {
    const w = randomArray(x.length, 4); // loss = Σ w·rope(x), so dy = w
    const loss = (v: Float64Array) => ref.ropeForward({ ...shape, x: v }).reduce((s, y, i) => s + y * w[i], 0);
    const h = 1e-6;
    const numeric = x.map((_, i) => {
      const [plus, minus] = [Float64Array.from(x), Float64Array.from(x)];
      plus[i] += h;
      minus[i] -= h;
      return (loss(plus) - loss(minus)) / (2 * h);
    });
    expectClose(ref.ropeBackward({ ...shape, dy: w }), numeric, { atol: 1e-8, rtol: 1e-7 }, 'dx'); // loss is linear: rounding only
  });

  it('rotates position 0 by nothing and pairs i with i + d/2', () => {
    const y = ref.ropeForward({ ...shape, x });
    expectClose(y.subarray(0, 12), x.subarray(0, 12), { atol: 0, rtol: 0 }, 'position 0');
    // Position 1, pair 0 turns by 1 radian (inv_freq[0] = 1): (a, b) → (a cos 1 − b sin 1, b cos 1 + a sin 1).
    const [a, b] = [x[12], x[15]];
    expect(y[12]).toBeCloseTo(a * Math.cos(1) - b * Math.sin(1), 14);
    expect(y[15]).toBeCloseTo(b * Math.cos(1) + a * Math.sin(1), 14);
  });
});
