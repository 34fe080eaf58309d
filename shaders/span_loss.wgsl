// Extractive QA's span loss over logits [rows = batch·seq, 2] (column 0 the start logit, column 1
// the end logit of each position). For each row b and side s (start, end): a softmax over the
// row's positions whose attention mask is 1, and −log of it at the row's label (labels[2b + s]);
// a label outside the row's tokens (−100, or past them) is not counted. The loss is the mean of
// the start mean and the end mean over their counted rows, as transformers' QA loss
// ((start_loss + end_loss) / 2), and dLogits = (softmax − onehot)/(2·count of that side), 0 at
// masked positions and on uncounted rows. One dispatch of one workgroup (rows = the batch, a few
// dozen; each row's sequence is reduced by the workgroup), sums in a fixed tree order.

struct Params { batch: u32, seq: u32 }

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

@group(0) @binding(0) var<storage, read> logits: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> dLogits: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

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

// The position row b's side s is trained towards, or −1 when it is not counted.
fn targetOf(b: u32, s: u32) -> i32 {
  let t = labels[2u * b + s];
  if (t < 0 || u32(t) >= p.seq) { return -1; }
  return select(-1, t, mask[b * p.seq + u32(t)] != 0u);
}

@compute @workgroup_size(WG)
fn span_loss(@builtin(local_invocation_index) li: u32) {
  // Counted rows per side (the same in every thread: no reduction needed).
  var count = vec2f(0.0);
  for (var b = 0u; b < p.batch; b++) {
    count += vec2f(select(0.0, 1.0, targetOf(b, 0u) >= 0), select(0.0, 1.0, targetOf(b, 1u) >= 0));
  }
  var total = vec2f(0.0); // thread 0's sum of the counted rows' losses per side
  for (var b = 0u; b < p.batch; b++) {
    for (var s = 0u; s < 2u; s++) {
      let t = targetOf(b, s);
      let scale = select(0.0, 0.5 / count[s], t >= 0);
      // The row's largest unmasked logit (−3.4e38 stands in for −∞ when every position is masked).
      var m = -3.4e38;
      for (var j = li; j < p.seq; j += WG) {
        if (mask[b * p.seq + j] != 0u) { m = max(m, logits[2u * (b * p.seq + j) + s]); }
      }
      m = workgroupReduce(m, li, true);
      var sum = 0.0;
      for (var j = li; j < p.seq; j += WG) {
        if (mask[b * p.seq + j] != 0u) { sum += exp(logits[2u * (b * p.seq + j) + s] - m); }
      }
      sum = workgroupReduce(sum, li, false);
      for (var j = li; j < p.seq; j += WG) {
        let i = 2u * (b * p.seq + j) + s;
        let prob = select(0.0, exp(logits[i] - m) / sum, mask[b * p.seq + j] != 0u);
        dLogits[i] = (prob - select(0.0, 1.0, i32(j) == t)) * scale;
      }
      if (t >= 0) { total[s] += log(sum) - (logits[2u * (b * p.seq + u32(t)) + s] - m); }
    }
  }
  if (li == 0u) {
    let means = select(vec2f(0.0), total / count, count > vec2f(0.0));
    loss[0] = 0.5 * (means.x + means.y);
  }
}
