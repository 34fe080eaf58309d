import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray, type Tolerance } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { activationBackward, activationForward, gatedBackward, gatedForward, type ActivationKind } from './activation.ts';
import {
  activationBackward as activationBackwardRef,
  activationForward as activationForwardRef,
  gatedBackward as gatedBackwardRef,
  gatedForward as gatedForwardRef,
} from './activation.ref.ts';

// Inputs: a dense sweep of [−12, 12] (the tails where Φ and the tanh form underflow), random
// values, ±0, and huge magnitudes that must saturate without NaN. 1001 is not a multiple of 256.
const SPECIAL = [0, -0, 1e-30, -1e-30, 1e-4, -1e-4, 0.5, -0.5, 20, -20, 50, -50, 1e4, -1e4, 1e20, -1e20, 3e38, -3e38];
const x = f32([...Array.from({ length: 601 }, (_, i) => -12 + i * 0.04), ...randomArray(1001 - 601 - SPECIAL.length, 7, 4), ...SPECIAL]);
const dy = f32(randomArray(x.length, 8));

// Relative error of the fp32 kernels against float64: the approximations (erfc < 1.2e-7, tanh's
// u¹³ series < 1e-7) sit below 2⁻²³; what grows is exp's error from rounding its argument
// (≈ |arg|·2⁻²⁴: Φ(x) and the gelu_new sigmoid take arguments ≈ x²/2 and ≈ 1.6·|x| + 0.07·|x|³),
// 2e-6 relative while |f(x)| > 1e-5 and ~1e-5 by |x| = 12, where |f(x)| < 1e-30: the absolute
// floor 1e-11 covers the deep tail. (Abramowitz–Stegun's erf, 1.5e-7 absolute, fails this by
// orders of magnitude in the negative tail.) Backward: f′ crosses zero (gelu near x = −0.75), so
// an absolute floor of a few fp32 roundings of O(1) terms, 5e-8, is needed there. silu is exp's
// error on an exact argument, x/(1 + e^(−x)) rounding a few times; its f′ crosses zero at −1.28.
const TOL: Record<ActivationKind, { forward: Tolerance; backward: Tolerance }> = {
  gelu: { forward: { atol: 1e-11, rtol: 2e-6 }, backward: { atol: 5e-8, rtol: 2e-6 } },
  gelu_new: { forward: { atol: 1e-11, rtol: 2e-6 }, backward: { atol: 5e-8, rtol: 2e-6 } },
  tanh: { forward: { atol: 1e-37, rtol: 5e-7 }, backward: { atol: 5e-8, rtol: 2e-6 } },
  relu: { forward: { atol: 0, rtol: 0 }, backward: { atol: 0, rtol: 0 } },
  silu: { forward: { atol: 1e-11, rtol: 2e-6 }, backward: { atol: 5e-8, rtol: 2e-6 } },
};

async function run(kind: ActivationKind, backward: boolean): Promise<Float32Array> {
  const { device } = await testGpu();
  const n = x.length;
  const out = createTensor(device, [n]);
  const xt = uploadTensor(device, x, [n]);
  runDispatches(device, [
    backward
      ? activationBackward(device, { dy: uploadTensor(device, dy, [n]), x: xt, dx: out, n, kind })
      : activationForward(device, { x: xt, y: out, n, kind }),
  ]);
  return readTensor(device, out);
}

describe.each(['gelu', 'gelu_new', 'tanh', 'relu', 'silu'] as const)('%s', (kind) => {
  it('forward matches its float64 reference from −12 to 12 and saturates at huge |x| without NaN', async () => {
    const y = await run(kind, false);
    expect(y.every(Number.isFinite)).toBe(true);
    expectClose(y, activationForwardRef({ x, n: x.length, kind }), TOL[kind].forward, `${kind} forward`);
  });

  it('backward matches dy·f′(x) of its float64 reference and has no NaN at huge |x|', async () => {
    const dx = await run(kind, true);
    expect(dx.every(Number.isFinite)).toBe(true);
    expectClose(dx, activationBackwardRef({ dy, x, n: x.length, kind }), TOL[kind].backward, `${kind} backward`);
  });
});

