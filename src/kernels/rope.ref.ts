// Float64 reference for shaders/rope.wgsl (same op names as kernels/rope.ts).
import { ropeInverseFrequencies, type RopeConfig } from './rope_frequencies.ts';

/** [positions, headDim/2, 2]: (cos, sin) of position·inv_freq, all in float64. */
export function ropeTable(config: RopeConfig, positions: number): Float64Array {
  const inv = ropeInverseFrequencies(config, (v) => v);
  const half = inv.length;
  const table = new Float64Array(positions * half * 2);
  for (let pos = 0; pos < positions; pos++) {
    for (let i = 0; i < half; i++) {
      table[(pos * half + i) * 2] = Math.cos(pos * inv[i]);
      table[(pos * half + i) * 2 + 1] = Math.sin(pos * inv[i]);
    }
  }
  return table;
}

export interface RopeRefArgs {
  /** [tokens, heads, headDim] with tokens = batch·seq. */
  x: Float64Array;
  /** As ropeTable's, with at least positionOffset + seq positions. */
  table: Float64Array;
  tokens: number;
  seq: number;
  heads: number;
  headDim: number;
  /** Token t sits at position positionOffset + t mod seq, or at positions[t] when given. */
  positionOffset?: number;
  positions?: ArrayLike<number>;
}

/** Rotates each pair (x[i], x[i + d/2]) by its angle: transformers' x·cos + rotate_half(x)·sin. */
export function ropeForward(args: RopeRefArgs): Float64Array {
  return rotate(args, 1);
}

/** The transpose of the forward's rotation (rotation by the opposite angle), applied to dy. */
export function ropeBackward(args: Omit<RopeRefArgs, 'x'> & { dy: Float64Array }): Float64Array {
  return rotate({ ...args, x: args.dy }, -1);
}

function rotate(args: RopeRefArgs, sign: 1 | -1): Float64Array {
  const { x, table, tokens, seq, heads, headDim } = args;
  const half = headDim / 2;
  const y = new Float64Array(tokens * heads * headDim);
  for (let t = 0; t < tokens; t++) {
    const pos = args.positions ? args.positions[t] : (args.positionOffset ?? 0) + (t % seq);
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = table[(pos * half + i) * 2];
        const s = sign * table[(pos * half + i) * 2 + 1];
        const [a, b] = [x[base + i], x[base + half + i]];
        y[base + i] = a * c - b * s;
        y[base + half + i] = b * c + a * s;
      }
    }
  }
  return y;
}
