// Reference for kernels/finite.ts: the index of the first NaN or ±Inf in `data`, −1 when every
// element is finite. (Exact: finiteness has no rounding, so float64 and the GPU agree bit for bit
// on fp32 inputs.)

export function finite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return i;
  return -1;
}
