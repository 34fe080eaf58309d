// Training strength S_v = ‖v0 − v‖₁ / dim(v) of every trainable vector in one dispatch. One
// workgroup per vector (vectors hold 1 to a few thousand elements): its threads stride over the
// vector with coalesced reads and meet in a tree reduction in workgroup memory.

@group(0) @binding(0) var<storage, read> params: array<f32>;
@group(0) @binding(1) var<storage, read> initial: array<f32>;
@group(0) @binding(2) var<storage, read> vectorOffsets: array<u32>; // numVectors + 1 prefix offsets
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let begin = vectorOffsets[wg.x];
  let end = vectorOffsets[wg.x + 1u];
  var s = 0.0;
  for (var i = begin + li; i < end; i += 256u) {
    s += abs(initial[i] - params[i]);
  }
  partial[li] = s;
  workgroupBarrier();
  for (var half = 128u; half > 0u; half >>= 1u) {
    if (li < half) { partial[li] += partial[li + half]; }
    workgroupBarrier();
  }
  if (li == 0u) {
    // An empty vector has strength 0, not 0/0.
    out[wg.x] = partial[0] / f32(max(end - begin, 1u));
  }
}
