enable subgroups;

// Workgroup reductions through subgroups: subgroupAdd/subgroupMax within each subgroup, then one
// step across the subgroups' partials in workgroup memory — two barriers where the tree of
// reduce_workgroup.wgsl (same interface) takes log2(WG) + 2. Correct for any subgroup size
// WebGPU allows (4 to 128), a last subgroup the workgroup fills only in part included. A
// partial's slot is its subgroup_id, since WebGPU does not say how local indices map onto
// subgroups. Every invocation adds the partials in the same order, so all get the same total.

struct Lane {
  @builtin(local_invocation_index) index: u32,
  @builtin(subgroup_id) subgroup: u32,
  @builtin(num_subgroups) subgroups: u32,
}

var<workgroup> reduceScratch: array<vec2f, (WG + 3u) / 4u>; // a subgroup has at least 4 invocations

// Sums v over the workgroup; every invocation gets the total. Call in uniform control flow.
fn workgroupSum(v: vec2f, lane: Lane) -> vec2f {
  let partial = subgroupAdd(v);
  if (subgroupElect()) { reduceScratch[lane.subgroup] = partial; }
  workgroupBarrier();
  var total = reduceScratch[0];
  for (var i = 1u; i < lane.subgroups; i++) { total += reduceScratch[i]; }
  workgroupBarrier(); // the next call overwrites reduceScratch
  return total;
}

// The maximum of v over the workgroup, as workgroupSum.
fn workgroupMax(v: f32, lane: Lane) -> f32 {
  let partial = subgroupMax(v);
  if (subgroupElect()) { reduceScratch[lane.subgroup].x = partial; }
  workgroupBarrier();
  var result = reduceScratch[0].x;
  for (var i = 1u; i < lane.subgroups; i++) { result = max(result, reduceScratch[i].x); }
  workgroupBarrier();
  return result;
}
