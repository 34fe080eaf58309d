// Finiteness check of a flat f32 buffer: finds the first element that is NaN or ±Inf. WGSL has
// no isNan/isInf and compilers fold `x != x` away (Dawn on SwiftShader does: the parity test
// catches it), so the test is on the bits: an f32 is non-finite exactly when its 8 exponent bits
// are all ones.
//
// The result is one u32 at out[SLOT], cleared to 0 before the dispatch: 0 = every element
// finite, else ~i (the bitwise complement of the first bad index i). atomicMax of ~i is atomicMin
// of i, and ~i is never 0 for a buffer shorter than 2³² − 1 elements, so a cleared slot needs no
// sentinel upload.
//
// No workgroup memory and no barriers: bad elements are rare (only a diverged run has any), so a
// global atomic per thread that finds one costs nothing in the common case, and barriers are
// what makes software rasterisers slow (700k elements: 51 ms on SwiftShader, 444 ms with a
// workgroup reduction).

override SLOT: u32 = 0u;
/** Elements to check (from the start of `data`). */
override COUNT: u32;

@group(0) @binding(0) var<storage, read> data: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<atomic<u32>>;

const EXPONENT: u32 = 0x7f800000u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let stride = groups.x * 256u;
  // Grid-stride in increasing order: the first bad index a thread meets is its smallest.
  for (var i = gid.x; i < COUNT; i += stride) {
    if ((bitcast<u32>(data[i]) & EXPONENT) == EXPONENT) {
      atomicMax(&out[SLOT], ~i);
      break;
    }
  }
}
