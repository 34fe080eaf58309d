// RMSNorm over the last dimension of [rows, d] (Llama, Qwen2): y = x·rstd·w with
// rstd = 1/sqrt(mean(x²) + eps), no mean subtraction and no bias — HF's LlamaRMSNorm in float32.
// Same layout as layernorm.wgsl: one workgroup per row with a workgroup reduction (GPUs; the
// subgroup or tree library prepended, src/kernels/reduction.ts) beside one invocation per row
// without barriers (software adapters); grids capped as there (rowGrid).

override ACCUMULATE_DX: bool = false;

struct Params { rows: u32, d: u32, eps: f32 }

const WG = 256u;

// ---- forward: x, w → y, and rstd per row for the backward.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstdOut: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

// Σ x² over the elements first, first + step, … of a row.
fn partialSquares(base: u32, first: u32, step: u32) -> f32 {
  var sq = 0.0;
  for (var j = first; j < p.d; j += step) {
    let v = x[base + j];
    sq += v * v;
  }
  return sq;
}

fn normalize(base: u32, first: u32, step: u32, rstd: f32) {
  // HF rounds x·rstd to the input dtype before the weight multiplies: the same order here.
  for (var j = first; j < p.d; j += step) { y[base + j] = w[j] * (x[base + j] * rstd); }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, lane: Lane) {
  let li = lane.index;
  for (var row = wg.x; row < p.rows; row += groups.x) {
    let base = row * p.d;
    let rstd = inverseSqrt(workgroupSum(vec2f(partialSquares(base, li, WG), 0.0), lane).x / f32(p.d) + p.eps);
    normalize(base, li, WG, rstd);
    if (li == 0u) { rstdOut[row] = rstd; }
  }
}

@compute @workgroup_size(64)
fn forward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var row = gid.x; row < p.rows; row += groups.x * 64u) {
    let base = row * p.d;
    let rstd = inverseSqrt(partialSquares(base, 0u, 1u) / f32(p.d) + p.eps);
    normalize(base, 0u, 1u, rstd);
    rstdOut[row] = rstd;
  }
}

// ---- backward to the input: with x̂ = x·rstd and g = dy·w, dx = rstd·(g − x̂·mean(g·x̂)).
@group(0) @binding(0) var<storage, read> bDy: array<f32>;
@group(0) @binding(1) var<storage, read> bX: array<f32>;
@group(0) @binding(2) var<storage, read> bW: array<f32>;
@group(0) @binding(3) var<storage, read> bRstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<uniform> bp: Params;

// Σ g·x̂ over the elements first, first + step, … of a row.
fn partialGrads(base: u32, first: u32, step: u32, rstd: f32) -> f32 {
  var acc = 0.0;
  for (var j = first; j < bp.d; j += step) { acc += bDy[base + j] * bW[j] * bX[base + j] * rstd; }
  return acc;
}

fn writeDx(base: u32, first: u32, step: u32, rstd: f32, m: f32) {
  for (var j = first; j < bp.d; j += step) {
    var v = rstd * (bDy[base + j] * bW[j] - bX[base + j] * rstd * m);
    if (ACCUMULATE_DX) { v += dx[base + j]; }
    dx[base + j] = v;
  }
}

@compute @workgroup_size(WG)
fn backward_dx(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, lane: Lane) {
  for (var row = wg.x; row < bp.rows; row += groups.x) {
    let base = row * bp.d;
    let rstd = bRstd[row];
    let m = workgroupSum(vec2f(partialGrads(base, lane.index, WG, rstd), 0.0), lane).x / f32(bp.d);
    writeDx(base, lane.index, WG, rstd, m);
  }
}

@compute @workgroup_size(64)
fn backward_dx_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var row = gid.x; row < bp.rows; row += groups.x * 64u) {
    let base = row * bp.d;
    let rstd = bRstd[row];
    writeDx(base, 0u, 1u, rstd, partialGrads(base, 0u, 1u, rstd) / f32(bp.d));
  }
}

// ---- backward to the weight: dW[j] = Σ_rows dy·x̂ (overwritten). As layernorm's
// backward_params: a workgroup owns PG_COLS adjacent columns and PG_LANES lanes split the rows.
const PG_COLS = 32u;
const PG_LANES = WG / PG_COLS;

var<workgroup> columnPartials: array<f32, WG>; // [PG_LANES][PG_COLS]

@group(0) @binding(0) var<storage, read> gDy: array<f32>;
@group(0) @binding(1) var<storage, read> gX: array<f32>;
@group(0) @binding(2) var<storage, read> gRstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> dW: array<f32>;
@group(0) @binding(4) var<uniform> gp: Params;

@compute @workgroup_size(WG)
fn backward_weight(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let col = wg.x * PG_COLS + li % PG_COLS;
  let lane = li / PG_COLS;
  var acc = 0.0;
  if (col < gp.d) {
    for (var r = lane; r < gp.rows; r += PG_LANES) { acc += gDy[r * gp.d + col] * gX[r * gp.d + col] * gRstd[r]; }
  }
  columnPartials[li] = acc;
  workgroupBarrier();
  if (lane == 0u && col < gp.d) {
    var total = 0.0;
    for (var l = 0u; l < PG_LANES; l++) { total += columnPartials[l * PG_COLS + li]; }
    dW[col] = total;
  }
}
