// add: out = a + b (residual connections), or out += a + b with ACCUMULATE.
// scaleAdd: out = b[0]·a, or out += b[0]·a with ACCUMULATE (gradient accumulation: b[0] is a
// micro-batch's share of the step's loss, rewritten before each micro-batch).
// Grid-stride loop: the wrapper caps the grid (gridStride in src/kernels/grid.ts), so
// any n fits the 65535-workgroup limit while consecutive threads touch consecutive words.

override ACCUMULATE: bool = false;

struct Params { n: u32 }

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < p.n; i += groups.x * 256u) {
    var v = a[i] + b[i];
    if (ACCUMULATE) { v += out[i]; }
    out[i] = v;
  }
}

@compute @workgroup_size(256)
fn scaleAdd(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let w = b[0];
  for (var i = gid.x; i < p.n; i += groups.x * 256u) {
    var v = w * a[i];
    if (ACCUMULATE) { v += out[i]; }
    out[i] = v;
  }
}
