// Grouped-query attention's key/value broadcast: query head h reads KV head h / group with
// group = heads / kvHeads (transformers' repeat_kv). The forward expands [tokens, kvHeads, d] to
// [tokens, heads, d] so the attention kernel runs unchanged; the backward sums the gradients of
// the `group` heads that share a KV head. Grid-stride loops as elementwise.wgsl, one invocation
// per written element (the backward's sum is over adjacent heads of one token: no races).

struct Params { n: u32, heads: u32, kvHeads: u32, headDim: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

// dst [tokens, heads, d][i] = src [tokens, kvHeads, d][t, h / group, e].
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let group = p.heads / p.kvHeads;
  for (var i = gid.x; i < p.n; i += groups.x * 256u) {
    let e = i % p.headDim;
    let tokenHead = i / p.headDim;
    let t = tokenHead / p.heads;
    let h = tokenHead % p.heads;
    dst[i] = src[(t * p.kvHeads + h / group) * p.headDim + e];
  }
}

// dst [tokens, kvHeads, d][i] = Σ_{r < group} src [tokens, heads, d][t, g·group + r, e].
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let group = p.heads / p.kvHeads;
  for (var i = gid.x; i < p.n; i += groups.x * 256u) {
    let e = i % p.headDim;
    let tokenHead = i / p.headDim;
    let t = tokenHead / p.kvHeads;
    let g = tokenHead % p.kvHeads;
    let first = (t * p.heads + g * group) * p.headDim + e;
    var sum = 0.0;
    for (var r = 0u; r < group; r++) { sum += src[first + r * p.headDim]; }
    dst[i] = sum;
  }
}
