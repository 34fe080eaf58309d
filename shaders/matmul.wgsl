// Batched matrix product over strided blocks, with the transposes the model needs:
//   C[z] = alpha · op(A[z]) · op(B[z])  (+ bias[n])  (+ C[z] when ACCUMULATE),  z < batch·heads,
// where block z of an operand starts at offset + (z / heads)·batchStride + (z % heads)·headStride
// and its stored rows are ld elements apart. A plain batched matmul is heads = 1; attention's per-head
// products (heads > 1) read q, k, v and the [batch, heads, seq, seq] scores where they live, so
// no split-heads copy is made. op(A) is M×K (stored M×K, or K×M when TRANS_A); op(B) is K×N
// (stored K×N, or N×K when TRANS_B).
// K_SCALE scales A's inner index k by kscale[k] (the Σ ⊙ … of a factored linear) and DROPOUT_A
// scales each element of A by its dropout factor keep/(1−p) drawn at its index (attention
// probabilities): both fused into the loads, so the scaled copies never exist.
// Needs rng.wgsl prepended.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override K_SCALE: bool = false;
override ACCUMULATE: bool = false;
override DROPOUT_A: bool = false;

struct Params {
  M: u32, N: u32, K: u32, heads: u32,
  aOffset: u32, aBatch: u32, aHead: u32, aLd: u32,
  bOffset: u32, bBatch: u32, bHead: u32, bLd: u32,
  cOffset: u32, cBatch: u32, cHead: u32, cLd: u32,
  alpha: f32,
  dropP: f32, dropScale: f32, stream: u32,
}

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> kscale: array<f32>;
@group(0) @binding(6) var<storage, read> seed: array<u32>;

fn blockStart(z: u32, offset: u32, batchStride: u32, headStride: u32) -> u32 {
  return offset + (z / p.heads) * batchStride + (z % p.heads) * headStride;
}

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  var idx: u32;
  if (TRANS_A) { idx = base + k * p.aLd + m; } else { idx = base + m * p.aLd + k; }
  var v = A[idx];
  if (K_SCALE) { v *= kscale[k]; }
  if (DROPOUT_A) { v *= select(0.0, p.dropScale, dropoutKeep(seed[0], p.stream, idx, p.dropP)); }
  return v;
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (TRANS_B) { return B[base + n * p.bLd + k]; }
  return B[base + k * p.bLd + n];
}

fn store(base: u32, m: u32, n: u32, value: f32) {
  let idx = base + m * p.cLd + n;
  var v = p.alpha * value;
  if (HAS_BIAS) { v += bias[n]; }
  if (ACCUMULATE) { v += C[idx]; }
  C[idx] = v;
}

// ---- For GPUs: TM×TN outputs per workgroup of WX×WY threads through workgroup-memory tiles TK
// deep, each thread an RM×RN register block (rows ty + WY·i, columns tx + WX·j: neighbouring
// threads read neighbouring shared words). The tile constants are prepended by matmul_tiles.ts:
//   TM, TN, TK, RM, RN, WX = TN / RN, WY = TM / RM; AP ≥ TM and BP ≥ TN, the shared rows' pitches
//   (padded so k-major stores spread over the banks); PREFETCH, register double-buffering.
// Which tile suits a shape is measured per adapter (matmul_tuning.ts).
const THREADS = WX * WY;
const A_LOADS = TK * TM / THREADS;
const B_LOADS = TK * TN / THREADS;
var<workgroup> As: array<f32, TK * AP>; // [TK][AP], columns past TM unused
var<workgroup> Bs: array<f32, TK * BP>; // [TK][BP], columns past TN unused

// Tile element e as (m or n, k): consecutive threads walk the stored layout's contiguous axis.
fn tileA(e: u32) -> vec2u {
  if (TRANS_A) { return vec2u(e % TM, e / TM); }
  return vec2u(e / TK, e % TK);
}

fn tileB(e: u32) -> vec2u {
  if (TRANS_B) { return vec2u(e / TK, e % TK); }
  return vec2u(e % TN, e / TN);
}

