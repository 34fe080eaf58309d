// LayerNorm over the last dimension of [rows, d]: y = (x − mean)·rstd·gamma + beta with
// rstd = 1/sqrt(var + eps) (biased variance, as PyTorch). One workgroup per row; threads stride
// over the row (coalesced) and meet in a workgroup reduction (workgroupSum: a subgroup or tree
// library is prepended, src/kernels/reduction.ts), so any d works. The mean is taken first
// and the variance from x − mean (two passes): one-pass E[x²] − mean² cancels catastrophically
// when |mean| ≫ std. The grid is capped (rowGrid in src/kernels/grid.ts): a workgroup
// takes rows wg.x, wg.x + groups.x, …

override ACCUMULATE_DX: bool = false;
override HAS_DGAMMA: bool = false;
override HAS_DBETA: bool = false;

struct Params { rows: u32, d: u32, eps: f32 }

const WG = 256u;

// ---- forward: x, gamma, beta → y, and mean, rstd per row for the backward.
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> gamma: array<f32>;
@group(0) @binding(2) var<storage, read> beta: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> meanOut: array<f32>;
@group(0) @binding(5) var<storage, read_write> rstdOut: array<f32>;
@group(0) @binding(6) var<uniform> p: Params;

// Passes over the elements first, first + step, … of a row: a workgroup strides them (forward),
// a single invocation walks them all (forward_rows).
fn partialSum(base: u32, first: u32, step: u32) -> f32 {
  var sum = 0.0;
  for (var j = first; j < p.d; j += step) { sum += x[base + j]; }
  return sum;
}

fn partialSquares(base: u32, first: u32, step: u32, mean: f32) -> f32 {
  var sq = 0.0;
  for (var j = first; j < p.d; j += step) {
    let c = x[base + j] - mean;
    sq += c * c;
  }
  return sq;
}

fn normalize(base: u32, first: u32, step: u32, mean: f32, rstd: f32) {
  for (var j = first; j < p.d; j += step) {
    y[base + j] = (x[base + j] - mean) * rstd * gamma[j] + beta[j];
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, lane: Lane) {
  let li = lane.index;
  // The loop bounds are uniform, so the barriers in workgroupSum stay in uniform control flow.
  for (var row = wg.x; row < p.rows; row += groups.x) {
    let base = row * p.d;
    let mean = workgroupSum(vec2f(partialSum(base, li, WG), 0.0), lane).x / f32(p.d);
    let rstd = 1.0 / sqrt(workgroupSum(vec2f(partialSquares(base, li, WG, mean), 0.0), lane).x / f32(p.d) + p.eps);
    normalize(base, li, WG, mean, rstd);
    if (li == 0u) {
      meanOut[row] = mean;
      rstdOut[row] = rstd;
    }
  }
}

// ---- the same forward with one invocation per row and no barriers, for software adapters
// (SwiftShader runs invocations as CPU threads: a barrier costs a context switch, and one core
// streams a row of a few hundred floats faster than a workgroup can synchronise over it).
@compute @workgroup_size(64)
fn forward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var row = gid.x; row < p.rows; row += groups.x * 64u) {
    let base = row * p.d;
    let mean = partialSum(base, 0u, 1u) / f32(p.d);
    let rstd = 1.0 / sqrt(partialSquares(base, 0u, 1u, mean) / f32(p.d) + p.eps);
    normalize(base, 0u, 1u, mean, rstd);
    meanOut[row] = mean;
    rstdOut[row] = rstd;
  }
}

// ---- backward to the input: with x̂ = (x − mean)·rstd and g = dy·gamma,
// dx = rstd·(g − mean(g) − x̂·mean(g·x̂)).
@group(0) @binding(0) var<storage, read> bDy: array<f32>;
@group(0) @binding(1) var<storage, read> bX: array<f32>;
@group(0) @binding(2) var<storage, read> bGamma: array<f32>;
@group(0) @binding(3) var<storage, read> bMean: array<f32>;
@group(0) @binding(4) var<storage, read> bRstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<uniform> bp: Params;

// (Σ g, Σ g·x̂) and the write of dx over the elements first, first + step, … of a row.
fn partialGrads(base: u32, first: u32, step: u32, mean: f32, rstd: f32) -> vec2f {
  var acc = vec2f(0.0);
  for (var j = first; j < bp.d; j += step) {
    let xhat = (bX[base + j] - mean) * rstd;
    let g = bDy[base + j] * bGamma[j];
    acc += vec2f(g, g * xhat);
  }
  return acc;
}

fn writeDx(base: u32, first: u32, step: u32, mean: f32, rstd: f32, m: vec2f) {
  for (var j = first; j < bp.d; j += step) {
    let xhat = (bX[base + j] - mean) * rstd;
    let g = bDy[base + j] * bGamma[j];
    var v = rstd * (g - m.x - xhat * m.y);
    if (ACCUMULATE_DX) { v += dx[base + j]; }
    dx[base + j] = v;
  }
}

@compute @workgroup_size(WG)
fn backward_dx(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, lane: Lane) {
  for (var row = wg.x; row < bp.rows; row += groups.x) {
    let base = row * bp.d;
    let mean = bMean[row];
    let rstd = bRstd[row];
    let m = workgroupSum(partialGrads(base, lane.index, WG, mean, rstd), lane) / f32(bp.d);
    writeDx(base, lane.index, WG, mean, rstd, m);
  }
}

// The input gradient with one invocation per row (software adapters, as forward_rows).
@compute @workgroup_size(64)
fn backward_dx_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var row = gid.x; row < bp.rows; row += groups.x * 64u) {
    let base = row * bp.d;
    let mean = bMean[row];
    let rstd = bRstd[row];
    writeDx(base, 0u, 1u, mean, rstd, partialGrads(base, 0u, 1u, mean, rstd) / f32(bp.d));
  }
}

// ---- backward to the parameters: dGamma[j] = Σ_rows dy·x̂, dBeta[j] = Σ_rows dy (overwritten).
// A workgroup owns PG_COLS adjacent columns (coalesced reads along a row) and PG_LANES lanes that
// split the rows, then adds the lanes up in workgroup memory.
const PG_COLS = 32u;
const PG_LANES = WG / PG_COLS;

var<workgroup> columnPartials: array<vec2f, WG>; // [PG_LANES][PG_COLS]

@group(0) @binding(0) var<storage, read> gDy: array<f32>;
@group(0) @binding(1) var<storage, read> gX: array<f32>;
@group(0) @binding(2) var<storage, read> gMean: array<f32>;
@group(0) @binding(3) var<storage, read> gRstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> dGamma: array<f32>;
@group(0) @binding(5) var<storage, read_write> dBeta: array<f32>;
@group(0) @binding(6) var<uniform> gp: Params;

@compute @workgroup_size(WG)
fn backward_params(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let col = wg.x * PG_COLS + li % PG_COLS;
  let lane = li / PG_COLS;
  var acc = vec2f(0.0); // (Σ dy·x̂, Σ dy)
  if (col < gp.d) {
    for (var r = lane; r < gp.rows; r += PG_LANES) {
      let g = gDy[r * gp.d + col];
      acc += vec2f(g * (gX[r * gp.d + col] - gMean[r]) * gRstd[r], g);
    }
  }
  columnPartials[li] = acc;
  workgroupBarrier();
  if (lane == 0u && col < gp.d) {
    var total = vec2f(0.0);
    for (var l = 0u; l < PG_LANES; l++) { total += columnPartials[l * PG_COLS + li]; }
    if (HAS_DGAMMA) { dGamma[col] = total.x; }
    if (HAS_DBETA) { dBeta[col] = total.y; }
  }
}
