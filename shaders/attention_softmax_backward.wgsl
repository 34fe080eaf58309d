// Backward of the attention softmax, in place on dP [batch, heads, seq, seq]:
//   dS = P ⊙ (dP − rowsum(dP ⊙ P)).
// With DROPOUT, the forward used P ⊙ keep/(1−p), so dP (the gradient of the dropped
// probabilities) is first multiplied by the same factor, regenerated at the same index.
// Masked keys have P = 0 and so get dS = 0. Needs rng.wgsl and a reduction library prepended
// (src/kernels/reduction.ts). One workgroup per row; rows beyond 65535 continue on the grid's
// y axis.

override DROPOUT: bool = false;

struct Params { seq: u32, rows: u32, dropP: f32, dropScale: f32, stream: u32 }

@group(0) @binding(0) var<storage, read_write> grad: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> probs: array<f32>;
@group(0) @binding(3) var<storage, read> seed: array<u32>;

const WG = 64u;

fn probsGrad(index: u32) -> f32 {
  var g = grad[index];
  if (DROPOUT) { g *= select(0.0, p.dropScale, dropoutKeep(seed[0], p.stream, index, p.dropP)); }
  return g;
}

// Σ_j dP·P over keys first, first + step, … and the write of dS over the same keys: a
// workgroup strides them (main), a single invocation walks them all (rows).
fn partialDot(base: u32, first: u32, step: u32) -> f32 {
  var sum = 0.0;
  for (var j = first; j < p.seq; j += step) { sum += probsGrad(base + j) * probs[base + j]; }
  return sum;
}

fn writeGrad(base: u32, first: u32, step: u32, dot: f32) {
  for (var j = first; j < p.seq; j += step) {
    let index = base + j;
    grad[index] = probs[index] * (probsGrad(index) - dot);
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, lane: Lane) {
  let row = wg.y * groups.x + wg.x;
  if (row >= p.rows) { return; }
  let base = row * p.seq;
  let dot = workgroupSum(vec2f(partialDot(base, lane.index, WG), 0.0), lane).x;
  writeGrad(base, lane.index, WG, dot);
}

// The same backward with one invocation per row and no barriers, for software adapters.
@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wg.y * groups.x + wg.x) * 64u + lid;
  if (row >= p.rows) { return; }
  let base = row * p.seq;
  writeGrad(base, 0u, 1u, partialDot(base, 0u, 1u));
}