// This thread's share of the k0 tiles, zero past the edges.
fn fetchA(base: u32, row0: u32, k0: u32, li: u32) -> array<f32, A_LOADS> {
  var r: array<f32, A_LOADS>;
  for (var i = 0u; i < A_LOADS; i++) {
    let t = tileA(li + i * THREADS);
    if (row0 + t.x < p.M && k0 + t.y < p.K) { r[i] = loadA(base, row0 + t.x, k0 + t.y); }
  }
  return r;
}

fn fetchB(base: u32, col0: u32, k0: u32, li: u32) -> array<f32, B_LOADS> {
  var r: array<f32, B_LOADS>;
  for (var i = 0u; i < B_LOADS; i++) {
    let t = tileB(li + i * THREADS);
    if (col0 + t.x < p.N && k0 + t.y < p.K) { r[i] = loadB(base, k0 + t.y, col0 + t.x); }
  }
  return r;
}

@compute @workgroup_size(WX, WY)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let row0 = wg.y * TM;
  let col0 = wg.x * TN;
  let aBase = blockStart(wg.z, p.aOffset, p.aBatch, p.aHead);
  let bBase = blockStart(wg.z, p.bOffset, p.bBatch, p.bHead);
  let cBase = blockStart(wg.z, p.cOffset, p.cBatch, p.cHead);
  var acc: array<array<f32, RN>, RM>;
  var ra: array<f32, A_LOADS>;
  var rb: array<f32, B_LOADS>;
  if (PREFETCH) {
    ra = fetchA(aBase, row0, 0u, li);
    rb = fetchB(bBase, col0, 0u, li);
  }

  for (var k0 = 0u; k0 < p.K; k0 += TK) {
    if (!PREFETCH) {
      ra = fetchA(aBase, row0, k0, li);
      rb = fetchB(bBase, col0, k0, li);
    }
    for (var i = 0u; i < A_LOADS; i++) {
      let t = tileA(li + i * THREADS);
      As[t.y * AP + t.x] = ra[i];
    }
    for (var i = 0u; i < B_LOADS; i++) {
      let t = tileB(li + i * THREADS);
      Bs[t.y * BP + t.x] = rb[i];
    }
    workgroupBarrier();
    // The next tile's global loads are in flight during this tile's math; stored after the barrier.
    if (PREFETCH) {
      ra = fetchA(aBase, row0, k0 + TK, li);
      rb = fetchB(bBase, col0, k0 + TK, li);
    }
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, RM>;
      var b: array<f32, RN>;
      for (var i = 0u; i < RM; i++) { a[i] = As[k * AP + lid.y + WY * i]; }
      for (var j = 0u; j < RN; j++) { b[j] = Bs[k * BP + lid.x + WX * j]; }
      for (var i = 0u; i < RM; i++) {
        for (var j = 0u; j < RN; j++) {
          acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < RM; i++) {
    let gm = row0 + lid.y + WY * i;
    if (gm >= p.M) { continue; }
    for (var j = 0u; j < RN; j++) {
      let gn = col0 + lid.x + WX * j;
      if (gn >= p.N) { continue; }
      store(cBase, gm, gn, acc[i][j]);
    }
  }
}

// ---- For software adapters: no workgroup memory, no barriers (SwiftShader runs invocations as
// CPU threads, where a barrier is a costly context switch and caches already do what the shared
// tiles do). Each invocation computes a 4×4 block straight from memory in vec4 registers
// (dynamically indexed arrays would live in memory there).
@compute @workgroup_size(8, 8)
fn direct(@builtin(global_invocation_id) gid: vec3u) {
  let row0 = gid.y * 4u;
  let col0 = gid.x * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let aBase = blockStart(gid.z, p.aOffset, p.aBatch, p.aHead);
  let bBase = blockStart(gid.z, p.bOffset, p.bBatch, p.bHead);
  let cBase = blockStart(gid.z, p.cOffset, p.cBatch, p.cHead);
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

fn storeRow(base: u32, m: u32, col0: u32, c: vec4f) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j++) {
    if (col0 + j >= p.N) { return; }
    store(base, m, col0 + j, c[j]);
  }
}
