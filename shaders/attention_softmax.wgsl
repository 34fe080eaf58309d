// Masked row softmax of the attention scores, in place in [batch, heads, seq, seq]: row
// (b, h, i) holds scale·q_i·kᵀ and becomes the probabilities of query i. Key j is masked when
// mask[b·seq + j] == 0 (padding) or, with CAUSAL, when j > i.
// Hugging Face adds finfo(f32).min to masked scores, which in fp32 makes every masked score
// exactly f32 min: a masked key gets probability exactly 0 while its row has an unmasked key,
// and a row with none (only a padded query under causal masking has none) is uniform over all
// seq keys. Both cases are written out here, so no infinity is ever formed.
// One workgroup per row; rows beyond 65535 continue on the grid's y axis.

override CAUSAL: bool = false;

struct Params { seq: u32, heads: u32, rows: u32 }

@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> mask: array<u32>;

const WG = 64u;
const F32_MIN = -0x1.fffffep+127f; // finfo(f32).min
var<workgroup> red: array<f32, WG>;

fn reduceMax(lid: u32, value: f32) -> f32 {
  red[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] = max(red[lid], red[lid + stride]); }
    workgroupBarrier();
  }
  let result = red[0];
  workgroupBarrier(); // red is reused by the next reduction
  return result;
}

fn reduceSum(lid: u32, value: f32) -> f32 {
  red[lid] = value;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { red[lid] += red[lid + stride]; }
    workgroupBarrier();
  }
  let result = red[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = wg.y * groups.x + wg.x;
  if (row >= p.rows) { return; }
  let i = row % p.seq;
  let maskBase = (row / (p.heads * p.seq)) * p.seq;
  let base = row * p.seq;
  // Keys past i under causal masking are never read.
  var end = p.seq;
  if (CAUSAL) { end = i + 1u; }

  var localMax = F32_MIN;
  for (var j = lid; j < end; j += WG) {
    if (mask[maskBase + j] != 0u) { localMax = max(localMax, scores[base + j]); }
  }
  let rowMax = reduceMax(lid, localMax);
  // A real score never reaches f32 min: the row max stays there only when every key is masked.
  let anyKey = rowMax > F32_MIN;

  var localSum = 0.0;
  for (var j = lid; j < end; j += WG) {
    if (mask[maskBase + j] != 0u) { localSum += exp(scores[base + j] - rowMax); }
  }
  let total = reduceSum(lid, localSum);

  for (var j = lid; j < p.seq; j += WG) {
    var prob = 1.0 / f32(p.seq);
    if (anyKey) {
      prob = 0.0;
      if (j < end && mask[maskBase + j] != 0u) { prob = exp(scores[base + j] - rowMax) / total; }
    }
    scores[base + j] = prob;
  }
}

// The same softmax with one invocation per row and no barriers, for software adapters
// (SwiftShader runs invocations as CPU threads, where a barrier is a context switch).
@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wg.y * groups.x + wg.x) * 64u + lid;
  if (row >= p.rows) { return; }
  let i = row % p.seq;
  let maskBase = (row / (p.heads * p.seq)) * p.seq;
  let base = row * p.seq;
  var end = p.seq;
  if (CAUSAL) { end = i + 1u; }
  var rowMax = F32_MIN;
  for (var j = 0u; j < end; j++) {
    if (mask[maskBase + j] != 0u) { rowMax = max(rowMax, scores[base + j]); }
  }
  let anyKey = rowMax > F32_MIN;
  var total = 0.0;
  for (var j = 0u; j < end; j++) {
    if (mask[maskBase + j] != 0u) { total += exp(scores[base + j] - rowMax); }
  }
  for (var j = 0u; j < p.seq; j++) {
    var prob = 1.0 / f32(p.seq);
    if (anyKey) {
      prob = 0.0;
      if (j < end && mask[maskBase + j] != 0u) { prob = exp(scores[base + j] - rowMax) / total; }
    }
    scores[base + j] = prob;
  }
}
