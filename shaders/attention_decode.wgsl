// Attention of a few new queries over a KV cache (generation): query i sits at position
// start + i and reads cached keys 0 … start + i (causal; the cache holds one sequence, so there
// is no padding). K and V are cached per KV head ([capacity, kvHeads·headDim], after rotary),
// and query head h reads KV head h / (heads / kvHeads): the broadcast happens in the index.
// Three grid-stride passes with no barriers (fine on GPUs and software adapters alike):
//   scores: s[i, h, j] = scale·q_i·k_j             one thread per (query, head, key)
//   softmax: s[i, h, ·] = softmax over j ≤ pos_i   one thread per (query, head)
//   output: out[i, h, d] = Σ_j s[i, h, j]·v_j[d]   one thread per (query, head, dim)
// `start` is read from a buffer so one plan serves every step of a generation.

struct Params { queries: u32, heads: u32, kvHeads: u32, headDim: u32, capacity: u32, scale: f32 }

// Each pass binds only what it reads (auto layouts list used bindings only, in order): the
// shared scores, params and start first, then the pass's own two buffers at 3 and 4.
@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> start: array<u32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;      // scores pass
@group(0) @binding(4) var<storage, read> kCache: array<f32>; // scores pass
@group(0) @binding(3) var<storage, read> vCache: array<f32>; // output pass
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // output pass

fn kvHead(h: u32) -> u32 { return h / (p.heads / p.kvHeads); }

@compute @workgroup_size(256)
fn scores_pass(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let total = p.queries * p.heads * p.capacity;
  for (var index = gid.x; index < total; index += groups.x * 256u) {
    let j = index % p.capacity;
    let h = (index / p.capacity) % p.heads;
    let i = index / (p.capacity * p.heads);
    if (j > start[0] + i) { continue; }
    let qBase = (i * p.heads + h) * p.headDim;
    let kBase = (j * p.kvHeads + kvHead(h)) * p.headDim;
    var dot = 0.0;
    for (var d = 0u; d < p.headDim; d++) { dot += q[qBase + d] * kCache[kBase + d]; }
    scores[index] = p.scale * dot;
  }
}

@compute @workgroup_size(64)
fn softmax_pass(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let rows = p.queries * p.heads;
  for (var row = gid.x; row < rows; row += groups.x * 64u) {
    let end = start[0] + row / p.heads + 1u; // keys 0 … pos_i
    let base = row * p.capacity;
    var m = scores[base];
    for (var j = 1u; j < end; j++) { m = max(m, scores[base + j]); }
    var sum = 0.0;
    for (var j = 0u; j < end; j++) {
      let e = exp(scores[base + j] - m);
      scores[base + j] = e;
      sum += e;
    }
    let inv = 1.0 / sum;
    for (var j = 0u; j < end; j++) { scores[base + j] *= inv; }
  }
}

@compute @workgroup_size(256)
fn output_pass(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let total = p.queries * p.heads * p.headDim;
  for (var index = gid.x; index < total; index += groups.x * 256u) {
    let d = index % p.headDim;
    let h = (index / p.headDim) % p.heads;
    let i = index / (p.headDim * p.heads);
    let end = start[0] + i + 1u;
    let base = (i * p.heads + h) * p.capacity;
    let vOffset = kvHead(h) * p.headDim + d;
    let stride = p.kvHeads * p.headDim;
    var acc = 0.0;
    for (var j = 0u; j < end; j++) { acc += scores[base + j] * vCache[j * stride + vOffset]; }
    out[index] = acc;
  }
}
