// Causal-LM cross-entropy over logits [rows = batch·seq, vocab], computed in place: the logits
// are overwritten by dLogits (a vocabulary of 151,936 makes a second [rows, vocab] buffer too
// costly). Position t of a row predicts that row's label t + 1 (labels are the input ids with
// −100 where no loss applies: padding, prompts); a row's last position predicts nothing. The loss
// is the mean of −log softmax(logits)[target] over the batch's counted positions, as
// transformers' ForCausalLMLoss, and dLogits = (softmax − onehot(target))/count on counted
// rows, 0 elsewhere. A label outside [0, vocab) other than −100 is skipped as −100 is (never read
// out of bounds): the data pipeline rejects them first (checkCausalLmLabels).
//
// `forward`: a workgroup per row (grid capped, rows wg.x, wg.x + groups.x, …) loops over the
// vocabulary with one online (max, Σexp) pass and one write pass; no vocabulary-sized arrays.
// `forward_rows`: the same passes by one invocation per row (software adapters).
// `count_targets` (one workgroup) counts the predicted positions first; `mean_loss` (one
// workgroup) adds the row losses in a fixed order (the same loss bit for bit).
//
// SHIFT = false: position t is scored against its own label t (token classification: a class id
// per position, −100 on sub-tokens after a word's first, specials and padding), the rest alike.

override GRADIENT: bool = true;
override SHIFT: bool = true;

// rows: the whole batch's (labels, rowLoss); the forward sees logits rows firstRow … firstRow +
// blockRows − 1 (a batch whose logits exceed one storage binding comes in several blocks).
struct Params { rows: u32, seq: u32, vocab: u32, firstRow: u32, blockRows: u32 }

const WG = 256u;

var<workgroup> partial: array<vec2f, WG>;
var<workgroup> rowTarget: i32;

@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<uniform> p: Params;
// [mean loss, number of counted positions]: written by count_targets and mean_loss.
@group(0) @binding(0) var<storage, read_write> statsOut: array<f32>;

// The vocabulary index position r predicts, or −1 when it predicts nothing.
fn targetOf(r: u32) -> i32 {
  if (SHIFT && r % p.seq == p.seq - 1u) { return -1; }
  let label = labels[select(r, r + 1u, SHIFT)];
  return select(-1, label, label >= 0 && u32(label) < p.vocab);
}

// Sums v.x over the workgroup; every thread gets the total. Call in uniform control flow.
fn workgroupSum(v: f32, li: u32) -> f32 {
  partial[li] = vec2f(v, 0.0);
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { partial[li].x += partial[li + s].x; }
    workgroupBarrier();
  }
  let total = partial[0].x;
  workgroupBarrier(); // the next call overwrites partial
  return total;
}

// The number of counted positions in the batch (exact in f32 below 2²⁴ rows), first, once.
@compute @workgroup_size(WG)
fn count_targets(@builtin(local_invocation_index) li: u32) {
  var c = 0.0;
  for (var r = li; r < p.rows; r += WG) { c += select(0.0, 1.0, targetOf(r) >= 0); }
  let count = workgroupSum(c, li);
  if (li == 0u) { statsOut[1] = count; }
}

// Merges two (max, Σ exp(l − max)) pairs. Every pair's max is one of the row's logits (an empty
// pair is (the row's first logit, 0), as WGSL has no −∞), so every exponent is finite and ≤ 0.
fn merge(a: vec2f, b: vec2f) -> vec2f {
  let m = max(a.x, b.x);
  return vec2f(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
}

@group(0) @binding(0) var<storage, read_write> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> rowLoss: array<f32>;
@group(0) @binding(4) var<storage, read> stats: array<f32>;

fn inverseCount() -> f32 {
  let count = stats[1];
  return select(0.0, 1.0 / count, count > 0.0);
}

// Passes over the elements first, first + step, … of a row: a workgroup strides them (forward),
// a single invocation walks them all (forward_rows).
fn zeroRow(base: u32, first: u32, step: u32) {
  for (var j = first; j < p.vocab; j += step) { logits[base + j] = 0.0; }
}

fn rowStats(base: u32, first: u32, last: u32, step: u32) -> vec2f {
  var ms = vec2f(logits[base], 0.0);
  for (var j = first; j < last; j += step) { ms = merge(ms, vec2f(logits[base + j], 1.0)); }
  return ms;
}

// dLogits over the logits, given the row's (max, Σexp).
fn writeGrad(base: u32, first: u32, step: u32, total: vec2f, t: u32, invCount: f32) {
  for (var j = first; j < p.vocab; j += step) {
    let prob = exp(logits[base + j] - total.x) / total.y;
    logits[base + j] = (prob - select(0.0, 1.0, j == t)) * invCount;
  }
}

// −log softmax[t] = log Σ exp(l − m) − (l[t] − m) ≥ 0.
fn crossEntropy(total: vec2f, targetLogit: f32) -> f32 {
  return log(total.y) - (targetLogit - total.x);
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u,
           @builtin(local_invocation_index) li: u32) {
  let invCount = inverseCount();
  for (var local = wg.x; local < p.blockRows; local += groups.x) {
    let base = local * p.vocab;
    let row = p.firstRow + local;
    if (li == 0u) { rowTarget = targetOf(row); }
    let t = workgroupUniformLoad(&rowTarget); // uniform: the barriers below stay legal
    if (t < 0) {
      if (GRADIENT) { zeroRow(base, li, WG); }
      if (li == 0u) { rowLoss[row] = 0.0; }
      workgroupBarrier(); // everyone has read rowTarget before the next row's write
      continue;
    }
    let ms = rowStats(base, li, p.vocab, WG);
    // Read before the reduction's barriers, so no thread has overwritten it yet.
    let targetLogit = logits[base + u32(t)];
    partial[li] = ms;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
      if (li < s) { partial[li] = merge(partial[li], partial[li + s]); }
      workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier(); // the next row overwrites partial
    if (GRADIENT) { writeGrad(base, li, WG, total, u32(t), invCount); }
    if (li == 0u) { rowLoss[row] = crossEntropy(total, targetLogit); }
  }
}

// The same with one invocation per row and no barriers, for software adapters (see
// layernorm.wgsl's forward_rows).
@compute @workgroup_size(64)
fn forward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let invCount = inverseCount();
  for (var local = gid.x; local < p.blockRows; local += groups.x * 64u) {
    let base = local * p.vocab;
    let row = p.firstRow + local;
    let t = targetOf(row);
    if (t < 0) {
      if (GRADIENT) { zeroRow(base, 0u, 1u); }
      rowLoss[row] = 0.0;
      continue;
    }
    // Blocks of WG, then the blocks merged: the rounding of the workgroup's strided sums, not
    // the vocab·2⁻²⁴ (worst case) of one sum over the whole vocabulary.
    var total = vec2f(logits[base], 0.0);
    for (var block = 0u; block < p.vocab; block += WG) { total = merge(total, rowStats(base, block, min(block + WG, p.vocab), 1u)); }
    rowLoss[row] = crossEntropy(total, logits[base + u32(t)]);
    if (GRADIENT) { writeGrad(base, 0u, 1u, total, u32(t), invCount); }
  }
}

@group(0) @binding(1) var<storage, read> rowLosses: array<f32>;

@compute @workgroup_size(WG)
fn mean_loss(@builtin(local_invocation_index) li: u32) {
  var sum = 0.0;
  for (var r = li; r < p.rows; r += WG) { sum += rowLosses[r]; }
  let total = workgroupSum(sum, li);
  if (li == 0u) {
    let count = statsOut[1];
    statsOut[0] = select(0.0, total / count, count > 0.0);
  }
}
