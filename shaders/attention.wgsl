// The per-head matrix products of multi-head attention, read and written where the tensors
// live — the token-major [batch·seq, heads·headDim] activations and the [batch, heads, seq, seq]
// scores — so no split-heads copy is ever made:
//   C[z] = alpha · op(A[z]) · op(B[z]),  z = b·heads + h,
// where block z of an operand starts at (z / heads)·batchStride + (z % heads)·headStride and its
// stored rows are ld elements apart. op(A) is M×K (stored K×M when TRANS_A), op(B) is K×N
// (stored N×K when TRANS_B). With DROPOUT_A, A is the probabilities and each element is scaled
// on load by its dropout factor keep/(1−p), drawn at its index in [batch, heads, seq, seq]: the
// dropped copy never exists and the backward regenerates the same mask.
// Needs rng.wgsl prepended. Tiles as in matmul.wgsl: 64×64 outputs per workgroup of 16×16
// threads, each a 4×4 register block (rows ty + 16i, columns tx + 16j).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override DROPOUT_A: bool = false;

struct Params {
  M: u32, N: u32, K: u32, heads: u32,
  aBatch: u32, aHead: u32, aLd: u32,
  bBatch: u32, bHead: u32, bLd: u32,
  cBatch: u32, cHead: u32, cLd: u32,
  alpha: f32,
  dropP: f32, dropScale: f32, stream: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> seed: array<u32>;

const TM = 64u;
const TN = 64u;
const TK = 16u;
var<workgroup> As: array<f32, 1024>; // [TK][TM]
var<workgroup> Bs: array<f32, 1024>; // [TK][TN]

fn blockStart(z: u32, batchStride: u32, headStride: u32) -> u32 {
  return (z / p.heads) * batchStride + (z % p.heads) * headStride;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  let aBase = blockStart(wg.z, p.aBatch, p.aHead);
  let bBase = blockStart(wg.z, p.bBatch, p.bHead);
  let cBase = blockStart(wg.z, p.cBatch, p.cHead);
  var acc: array<array<f32, 4>, 4>;

  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      // Walk the stored layout's contiguous axis with consecutive threads.
      var m: u32; var k: u32;
      if (TRANS_A) { m = e % TM; k = e / TM; } else { k = e % TK; m = e / TK; }
      let gm = row0 + m;
      let gk = k0 + k;
      var v = 0.0;
      if (gm < p.M && gk < p.K) {
        var idx: u32;
        if (TRANS_A) { idx = aBase + gk * p.aLd + gm; } else { idx = aBase + gm * p.aLd + gk; }
        v = A[idx];
        if (DROPOUT_A) { v *= select(0.0, p.dropScale, dropoutKeep(seed[0], p.stream, idx, p.dropP)); }
      }
      As[k * TM + m] = v;
    }
    for (var i = 0u; i < 4u; i++) {
      let e = li + i * 256u;
      var n: u32; var k: u32;
      if (TRANS_B) { k = e % TK; n = e / TK; } else { n = e % TN; k = e / TN; }
      let gn = col0 + n;
      let gk = k0 + k;
      var v = 0.0;
      if (gn < p.N && gk < p.K) {
        if (TRANS_B) { v = B[bBase + gn * p.bLd + gk]; } else { v = B[bBase + gk * p.bLd + gn]; }
      }
      Bs[k * TN + n] = v;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = As[k * TM + lid.y + 16u * i];
        b[i] = Bs[k * TN + lid.x + 16u * i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < 4u; i++) {
    let gm = row0 + lid.y + 16u * i;
    if (gm >= p.M) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let gn = col0 + lid.x + 16u * j;
      if (gn >= p.N) { continue; }
      C[cBase + gm * p.cLd + gn] = p.alpha * acc[i][j];
    }
  }
}

// The same products without workgroup memory or barriers, for software adapters (see
// matmul.wgsl's `direct`): each invocation computes a 4×4 block in vec4 registers.
fn loadA(base: u32, m: u32, k: u32) -> f32 {
  var idx: u32;
  if (TRANS_A) { idx = base + k * p.aLd + m; } else { idx = base + m * p.aLd + k; }
  var v = A[idx];
  if (DROPOUT_A) { v *= select(0.0, p.dropScale, dropoutKeep(seed[0], p.stream, idx, p.dropP)); }
  return v;
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return B[base + n * p.bLd + k]; }
  return B[base + k * p.bLd + n];
}

fn storeRow(base: u32, m: u32, col0: u32, c: vec4f) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (col0 + j >= p.N) { return; }
    C[base + m * p.cLd + col0 + j] = p.alpha * c[j];
  }
}

@compute @workgroup_size(8, 8)
fn direct(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let aBase = blockStart(gid.z, p.aBatch, p.aHead);
  let bBase = blockStart(gid.z, p.bBatch, p.bHead);
  let cBase = blockStart(gid.z, p.cBatch, p.cHead);
  // Clamped indices: rows/columns past the edge compute duplicates that are never stored.
  let m = min(vec4u(row0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.M - 1u));
  let n = min(vec4u(col0) + vec4u(0u, 1u, 2u, 3u), vec4u(p.N - 1u));
  var c0 = vec4f(0.0);
  var c1 = vec4f(0.0);
  var c2 = vec4f(0.0);
  var c3 = vec4f(0.0);
  for (var k = 0u; k < p.K; k++) {
    let b = vec4f(loadB(bBase, k, n.x), loadB(bBase, k, n.y), loadB(bBase, k, n.z), loadB(bBase, k, n.w));
    c0 = fma(vec4f(loadA(aBase, m.x, k)), b, c0);
    c1 = fma(vec4f(loadA(aBase, m.y, k)), b, c1);
    c2 = fma(vec4f(loadA(aBase, m.z, k)), b, c2);
    c3 = fma(vec4f(loadA(aBase, m.w, k)), b, c3);
  }
  storeRow(cBase, row0, col0, c0);
  storeRow(cBase, row0 + 1u, col0, c1);
  storeRow(cBase, row0 + 2u, col0, c2);
  storeRow(cBase, row0 + 3u, col0, c3);
}
