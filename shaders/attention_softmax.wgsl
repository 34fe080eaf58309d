// Masked row softmax of the attention scores, in place in [batch, heads, seq, seq]: row
// (b, h, i) holds scale·q_i·kᵀ and becomes the probabilities of query i. Key j is masked when
// mask[b·seq + j] == 0 (padding) or, with CAUSAL, when j > i.
// Hugging Face adds finfo(f32).min to masked scores, which in fp32 makes every masked score
// exactly f32 min: a masked key gets probability exactly 0 while its row has an unmasked key,
// and a row with none (only a padded query under causal masking has none) is uniform over all
// seq keys. Both cases are written out here, so no infinity is ever formed.
// One workgroup per row (its reductions from the subgroup or tree library prepended,
// src/kernels/reduction.ts); rows beyond 65535 continue on the grid's y axis.

override CAUSAL: bool = false;

struct Params { seq: u32, heads: u32, rows: u32 }

@group(0) @binding(0) var<storage, read_write> scores: array<f32>;
@group(0) @binding(1) var<uniform> p: Params;
@group(0) @binding(2) var<storage, read> mask: array<u32>;

const WG = 64u;
const F32_MIN = -0x1.fffffep+127f; // finfo(f32).min

// The row's keys and where they live. Keys past i under causal masking are never read.
struct Row { base: u32, maskBase: u32, end: u32 }

fn rowOf(row: u32) -> Row {
  var end = p.seq;
  if (CAUSAL) { end = row % p.seq + 1u; }
  return Row(row * p.seq, (row / (p.heads * p.seq)) * p.seq, end);
}

// The three passes over keys first, first + step, …: a workgroup strides them (main), a single
// invocation walks them all (rows).
fn partialMax(r: Row, first: u32, step: u32) -> f32 {
  var m = F32_MIN;
  for (var j = first; j < r.end; j += step) {
    if (mask[r.maskBase + j] != 0u) { m = max(m, scores[r.base + j]); }
  }
  return m;
}

fn partialSum(r: Row, first: u32, step: u32, rowMax: f32) -> f32 {
  var sum = 0.0;
  for (var j = first; j < r.end; j += step) {
    if (mask[r.maskBase + j] != 0u) { sum += exp(scores[r.base + j] - rowMax); }
  }
  return sum;
}

fn writeProbs(r: Row, first: u32, step: u32, rowMax: f32, total: f32) {
  // A real score never reaches f32 min: the row max stays there only when every key is masked.
  let anyKey = rowMax > F32_MIN;
  for (var j = first; j < p.seq; j += step) {
    var prob = 1.0 / f32(p.seq);
    if (anyKey) {
      prob = 0.0;
      if (j < r.end && mask[r.maskBase + j] != 0u) { prob = exp(scores[r.base + j] - rowMax) / total; }
    }
    scores[r.base + j] = prob;
  }
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u, lane: Lane) {
  let row = wg.y * groups.x + wg.x;
  if (row >= p.rows) { return; }
  let r = rowOf(row);
  let rowMax = workgroupMax(partialMax(r, lane.index, WG), lane);
  let total = workgroupSum(vec2f(partialSum(r, lane.index, WG, rowMax), 0.0), lane).x;
  writeProbs(r, lane.index, WG, rowMax, total);
}

// The same softmax with one invocation per row and no barriers, for software adapters
// (SwiftShader runs invocations as CPU threads, where a barrier is a context switch).
@compute @workgroup_size(64)
fn rows(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) lid: u32) {
  let row = (wg.y * groups.x + wg.x) * 64u + lid;
  if (row >= p.rows) { return; }
  let r = rowOf(row);
  let rowMax = partialMax(r, 0u, 1u);
  writeProbs(r, 0u, 1u, rowMax, partialSum(r, 0u, 1u, rowMax));
}
