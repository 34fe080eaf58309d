// Inverted dropout with a mask regenerated from the counter-based RNG (shaders/rng.wgsl, which
// the wrapper prepends): forward out = keep ? x·scale : 0, backward dx (+)= keep ? dy·scale : 0,
// scale = 1/(1−p). Element i of the tensor uses rngU32(seed, stream, i), so the backward draws the
// same mask as the forward and nothing is stored. The seed is read from a buffer the caller
// rewrites every step; stream tells apart the dropout sites of one step.

override ACCUMULATE: bool = false;

struct Params { n: u32, stream: u32, p: f32, scale: f32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> seed: array<u32>;
@group(0) @binding(3) var<uniform> params: Params;

// Forward (x → out) and backward (dy → dx) are the same masked scaling; only ACCUMULATE differs.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let s = seed[0];
  for (var i = gid.x; i < params.n; i += groups.x * 256u) {
    var v = select(0.0, src[i] * params.scale, dropoutKeep(s, params.stream, i, params.p));
    if (ACCUMULATE) { v += dst[i]; }
    dst[i] = v;
  }
}
