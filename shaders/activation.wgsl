// Element-wise activations, forward y = f(x) and backward dx = dy·f′(x), for KIND:
//   0 'gelu'      x·Φ(x) with the exact normal CDF (erf form, HF "gelu")
//   1 'gelu_new'  0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (HF "gelu_new", "gelu_pytorch_tanh")
//   2 'tanh'
//   3 'relu'
//   4 'silu'      x·sigmoid(x) (HF "silu", Llama and Qwen2's gated MLP)
// and the gated product h = f(g) ⊙ u of a gated MLP with its backward (gated_forward,
// gated_backward).
// WGSL lets an implementation assume no infinity or NaN ever appears, and some drivers' tanh
// overflows for big arguments, so every exp here gets a bounded argument and tanh is our own.
// Grid-stride loop as in elementwise.wgsl.

override KIND: u32 = 0u;
override BACKWARD: bool = false;

struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>; // backward only (forward binds a placeholder)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

const SQRT_2_OVER_PI = 0.7978845608028654;
const INV_SQRT_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;
const GELU_NEW_CUBIC = 0.044715;

// erfc(z) for z ≥ 0 with fractional error < 1.2e-7 everywhere (Numerical Recipes' erfcc, a
// Chebyshev fit): relative accuracy in the tail, where 1 − erf(z) would cancel. From z = 10 on
// erfc is below f32's smallest normal: 0, which also keeps exp's argument bounded.
fn erfcPositive(z: f32) -> f32 {
  if (z >= 10.0) { return 0.0; }
  let t = 1.0 / (1.0 + 0.5 * z);
  let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
      t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return t * exp(-z * z + poly);
}

// Φ(x) = erfc(−x/√2)/2, taking the erfc of the tail side so Φ(x) is accurate for x ≪ 0 too.
fn normalCdf(x: f32) -> f32 {
  let e = 0.5 * erfcPositive(abs(x) * INV_SQRT_2);
  return select(1.0 - e, e, x < 0.0);
}

// tanh with relative accuracy near 0 (Taylor series to u¹³, error < 1e-7 relative below 0.5) and
// 1 − 2/(e^(2|u|) + 1) above, with |u| capped at 10 (tanh(10) rounds to 1 in f32).
fn tanhSafe(u: f32) -> f32 {
  let a = min(abs(u), 10.0);
  var t: f32;
  if (a < 0.5) {
    let s = a * a;
    t = a * (1.0 + s * (-0.3333333333 + s * (0.1333333333 + s * (-0.0539682540 + s * (0.0218694885 +
        s * (-0.0088632355 + s * 0.0035921280))))));
  } else {
    t = 1.0 - 2.0 / (exp(2.0 * a) + 1.0);
  }
  return sign(u) * t;
}

// 1/(1 + e^(−v)) with the exponent capped: e^80 is finite in f32 and already makes it ~1e-35.
fn sigmoid(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(min(-v, 80.0)));
}

fn forward(v: f32) -> f32 {
  switch KIND {
    case 0u: { return v * normalCdf(v); }
    case 1u: {
      // 0.5·(1 + tanh(u)) = sigmoid(2u): no cancellation for x ≪ 0. Beyond |x| = 20 the result is
      // exactly x or 0 in f32 (sigmoid(±600)), so x is capped inside u (x³ must not overflow).
      let xc = clamp(v, -20.0, 20.0);
      let y = v * sigmoid(2.0 * SQRT_2_OVER_PI * (xc + GELU_NEW_CUBIC * xc * xc * xc));
      return select(y, 0.0, v <= -20.0);
    }
    case 2u: { return tanhSafe(v); }
    // Below −80, x·sigmoid(x) < 2e-33 (and the capped sigmoid would make it wrong): 0, as float32
    // PyTorch gives from −88 on.
    case 4u: { return select(v * sigmoid(v), 0.0, v < -80.0); }
    default: { return max(v, 0.0); }
  }
}

fn derivative(v: f32) -> f32 {
  switch KIND {
    case 0u: {
      // x·φ(x) is below 1e-21 past |x| = 10: cap x there so x² stays finite.
      let xc = clamp(v, -10.0, 10.0);
      return normalCdf(v) + xc * INV_SQRT_2PI * exp(-0.5 * xc * xc);
    }
    case 1u: {
      // With s = sigmoid(2u): f′ = s + x·2·s·(1 − s)·u′, and 1 − s = sigmoid(−2u) without cancelling.
      let xc = clamp(v, -20.0, 20.0);
      let w = 2.0 * SQRT_2_OVER_PI * (xc + GELU_NEW_CUBIC * xc * xc * xc);
      let s = sigmoid(w);
      return s + 2.0 * xc * s * sigmoid(-w) * SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_NEW_CUBIC * xc * xc);
    }
    // 1 − tanh²(x) = (1 − t)(1 + t) = 4·sigmoid(2x)·sigmoid(−2x): no cancellation as |t| → 1.
    case 2u: { return 4.0 * sigmoid(2.0 * v) * sigmoid(-2.0 * v); }
    case 4u: {
      // s + x·s·(1 − s) with 1 − s = sigmoid(−x) (no cancellation); x capped at ±80, past which
      // x·s·(1 − s) < 2e-33, so the capped sigmoids cannot blow it up.
      let s = sigmoid(v);
      return s + clamp(v, -80.0, 80.0) * s * sigmoid(-v);
    }
    default: { return select(0.0, 1.0, v > 0.0); }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < p.n; i += groups.x * 256u) {
    if (BACKWARD) {
      out[i] = dy[i] * derivative(x[i]);
    } else {
      out[i] = forward(x[i]);
    }
  }
}

// ---- the gated product h = f(gate) ⊙ up (a gated MLP's act_fn(gate_proj(x)) * up_proj(x)).
@group(0) @binding(0) var<storage, read> gate: array<f32>;
@group(0) @binding(1) var<storage, read> up: array<f32>;
@group(0) @binding(2) var<storage, read_write> gated: array<f32>;

@compute @workgroup_size(256)
fn gated_forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < p.n; i += groups.x * 256u) { gated[i] = forward(gate[i]) * up[i]; }
}

// dGate = dh·u·f′(g), dUp = dh·f(g) (written).
@group(0) @binding(2) var<storage, read> dGated: array<f32>;
@group(0) @binding(3) var<storage, read_write> dGate: array<f32>;
@group(0) @binding(4) var<storage, read_write> dUp: array<f32>;
@group(0) @binding(5) var<uniform> gp: Params;

@compute @workgroup_size(256)
fn gated_backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < gp.n; i += groups.x * 256u) {
    let g = gate[i];
    let dh = dGated[i];
    dGate[i] = dh * up[i] * derivative(g);
    dUp[i] = dh * forward(g);
  }
}