describe.each(['silu', 'gelu'] as const)('the gated product %s(gate) ⊙ up', (kind) => {
  // The same sweep as gate, a random up; the product and dh·up add two roundings to f's and f′'s
  // errors (TOL), and where up is tiny the absolute floors shrink with it.
  const up = f32(randomArray(x.length, 9, 3));

  it('forward and backward match the float64 reference, no NaN at huge |gate|', async () => {
    const { device } = await testGpu();
    const n = x.length;
    const [gate, upT, dh] = [uploadTensor(device, x, [n]), uploadTensor(device, up, [n]), uploadTensor(device, dy, [n])];
    const [h, dGate, dUp] = [createTensor(device, [n]), createTensor(device, [n]), createTensor(device, [n])];
    runDispatches(device, [gatedForward(device, { gate, up: upT, h, n, kind }), gatedBackward(device, { dh, gate, up: upT, dGate, dUp, n, kind })]);
    const ref = gatedBackwardRef({ dh: dy, gate: x, up, n, kind });
    const grow = (t: Tolerance): Tolerance => ({ atol: 3 * t.atol, rtol: t.rtol + 2.5e-7 }); // |up|, |dh·up| ≤ 3
    const got = { h: await readTensor(device, h), dGate: await readTensor(device, dGate), dUp: await readTensor(device, dUp) };
    for (const v of Object.values(got)) expect(v.every(Number.isFinite)).toBe(true);
    expectClose(got.h, gatedForwardRef({ gate: x, up, n, kind }), grow(TOL[kind].forward), `${kind} gated h`);
    expectClose(got.dGate, ref.dGate, grow(TOL[kind].backward), `${kind} gated dGate`);
    expectClose(got.dUp, ref.dUp, grow(TOL[kind].forward), `${kind} gated dUp`);
  });

  it('has, in float64, the gradients of its forward (central differences)', () => {
    const gate = Float64Array.from({ length: 41 }, (_, i) => -6 + i * 0.3 + 0.017);
    const ups = randomArray(gate.length, 10);
    const w = randomArray(gate.length, 11); // loss = Σ w·h, so dh = w
    const loss = (g: Float64Array, u: Float64Array) => gatedForwardRef({ gate: g, up: u, n: g.length, kind }).reduce((s, v, i) => s + v * w[i], 0);
    const h = 1e-6;
    const numeric = (v: Float64Array, f: (p: Float64Array) => number) =>
      v.map((_, i) => {
        const [plus, minus] = [Float64Array.from(v), Float64Array.from(v)];
        plus[i] += h;
        minus[i] -= h;
        return (f(plus) - f(minus)) / (2 * h);
      });
    const grads = gatedBackwardRef({ dh: w, gate, up: ups, n: gate.length, kind });
    expectClose(grads.dGate, numeric(gate, (g) => loss(g, ups)), { atol: 1e-8, rtol: 1e-7 }, 'dGate');
    expectClose(grads.dUp, numeric(ups, (u) => loss(gate, u)), { atol: 1e-8, rtol: 1e-7 }, 'dUp');
  });
});

describe('the activation reference', () => {
  it.each(['gelu', 'gelu_new', 'tanh', 'silu'] as const)('%s has the derivative of its forward (central differences)', (kind) => {
    const xs = Float64Array.from({ length: 81 }, (_, i) => -8 + i * 0.2 + 0.013);
    const h = 1e-6;
    const plus = activationForwardRef({ x: xs.map((v) => v + h), n: xs.length, kind });
    const minus = activationForwardRef({ x: xs.map((v) => v - h), n: xs.length, kind });
    const numeric = plus.map((v, i) => (v - minus[i]) / (2 * h));
    const ones = new Float64Array(xs.length).fill(1);
    expectClose(activationBackwardRef({ dy: ones, x: xs, n: xs.length, kind }), numeric, { atol: 1e-8, rtol: 1e-7 }, kind);
  });

  it('has erf(1) and Φ(−5) right', () => {
    // gelu(x) = x·Φ(x): Φ(1) = 0.8413447460685429, Φ(−5) = 2.866515718791939e-7.
    const y = activationForwardRef({ x: Float64Array.from([1, -5]), n: 2, kind: 'gelu' });
    expectClose(y, [0.8413447460685429, -5 * 2.866515718791939e-7], { atol: 0, rtol: 1e-14 }, 'gelu');
  });
});
