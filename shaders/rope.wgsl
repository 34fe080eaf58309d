// Rotary position embeddings (Llama, Qwen2) on [tokens, heads, headDim], rotate-half pairing:
// element i pairs with i + headDim/2 and the pair turns by the angle pos·inv_freq[i], i.e.
// transformers' x·cos + rotate_half(x)·sin. The backward is the transpose: the opposite angle.
// The (cos, sin) table is computed on the CPU as transformers computes it in float32
// (kernels/rope.ts). One invocation per pair, grid-stride as elementwise.wgsl.

override BACKWARD: bool = false;
override HAS_POSITIONS: bool = false;

// pairs = tokens·heads·half; token t sits at position offset + t mod seq, or at positions[t].
struct Params { pairs: u32, heads: u32, half: u32, seq: u32, offset: u32 }

@group(0) @binding(0) var<storage, read> table: array<vec2f>; // [positions, half] of (cos, sin)
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> positions: array<u32>; // [tokens] with HAS_POSITIONS

// Where pair `pair` lives: the index of its first element and of its (cos, sin) in the table.
fn locate(pair: u32) -> vec2u {
  let i = pair % p.half;
  let tokenHead = pair / p.half; // t·heads + h
  let token = tokenHead / p.heads;
  var pos = p.offset + token % p.seq;
  if (HAS_POSITIONS) { pos = positions[token]; }
  return vec2u(tokenHead * 2u * p.half + i, pos * p.half + i);
}

// The pair (a, b) turned by the table's angle (by its opposite backward).
fn turn(a: f32, b: f32, cs: vec2f) -> vec2f {
  let s = select(cs.y, -cs.y, BACKWARD);
  return vec2f(a * cs.x - b * s, b * cs.x + a * s);
}

// ---- out of place: y = rope(x).
@group(0) @binding(3) var<storage, read> x: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var pair = gid.x; pair < p.pairs; pair += groups.x * 256u) {
    let at = locate(pair);
    let r = turn(x[at.x], x[at.x + p.half], table[at.y]);
    y[at.x] = r.x;
    y[at.x + p.half] = r.y;
  }
}

// ---- in place: data = rope(data) (q and k before attention, dq and dk after its backward).
@group(0) @binding(3) var<storage, read_write> data: array<f32>;

@compute @workgroup_size(256)
fn in_place(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var pair = gid.x; pair < p.pairs; pair += groups.x * 256u) {
    let at = locate(pair);
    let r = turn(data[at.x], data[at.x + p.half], table[at.y]);
    data[at.x] = r.x;
    data[at.x + p.half] = r.y;
  }
}
