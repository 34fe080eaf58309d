// Rotary-embedding inverse frequencies, shared by the GPU wrapper's table (rope.ts, in
// transformers' float32 arithmetic) and the float64 reference's (rope.ref.ts): one formula, two
// roundings.

/** transformers' `rope_scaling` of type "llama3" (Llama 3.1/3.2). */
export interface Llama3RopeScaling {
  type: 'llama3';
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositionEmbeddings: number;
}

export interface RopeConfig {
  /** head_dim: rotate-half pairs dimension i with i + headDim/2. */
  headDim: number;
  /** rope_theta (10000 for Llama 2, 500000 for Llama 3, 1000000 for Qwen2). */
  theta: number;
  scaling?: Llama3RopeScaling;
}

/** Rounding of every intermediate value: Math.fround for float32, the identity for float64. */
export type Rounding = (v: number) => number;

function checkConfig(c: RopeConfig): void {
  if (!(Number.isInteger(c.headDim) && c.headDim > 0 && c.headDim % 2 === 0)) throw new Error(`rope: head_dim ${c.headDim} is not a positive even integer`);
  if (!(c.theta > 0)) throw new Error(`rope: rope_theta ${c.theta} is not positive`);
  const s = c.scaling;
  if (!s) return;
  if (s.type !== 'llama3') throw new Error(`rope: rope_scaling type ${String(s.type)} is not supported (only llama3)`);
  for (const key of ['factor', 'lowFreqFactor', 'highFreqFactor', 'originalMaxPositionEmbeddings'] as const) {
    if (!(s[key] > 0)) throw new Error(`rope: llama3 rope_scaling ${key} ${s[key]} is not positive`);
  }
  if (!(s.highFreqFactor > s.lowFreqFactor)) throw new Error(`rope: llama3 rope_scaling high_freq_factor ${s.highFreqFactor} must exceed low_freq_factor ${s.lowFreqFactor}`);
}

/** inv_freq[i] = θ^(−2i/d), i < d/2, then llama3's scaling — transformers'
 * `_compute_default_rope_parameters` and `_compute_llama3_parameters`, each operation rounded by
 * `round` as torch rounds it in float32 (Python scalars are float64 and enter float32 ops rounded). */
export function ropeInverseFrequencies(config: RopeConfig, round: Rounding): number[] {
  checkConfig(config);
  const d = config.headDim;
  const base = round(config.theta);
  const inv = Array.from({ length: d / 2 }, (_, i) => round(1 / round(base ** round((2 * i) / d))));
  const s = config.scaling;
  if (!s) return inv;
  const factor = round(s.factor);
  const oldContext = s.originalMaxPositionEmbeddings;
  // Python floats, compared with a float32 tensor after rounding to float32.
  const lowFreqWavelen = round(oldContext / s.lowFreqFactor);
  const highFreqWavelen = round(oldContext / s.highFreqFactor);
  const twoPi = round(2 * Math.PI);
  return inv.map((f) => {
    const wavelen = round(twoPi / f);
    if (wavelen < highFreqWavelen) return f; // high frequencies: unchanged
    if (wavelen > lowFreqWavelen) return round(f / factor); // low frequencies: divided by factor
    // In between, interpolated by a smooth factor.
    const smooth = round(round(round(oldContext / wavelen) - round(s.lowFreqFactor)) / round(s.highFreqFactor - s.lowFreqFactor));
    return round(round(round(round(1 - smooth) * f) / factor) + round(smooth * f));
  });
}
