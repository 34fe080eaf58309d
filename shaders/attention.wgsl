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
