// Counter-based RNG shared by every kernel that draws random numbers (dropout): a stateless
// hash of (seed, stream, index), so a mask is regenerated in the backward instead of stored, and
// a run resumed from the same seed draws the same numbers. It mixes the words (stream, index)
// into the seed with xxHash32's 4-byte rounds and avalanche; src/kernels/rng.ref.ts computes the
// same bits on the CPU.
// A snippet with no bindings: wrappers prepend it to a kernel's code (rng + code).

const XXH_PRIME2 = 2246822519u;
const XXH_PRIME3 = 3266489917u;
const XXH_PRIME4 = 668265263u;
const XXH_PRIME5 = 374761393u;

fn xxhRound(h: u32, word: u32) -> u32 {
  let v = h + word * XXH_PRIME3;
  return ((v << 17u) | (v >> 15u)) * XXH_PRIME4;
}

fn rngU32(seed: u32, stream: u32, index: u32) -> u32 {
  var h = seed + XXH_PRIME5 + 8u;
  h = xxhRound(h, stream);
  h = xxhRound(h, index);
  h ^= h >> 15u;
  h *= XXH_PRIME2;
  h ^= h >> 13u;
  h *= XXH_PRIME3;
  h ^= h >> 16u;
  return h;
}

// The top 24 bits as a uniform number in [0, 1), exact in f32; p = 0 keeps everything and
// p = 1 drops everything.
fn dropoutKeep(seed: u32, stream: u32, index: u32, p: f32) -> bool {
  return f32(rngU32(seed, stream, index) >> 8u) * (1.0 / 16777216.0) >= p;
}
