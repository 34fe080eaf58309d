// Training losses of the task head, each one dispatch of ONE workgroup that also reduces the
// mean over rows, so the loss needs no second pass (rows = the batch, at most a few hundred;
// a token-level loss over a large vocabulary would want a workgroup per row instead).
//   cross_entropy: loss = mean over rows of −log softmax(logits)[label],
//                  dLogits = (softmax − onehot(label))/rows; labels are u32 class ids < classes.
//   mse:           loss = mean of (pred − target)², dPred = 2·(pred − target)/rows.
// Sums use a fixed tree order: the same inputs give the same loss bit for bit.

struct Params { rows: u32, classes: u32, invRows: f32 }

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

// Reduces v over the workgroup with max (IS_MAX) or +; every thread gets the result.
// Call in uniform control flow.
fn workgroupReduce(v: f32, li: u32, IS_MAX: bool) -> f32 {
  partial[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) {
      let o = partial[li + s];
      partial[li] = select(partial[li] + o, max(partial[li], o), IS_MAX);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier(); // the next call overwrites partial
  return r;
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<u32>;
@group(0) @binding(2) var<storage, read_write> ceLoss: array<f32>;
@group(0) @binding(3) var<storage, read_write> dLogits: array<f32>;
@group(0) @binding(4) var<uniform> cp: Params;

@compute @workgroup_size(WG)
fn cross_entropy(@builtin(local_invocation_index) li: u32) {
  var total = 0.0; // thread 0's running sum of the rows' losses
  for (var row = 0u; row < cp.rows; row++) {
    let base = row * cp.classes;
    // Softmax with the row max subtracted: exp never overflows, the largest term is 1.
    var m = logits[base];
    for (var j = li; j < cp.classes; j += WG) { m = max(m, logits[base + j]); }
    m = workgroupReduce(m, li, true);
    var s = 0.0;
    for (var j = li; j < cp.classes; j += WG) { s += exp(logits[base + j] - m); }
    s = workgroupReduce(s, li, false);
    let label = labels[row];
    for (var j = li; j < cp.classes; j += WG) {
      let prob = exp(logits[base + j] - m) / s;
      dLogits[base + j] = (prob - select(0.0, 1.0, j == label)) * cp.invRows;
    }
    // −log softmax[label] = log Σ exp(l − m) − (l[label] − m) ≥ 0.
    total += log(s) - (logits[base + label] - m);
  }
  if (li == 0u) { ceLoss[0] = total * cp.invRows; }
}

@group(0) @binding(0) var<storage, read> pred: array<f32>;
@group(0) @binding(1) var<storage, read> targets: array<f32>;
@group(0) @binding(2) var<storage, read_write> mseOut: array<f32>;
@group(0) @binding(3) var<storage, read_write> dPred: array<f32>;
@group(0) @binding(4) var<uniform> mp: Params;

@compute @workgroup_size(WG)
fn mse(@builtin(local_invocation_index) li: u32) {
  var sq = 0.0;
  for (var r = li; r < mp.rows; r += WG) {
    let diff = pred[r] - targets[r];
    dPred[r] = 2.0 * diff * mp.invRows;
    sq += diff * diff;
  }
  let total = workgroupReduce(sq, li, false);
  if (li == 0u) { mseOut[0] = total * mp.invRows; }
}
