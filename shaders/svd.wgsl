// Thin SVD by one-sided (Hestenes) Jacobi, fp32. The wrapper (src/kernels/svd.ts) works on the
// taller orientation: n = r columns of length m ≥ n, stored column-contiguous in G ([n][m]) so a
// workgroup walking one column reads consecutive words. V ([n][n], column-contiguous too)
// accumulates the rotations. A sweep is nPad − 1 (nPad = n rounded up to even) `jacobi_round` dispatches in
// round-robin (circle method) order: each round pairs every column exactly once, so its
// n/2 workgroups touch disjoint columns and need no synchronisation.
// Batched: same-shape matrices (BERT's 48 square q, k, v, o) lie one after another in G and V,
// gStride/vStride words apart, and one round's dispatch covers them all (workgroup row wg.y =
// matrix), so a sweep costs nPad − 1 dispatches however many matrices share the shape. Each
// matrix keeps its own max |cos|, so each stops rotating once converged exactly as it would alone.
//
// Entry points: load_columns (W → G), identity (V = I), jacobi_round, column_norms,
// rank_sort, gather (sorted, normalised row-major factors), and for SvdReport sq_diff_partials
// and max_identity_partials.

struct Dims {
  m: u32,          // column length (the larger dimension)
  n: u32,          // number of columns (r)
  nPad: u32,       // n rounded up to even: slot nPad − 1 is a bye when n is odd
  round: u32,      // jacobi_round: which round of the sweep
  tol: f32,        // jacobi_round: rotate a pair only if |cos| > tol
  gStride: u32,    // words between consecutive matrices in G (≥ n·m, a multiple of 64)
  vStride: u32,    // words between consecutive matrices in V (≥ n·n, a multiple of 64)
}

@group(0) @binding(0) var<storage, read_write> G: array<f32>;
@group(0) @binding(1) var<storage, read_write> V: array<f32>;
@group(0) @binding(2) var<storage, read_write> maxCos: array<atomic<u32>>; // one per matrix
@group(0) @binding(3) var<uniform> d: Dims;

// 64 lanes: a real GPU's rounds are bound by dispatch latency more than by lanes per pair, and
// SwiftShader runs barriers among more than 64 invocations 3–5× slower per dispatch.
const WG = 64u;
var<workgroup> red: array<vec3f, WG>;

// Circle method: slot 0 stays, slots 1 … nPad − 1 rotate by one place per round.
fn slotColumn(slot: u32) -> u32 {
  if (slot == 0u) { return 0u; }
  return 1u + (slot - 1u + d.round) % (d.nPad - 1u);
}

@compute @workgroup_size(WG)
fn jacobi_round(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let p = slotColumn(wg.x);
  let q = slotColumn(d.nPad - 1u - wg.x);
  if (p >= d.n || q >= d.n) { return; } // the bye of an odd n (uniform per workgroup)
  let matrix = wg.y;
  let po = matrix * d.gStride + p * d.m;
  let qo = matrix * d.gStride + q * d.m;
  var acc = vec3f(0.0);
  for (var i = li; i < d.m; i += WG) {
    let x = G[po + i];
    let y = G[qo + i];
    acc += vec3f(x * x, y * y, x * y);
  }
  red[li] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) { red[li] += red[li + stride]; }
    workgroupBarrier();
  }
  let alpha = red[0].x;
  let beta = red[0].y;
  let gamma = red[0].z;
  // sqrt(alpha)·sqrt(beta): alpha·beta alone under/overflows for very small or large columns.
  let denom = sqrt(alpha) * sqrt(beta);
  let cosine = select(0.0, abs(gamma) / denom, denom > 0.0);
  // Non-negative floats order like their bit patterns: an integer atomicMax is a float max.
  if (li == 0u) { atomicMax(&maxCos[matrix], bitcast<u32>(cosine)); }
  if (!(cosine > d.tol)) { return; }
  // Rutishauser's rotation: t = tan θ is the smaller root of t² + 2ζt − 1 = 0 (|θ| ≤ π/4).
  let zeta = (beta - alpha) / (2.0 * gamma);
  let t = select(-1.0, 1.0, zeta >= 0.0) / (abs(zeta) + sqrt(1.0 + zeta * zeta));
  let c = inverseSqrt(1.0 + t * t);
  let s = c * t;
  // Rotation as a correction, x − s·(y + τx) with τ = s/(1 + c): late sweeps rotate by tiny
  // angles, and this form rounds in proportion to the angle instead of to |x|, which keeps V
  // orthogonal and W = G·Vᵀ intact over thousands of rotations.
  let tau = s / (1.0 + c);
  for (var i = li; i < d.m; i += WG) {
    let x = G[po + i];
    let y = G[qo + i];
    G[po + i] = x - s * (y + tau * x);
    G[qo + i] = y + s * (x - tau * y);
  }
  let pv = matrix * d.vStride + p * d.n;
  let qv = matrix * d.vStride + q * d.n;
  for (var i = li; i < d.n; i += WG) {
    let x = V[pv + i];
    let y = V[qv + i];
    V[pv + i] = x - s * (y + tau * x);
    V[qv + i] = y + s * (x - tau * y);
  }
}

// ---- set-up and finishing passes. Bindings alias the ones above (allowed across entry
// points) and each entry point uses a prefix 0 … k of them, as `auto` layouts require. ----

