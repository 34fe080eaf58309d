// Fused AdamW over every trainable vector at once, with torch.optim.AdamW's arithmetic applied
// per vector. All vectors live concatenated in one flat buffer; element i belongs to vector
// vectorIndex[i]. A frozen vector behaves like a PyTorch parameter whose gradient is disabled:
// its elements, moments and step count stay exactly as they are. Each vector keeps its own step
// for the bias corrections, because AVF freezes and releases vectors at different times.
// Gradients are scaled by a clipping factor first (kernels/grad_norm.ts), as PyTorch's
// clip_grad_norm_ scales them in place before the step.
// `updateElements` uses step = steps[vector] + 1; `advanceSteps`, dispatched after it, stores
// that step (a vector's elements span many workgroups, so no element thread may store it).

struct Hyper {
  lr: f32,
  // Derived on the host in float64 (kernels/adamw.ts): 1 − lr·wd, 1 − β and ln β lose digits in
  // fp32 when formed from the rounded β (1 − 0.999 keeps ~14 of 24 bits).
  decay: f32,
  beta1: f32,
  beta2: f32,
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
  lnBeta1: f32,
  lnBeta2: f32,
  eps: f32,
}

struct Dims {
  numel: u32,
  numVectors: u32,
}

// Bindings 0…2 are shared by both entry points (their 'auto' layouts must start at 0).
@group(0) @binding(0) var<storage, read_write> steps: array<u32>;
@group(0) @binding(1) var<storage, read> frozen: array<u32>;
@group(0) @binding(2) var<uniform> dims: Dims;
@group(0) @binding(3) var<uniform> hyper: Hyper;
@group(0) @binding(4) var<storage, read_write> params: array<f32>;
@group(0) @binding(5) var<storage, read> grads: array<f32>;
@group(0) @binding(6) var<storage, read_write> m: array<f32>;
@group(0) @binding(7) var<storage, read_write> v: array<f32>;
@group(0) @binding(8) var<storage, read> vectorIndex: array<u32>;
// clip[0]: the factor every gradient is scaled by first (gradient clipping; exactly 1 without).
@group(0) @binding(9) var<storage, read> clip: array<f32>;
// Per vector, 1 where weight decay applies: Hugging Face's Trainer exempts biases (and norms).
@group(0) @binding(10) var<storage, read> decays: array<u32>;

// 1 − β^step as −expm1(step·ln β): forming β^step first and subtracting it from 1 would cancel
// most digits at early steps (1 − 0.999¹). For |x| ≤ 0.5 the Taylor series to x⁸/8! is exact to
// fp32 (remainder < 0.5⁹/9! ≈ 1e-8 relative); beyond, 1 − exp(x) ≥ 0.39 has no cancellation.
fn oneMinusPow(lnBeta: f32, step: f32) -> f32 {
  let x = lnBeta * step;
  if (x < -0.5) { return 1.0 - exp(x); }
  var e = 1.0;
  for (var k = 8.0; k >= 2.0; k -= 1.0) { e = fma(e, x / k, 1.0); }
  return -x * e;
}

@compute @workgroup_size(256)
fn updateElements(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  // 2-D grid: more than 65535·256 elements (a trained LM head) exceed one dimension.
  let i = (wg.y * groups.x + wg.x) * 256u + li;
  if (i >= dims.numel) { return; }
  let vector = vectorIndex[i];
  if (frozen[vector] != 0u) { return; }
  let step = f32(steps[vector] + 1u);
  let g = grads[i] * clip[0];
  let mi = fma(hyper.beta1, m[i], hyper.oneMinusBeta1 * g);
  let vi = fma(hyper.beta2, v[i], hyper.oneMinusBeta2 * g * g);
  m[i] = mi;
  v[i] = vi;
  let stepSize = hyper.lr / oneMinusPow(hyper.lnBeta1, step);
  let denom = sqrt(vi) / sqrt(oneMinusPow(hyper.lnBeta2, step)) + hyper.eps;
  params[i] = params[i] * select(1.0, hyper.decay, decays[vector] != 0u) - stepSize * mi / denom;
}

@compute @workgroup_size(256)
fn advanceSteps(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < dims.numVectors && frozen[gid.x] == 0u) { steps[gid.x] += 1u; }
}
