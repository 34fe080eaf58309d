// Float64 reference for kernels/strength.ts: S_v = ‖v0 − v‖₁ / dim(v) per vector (0 when empty).

export function strength(args: { params: Float64Array; initial: Float64Array; vectorOffsets: ArrayLike<number> }): Float64Array {
  const { params, initial, vectorOffsets } = args;
  const out = new Float64Array(vectorOffsets.length - 1);
  for (let s = 0; s < out.length; s++) {
    const begin = vectorOffsets[s];
    const end = vectorOffsets[s + 1];
    let sum = 0;
    for (let i = begin; i < end; i++) sum += Math.abs(initial[i] - params[i]);
    out[s] = end > begin ? sum / (end - begin) : 0;
  }
  return out;
}