struct CopyDims {
  rows: u32, // of the source, row-major
  cols: u32,
  scaleByInverse: u32, // gather: divide column k by sigma[k]
}

@group(0) @binding(0) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<uniform> cd: CopyDims;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> sigma: array<f32>;

const TILE = 16u;
var<workgroup> tile: array<f32, 272>; // 16×17: the padding column avoids bank conflicts

// dst (cols×rows) = srcᵀ (rows×cols) through a shared tile: both sides coalesced.
@compute @workgroup_size(TILE, TILE)
fn load_columns(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let r = wg.y * TILE + lid.y;
  let c = wg.x * TILE + lid.x;
  if (r < cd.rows && c < cd.cols) { tile[lid.y * 17u + lid.x] = src[r * cd.cols + c]; }
  workgroupBarrier();
  let tr = wg.x * TILE + lid.y; // a dst row = a src column
  let tc = wg.y * TILE + lid.x;
  if (tr < cd.cols && tc < cd.rows) { dst[tr * cd.rows + tc] = tile[lid.x * 17u + lid.y]; }
}

// dst[i·n + k] = src[order[k]·len + i] (/ sigma[k]): rows of the column-contiguous working
// matrix, picked in descending-σ order, become columns of a row-major len×n factor.
// cd.rows = len, cd.cols = n.
@compute @workgroup_size(TILE, TILE)
fn gather(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let k = wg.x * TILE + lid.y;
  let i = wg.y * TILE + lid.x;
  if (k < cd.cols && i < cd.rows) {
    var x = src[order[k] * cd.rows + i];
    if (cd.scaleByInverse != 0u) { x = select(0.0, x / sigma[k], sigma[k] > 0.0); }
    tile[lid.y * 17u + lid.x] = x;
  }
  workgroupBarrier();
  let ko = wg.x * TILE + lid.x;
  let io = wg.y * TILE + lid.y;
  if (ko < cd.cols && io < cd.rows) { dst[io * cd.cols + ko] = tile[lid.x * 17u + lid.y]; }
}

// dst = I (n×n), n = cd.cols; one workgroup row of 64 per matrix row.
@compute @workgroup_size(64)
fn identity(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let j = wg.x * 64u + li;
  if (j < cd.cols) { dst[wg.y * cd.cols + j] = select(0.0, 1.0, j == wg.y); }
}

// dst[j] = ‖column j of src‖ (cd.rows = column length); one workgroup per column.
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn column_norms(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  var acc = 0.0;
  for (var i = li; i < cd.rows; i += WG) {
    let x = src[wg.x * cd.rows + i];
    acc += x * x;
  }
  partial[li] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) { partial[li] += partial[li + stride]; }
    workgroupBarrier();
  }
  if (li == 0u) { dst[wg.x] = sqrt(partial[0]); }
}

// Rank sort of the n = cd.cols values in src, descending, ties by index (a stable order):
// dst[rank] = value, rankOrder[rank] = index. O(n²) compares, but n ≤ a few thousand and every
// thread reads the same cached values.
@group(0) @binding(3) var<storage, read_write> rankOrder: array<u32>;

@compute @workgroup_size(WG)
fn rank_sort(@builtin(global_invocation_id) gid: vec3u) {
  let k = gid.x;
  if (k >= cd.cols) { return; }
  let x = src[k];
  var rank = 0u;
  for (var j = 0u; j < cd.cols; j++) {
    let y = src[j];
    if (y > x || (y == x && j < k)) { rank++; }
  }
  dst[rank] = x;
  rankOrder[rank] = k;
}

// ---- SvdReport reductions: per-workgroup partials, summed in float64 on the host ----

// dst[2·wg] = Σ (expected − src)², dst[2·wg + 1] = Σ expected² over a grid-stride slice of the
// cd.rows·cd.cols elements.
@group(0) @binding(3) var<storage, read> expected: array<f32>;
var<workgroup> partial2: array<vec2f, WG>;

@compute @workgroup_size(WG)
fn sq_diff_partials(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let total = cd.rows * cd.cols;
  var acc = vec2f(0.0);
  for (var e = wg.x * WG + li; e < total; e += nwg.x * WG) {
    let a = expected[e];
    let diff = a - src[e];
    acc += vec2f(diff * diff, a * a);
  }
  partial2[li] = acc;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) { partial2[li] += partial2[li + stride]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    dst[2u * wg.x] = partial2[0].x;
    dst[2u * wg.x + 1u] = partial2[0].y;
  }
}

// dst[wg] = max |src − I| over a grid-stride slice of the square cd.cols×cd.cols src.
@compute @workgroup_size(WG)
fn max_identity_partials(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32) {
  let total = cd.cols * cd.cols;
  var worst = 0.0;
  for (var e = wg.x * WG + li; e < total; e += nwg.x * WG) {
    let onDiagonal = e / cd.cols == e % cd.cols;
    worst = max(worst, abs(src[e] - select(0.0, 1.0, onDiagonal)));
  }
  partial[li] = worst;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
    if (li < stride) { partial[li] = max(partial[li], partial[li + stride]); }
    workgroupBarrier();
  }
  if (li == 0u) { dst[wg.x] = partial[0]; }
}
