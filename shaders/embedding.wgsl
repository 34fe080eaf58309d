// Embedding gather and its gradient scatter over [rows, dim] with u32 ids into a [vocab, dim]
// table. Grid-stride over the rows·dim elements (consecutive threads copy consecutive words of
// a row). The scatter adds without atomics, so its ids must be unique (see embeddingBackward).
// A table larger than one storage binding is held as row chunks (model/split-table.ts), each
// dispatched on its own: `first` is the chunk's first table row and ids outside [first, end) are
// another chunk's, skipped (the whole table: first 0, end 0xffffffff).

override ACCUMULATE: bool = false;

struct Params { rows: u32, dim: u32, first: u32, end: u32 }

@group(0) @binding(0) var<storage, read> table: array<f32>;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

// out[r, j] (+)= table[ids[r], j]
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < p.rows * p.dim; i += groups.x * 256u) {
    let r = i / p.dim;
    let id = ids[r];
    if (id < p.first || id >= p.end) { continue; }
    var v = table[(id - p.first) * p.dim + i - r * p.dim];
    if (ACCUMULATE) { v += out[i]; }
    out[i] = v;
  }
}

@group(0) @binding(0) var<storage, read> dOut: array<f32>;
@group(0) @binding(1) var<storage, read> bIds: array<u32>;
@group(0) @binding(2) var<storage, read_write> dTable: array<f32>;
@group(0) @binding(3) var<uniform> bp: Params;

// dTable[ids[r], j] += dOut[r, j]
@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < bp.rows * bp.dim; i += groups.x * 256u) {
    let r = i / bp.dim;
    let id = bIds[r];
    if (id < bp.first || id >= bp.end) { continue; }
    let t = (id - bp.first) * bp.dim + i - r * bp.dim;
    dTable[t] += dOut[i];
  }
}

// The scatter with repeated ids (a word-embedding table's gradient): the rows are grouped by id
// on the CPU (groupRows in embedding.ts), and one invocation per (group, column) sums its rows
// and adds the sum to the group's table row. Group ids are unique, so no two invocations write
// the same element; groups past the batch's count are empty and write nothing.
struct GroupParams { groups: u32, dim: u32, first: u32, end: u32 }

@group(0) @binding(0) var<storage, read> gOut: array<f32>;
@group(0) @binding(1) var<storage, read> gOrder: array<u32>;
@group(0) @binding(2) var<storage, read> gOffsets: array<u32>;
@group(0) @binding(3) var<storage, read> gIds: array<u32>;
@group(0) @binding(4) var<storage, read_write> gTable: array<f32>;
@group(0) @binding(5) var<uniform> gp: GroupParams;

// dTable[gIds[u], j] += Σ_{r in group u} dOut[gOrder[r], j]
@compute @workgroup_size(256)
fn backward_grouped(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  for (var i = gid.x; i < gp.groups * gp.dim; i += groups.x * 256u) {
    let u = i / gp.dim;
    let j = i - u * gp.dim;
    let start = gOffsets[u];
    let end = gOffsets[u + 1u];
    let id = gIds[u];
    if (start == end || id < gp.first || id >= gp.end) { continue; }
    var s = 0.0;
    for (var r = start; r < end; r++) { s += gOut[gOrder[r] * gp.dim + j]; }
    gTable[(id - gp.first) * gp.dim + j] += s;
  }
}
