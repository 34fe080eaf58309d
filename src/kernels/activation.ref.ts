// Float64 reference for shaders/activation.wgsl (same op names as kernels/activation.ts).
// JavaScript has no erf: erfc is computed here to ~1e-14 relative (series below 3, continued
// fraction above), enough to judge an fp32 kernel in the tails too.
import type { ActivationKind } from './activation.ts';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_NEW_CUBIC = 0.044715;

/** erfc(z) for any real z. */
function erfc(z: number): number {
  if (z < 0) return 2 - erfc(-z);
  if (z < 3) {
    // erf(z) = 2/√π·e^(−z²)·Σ 2ⁿ z^(2n+1)/(1·3·…·(2n+1)): positive terms, no cancellation.
    let term = z;
    let sum = z;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= (2 * z * z) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
  }
  // erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated from the tail.
  let fraction = z;
  for (let k = 80; k >= 1; k--) fraction = z + k / 2 / fraction;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / fraction;
}

function geluNewU(x: number): number {
  return SQRT_2_OVER_PI * (x + GELU_NEW_CUBIC * x ** 3);
}

/** Standard normal CDF Φ(x) = erfc(−x/√2)/2, accurate in both tails. */
function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

function forward(kind: ActivationKind, x: number): number {
  switch (kind) {
    case 'gelu':
      return x * normalCdf(x);
    case 'gelu_new':
      // 0.5·(1 + tanh(u)) written as 1/(1 + e^(−2u)): 1 + tanh(u) would cancel in float64 too.
      return x / (1 + Math.exp(-2 * geluNewU(x)));
    case 'tanh':
      return Math.tanh(x);
    case 'relu':
      return Math.max(x, 0);
    case 'silu':
      return x / (1 + Math.exp(-x));
  }
}

function derivative(kind: ActivationKind, x: number): number {
  switch (kind) {
    case 'gelu':
      return normalCdf(x) + (x * Math.exp(-0.5 * x * x)) / Math.sqrt(2 * Math.PI);
    case 'gelu_new': {
      const u = geluNewU(x);
      const sech2 = 1 / Math.cosh(u) ** 2;
      // 0·∞ for huge |x|, where the derivative is exactly 0 or 1 in float64 anyway.
      const tail = sech2 === 0 ? 0 : 0.5 * x * sech2 * SQRT_2_OVER_PI * (1 + 3 * GELU_NEW_CUBIC * x * x);
      return 1 / (1 + Math.exp(-2 * u)) + tail;
    }
    case 'tanh':
      return 1 / Math.cosh(x) ** 2; // 1 − tanh² would cancel as |tanh| → 1
    case 'relu':
      return x > 0 ? 1 : 0;
    case 'silu': {
      // s + x·s·(1 − s) with 1 − s = sigmoid(−x): 1 − s would cancel as s → 1.
      const s = 1 / (1 + Math.exp(-x));
      return s + (x * s) / (1 + Math.exp(x));
    }
  }
}

export function activationForward(args: { x: Float64Array; n: number; kind: ActivationKind }): Float64Array {
  const y = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) y[i] = forward(args.kind, args.x[i]);
  return y;
}

/** dx = dy·f′(x). */
export function activationBackward(args: { dy: Float64Array; x: Float64Array; n: number; kind: ActivationKind }): Float64Array {
  const dx = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) dx[i] = args.dy[i] * derivative(args.kind, args.x[i]);
  return dx;
}

/** h = f(gate) ⊙ up. */
export function gatedForward(args: { gate: Float64Array; up: Float64Array; n: number; kind: ActivationKind }): Float64Array {
  const h = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) h[i] = forward(args.kind, args.gate[i]) * args.up[i];
  return h;
}

/** dGate = dh·up·f′(gate), dUp = dh·f(gate). */
export function gatedBackward(args: { dh: Float64Array; gate: Float64Array; up: Float64Array; n: number; kind: ActivationKind }): { dGate: Float64Array; dUp: Float64Array } {
  const dGate = new Float64Array(args.n);
  const dUp = new Float64Array(args.n);
  for (let i = 0; i < args.n; i++) {
    dGate[i] = args.dh[i] * args.up[i] * derivative(args.kind, args.gate[i]);
    dUp[i] = args.dh[i] * forward(args.kind, args.gate[i]);
  }
  return { dGate, dUp };
}
