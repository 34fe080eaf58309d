// CPU twin of shaders/rng.wgsl: the same xxHash32-style hash of (seed, stream, index), bit for bit
// (Math.imul and >>> 0 give WGSL's wrapping u32 arithmetic).

const PRIME2 = 2246822519;
const PRIME3 = 3266489917;
const PRIME4 = 668265263;
const PRIME5 = 374761393;

function xxhRound(h: number, word: number): number {
  const v = (h + Math.imul(word, PRIME3)) >>> 0;
  return Math.imul((v << 17) | (v >>> 15), PRIME4) >>> 0;
}

export function rngU32(seed: number, stream: number, index: number): number {
  let h = (seed + PRIME5 + 8) >>> 0;
  h = xxhRound(h, stream >>> 0);
  h = xxhRound(h, index >>> 0);
  h = (h ^ (h >>> 15)) >>> 0;
  h = Math.imul(h, PRIME2) >>> 0;
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, PRIME3) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** p is rounded to f32 as the GPU sees it; the uniform number is exact in both. */
export function dropoutKeep(seed: number, stream: number, index: number, p: number): boolean {
  return (rngU32(seed, stream, index) >>> 8) / 16777216 >= Math.fround(p);
}
