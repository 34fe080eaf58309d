// Workgroup reductions by a tree in workgroup memory, for any adapter. Prepended to a row kernel
// (src/kernels/reduction.ts) that defines WG, its workgroup size, a power of two; its entry
// points take `lane: Lane` for their local index. reduce_subgroup.wgsl has the same interface.

struct Lane { @builtin(local_invocation_index) index: u32 }

var<workgroup> reduceScratch: array<vec2f, WG>;

// Sums v over the workgroup; every invocation gets the total, from the same fixed tree.
// Call in uniform control flow.
fn workgroupSum(v: vec2f, lane: Lane) -> vec2f {
  let li = lane.index;
  reduceScratch[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduceScratch[li] += reduceScratch[li + s]; }
    workgroupBarrier();
  }
  let total = reduceScratch[0];
  workgroupBarrier(); // the next call overwrites reduceScratch
  return total;
}

// The maximum of v over the workgroup, as workgroupSum.
fn workgroupMax(v: f32, lane: Lane) -> f32 {
  let li = lane.index;
  reduceScratch[li].x = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (li < s) { reduceScratch[li].x = max(reduceScratch[li].x, reduceScratch[li + s].x); }
    workgroupBarrier();
  }
  let result = reduceScratch[0].x;
  workgroupBarrier();
  return result;
}
