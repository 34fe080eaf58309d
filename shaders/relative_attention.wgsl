// DeBERTa's disentangled attention terms (kernels/relative_attention.ts; float64 reference
// relative_attention.ref.ts). Query i and key j read row r(i, j) = table[i − j + maxDelta] of the
// projected relative embeddings pos [rows, heads·d]:
//   c2p (P2C false): scores[b, h, i, j] += scale · q_i · pos_r   (content row i)
//   p2c (P2C true):  scores[b, h, i, j] += scale · k_j · pos_r   (content row j)
// The backward runs per output element, with no atomics: dContent sums a content row's scores
// over the other index; dPositions sums, for its row r, the (i, j) whose i − j reads r — one
// contiguous range of deltas per row (table = [lo, hi] pairs), so every pair is visited once.
// Grid-stride loops, one invocation per written element.

override P2C: bool = false;

struct Params { batch: u32, seq: u32, heads: u32, headDim: u32, rows: u32, maxDelta: u32, scale: f32, n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
// scores, dContent: the row of each delta; dPositions: each row's delta range [lo, hi].
@group(0) @binding(2) var<storage, read> table: array<i32>;
// scores: content (q or k); dContent: pos; dPositions: content.
@group(0) @binding(3) var<storage, read> x: array<f32>;
// scores: pos; dContent, dPositions: dScores [b, h, i, j].
@group(0) @binding(4) var<storage, read> y: array<f32>;

fn rowOf(i: u32, j: u32) -> u32 {
  return u32(table[i32(i) - i32(j) + i32(p.maxDelta)]);
}

// The content row a term reads for query i and key j.
fn contentToken(i: u32, j: u32) -> u32 {
  return select(i, j, P2C);
}

@compute @workgroup_size(256)
fn scores(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let T = p.seq;
  let A = p.heads * p.headDim;
  for (var e = gid.x; e < p.n; e += groups.x * 256u) {
    let j = e % T;
    let i = (e / T) % T;
    let h = (e / (T * T)) % p.heads;
    let b = e / (T * T * p.heads);
    let c = (b * T + contentToken(i, j)) * A + h * p.headDim;
    let r = rowOf(i, j) * A + h * p.headDim;
    var s = 0.0;
    for (var d = 0u; d < p.headDim; d++) { s += x[c + d] * y[r + d]; }
    dst[e] += p.scale * s;
  }
}

// dst [b·T + t, h·d + d'] += scale · Σ_other dScores[b, h, i, j] · pos[r(i, j), h·d + d'], with
// (i, j) = (t, other) for c2p, (other, t) for p2c.
@compute @workgroup_size(256)
fn dContent(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let T = p.seq;
  let A = p.heads * p.headDim;
  for (var e = gid.x; e < p.n; e += groups.x * 256u) {
    let d = e % p.headDim;
    let h = (e / p.headDim) % p.heads;
    let token = e / A;
    let b = token / T;
    let t = token % T;
    var s = 0.0;
    for (var other = 0u; other < T; other++) {
      let i = select(t, other, P2C);
      let j = select(other, t, P2C);
      s += y[((b * p.heads + h) * T + i) * T + j] * x[rowOf(i, j) * A + h * p.headDim + d];
    }
    dst[e] += p.scale * s;
  }
}

// dst [r, h·d + d'] = scale · Σ_b Σ_{(i, j): r(i, j) = r} dScores[b, h, i, j] · content[b, i or j].
@compute @workgroup_size(256)
fn dPositions(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let T = i32(p.seq);
  let A = p.heads * p.headDim;
  for (var e = gid.x; e < p.n; e += groups.x * 256u) {
    let d = e % p.headDim;
    let h = (e / p.headDim) % p.heads;
    let r = e / A;
    let lo = table[2u * r];
    let hi = table[2u * r + 1u];
    var s = 0.0;
    for (var b = 0u; b < p.batch; b++) {
      for (var i = 0; i < T; i++) {
        for (var j = max(i - hi, 0); j <= min(i - lo, T - 1); j++) {
          let g = y[((b * p.heads + h) * p.seq + u32(i)) * p.seq + u32(j)];
          s += g * x[(b * p.seq + contentToken(u32(i), u32(j))) * A + h * p.headDim + d];
        }
      }
    }
    dst[e] = p.scale * s;
  }
}
