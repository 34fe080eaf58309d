// The light half of DeBERTa's disentangled attention terms (kernels/relative_attention.ts, which
// runs the heavy half, the products with the projected relative embeddings, through matmul.wgsl;
// float64 reference relative_attention.ref.ts). rel [heads, batch, seq, columns] holds, for each
// content token t, its dot product with each relative-embedding row of the window the sequence
// reads (column c = row − first). Query i and key j read column col(i, j) = table[i − j + maxDelta]:
//   c2p (P2C false): t = i (the query against the position keys)
//   p2c (P2C true):  t = j (the key against the position queries)
// gather:    scores[firstBatch + b, h, i, j] += scale · rel[h, b, t, col(i, j)]
// gatherSum: dRel[h, b, t, c] = scale · Σ dScores[firstBatch + b, h, i, j] over the other token
//            whose pair reads column c: one contiguous range of deltas per column (table = [lo, hi]
//            pairs), so each element sums its own entries, deterministically and without atomics.
// Both run on a chunk of the batch: rel / dRel hold its `batch` rows b, rows firstBatch + b of the
// scores (kernels/relative_attention.ts splits the batch so that rel fits one binding).
// Grid-stride loops, one invocation per written element.

override P2C: bool = false;

struct Params { batch: u32, seq: u32, heads: u32, columns: u32, maxDelta: u32, scale: f32, n: u32, firstBatch: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
// gather: the column of each delta; gatherSum: each column's delta range [lo, hi].
@group(0) @binding(2) var<storage, read> table: array<i32>;
// gather: rel; gatherSum: dScores.
@group(0) @binding(3) var<storage, read> src: array<f32>;

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let T = p.seq;
  for (var e = gid.x; e < p.n; e += groups.x * 256u) {
    let j = e % T;
    let i = (e / T) % T;
    let h = (e / (T * T)) % p.heads;
    let b = e / (T * T * p.heads);
    let t = select(i, j, P2C);
    let c = u32(table[i32(i) - i32(j) + i32(p.maxDelta)]);
    dst[p.firstBatch * p.heads * T * T + e] += p.scale * src[((h * p.batch + b) * T + t) * p.columns + c];
  }
}

@compute @workgroup_size(256)
fn gatherSum(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let T = i32(p.seq);
  for (var e = gid.x; e < p.n; e += groups.x * 256u) {
    let c = e % p.columns;
    let t = i32((e / p.columns) % p.seq);
    let b = (e / (p.columns * p.seq)) % p.batch;
    let h = e / (p.columns * p.seq * p.batch);
    let lo = table[2u * c];
    let hi = table[2u * c + 1u];
    // The other token's range: i − j ∈ [lo, hi] with j = t − delta (c2p) or i = t + delta (p2c).
    var first: i32;
    var last: i32;
    if (P2C) { first = max(t + lo, 0); last = min(t + hi, T - 1); } else { first = max(t - hi, 0); last = min(t - lo, T - 1); }
    let plane = ((p.firstBatch + b) * p.heads + h) * p.seq * p.seq;
    var s = 0.0;
    for (var o = first; o <= last; o++) {
      var idx: u32;
      if (P2C) { idx = plane + u32(o) * p.seq + u32(t); } else { idx = plane + u32(t) * p.seq + u32(o); }
      s += src[idx];
    }
    dst[e] = p.scale * s;
  }
}
