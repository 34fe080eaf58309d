// GPU wrapper for shaders/rope.wgsl; the float64 reference of the same names is rope.ref.ts.
//
// The (cos, sin) table is made here on the CPU the way transformers' LlamaRotaryEmbedding makes
// it in float32 (inv_freq in float32, the angle position·inv_freq rounded to float32, then cos
// and sin of that angle), so the kernel rotates by the angles a PyTorch float32 model uses, not
// by exact ones: at position p the two differ by up to ~(ln θ + 12)·2⁻²⁴·p·inv_freq radians.
import code from '../../shaders/rope.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, placeholder, uploadTensor, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';
import { ropeInverseFrequencies, type RopeConfig } from './rope_frequencies.ts';

export type { Llama3RopeScaling, RopeConfig } from './rope_frequencies.ts';

/** [positions, headDim/2, 2]: (cos, sin) of position·inv_freq in transformers' float32. */
export function ropeTable(config: RopeConfig, positions: number): Float32Array {
  const inv = ropeInverseFrequencies(config, Math.fround);
  const half = inv.length;
  const table = new Float32Array(positions * half * 2);
  for (let pos = 0; pos < positions; pos++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(pos * inv[i]);
      table[(pos * half + i) * 2] = Math.cos(angle);
      table[(pos * half + i) * 2 + 1] = Math.sin(angle);
    }
  }
  return table;
}

/** ropeTable uploaded: one per model (all layers share it), sized for the longest sequence. */
export function createRopeTable(device: GPUDevice, config: RopeConfig, positions: number): Tensor {
  return uploadTensor(device, ropeTable(config, positions), [positions, config.headDim / 2, 2], 'f32', 'rope table');
}

export interface RopeArgs {
  /** createRopeTable's tensor. */
  table: Tensor;
  /** batch·seq. */
  tokens: number;
  seq: number;
  /** Heads of this tensor: attention heads for q, KV heads for k. */
  heads: number;
  headDim: number;
  /** Token t sits at position positionOffset + t mod seq (0 in training, as transformers counts
   * padding; a KV cache's length when generating). */
  positionOffset?: number;
  /** u32 [tokens]: each token's position instead (transformers' position_ids, e.g. a batch of
   * left-padded prompts), each below the table's length (not checkable here: GPU data). */
  positions?: Tensor;
}

export interface RopeOutOfPlaceArgs extends RopeArgs {
  /** [tokens, heads·headDim] */
  x: Tensor;
  /** May not be x: use ropeInPlace for that. */
  y: Tensor;
}

/** y = rope(x). */
export function ropeForward(device: GPUDevice, args: RopeOutOfPlaceArgs): Dispatch {
  return rope(device, args, 'forward', 'main', [args.x, args.y]);
}

/** dx = ropeᵀ(dy): the gradient before the rotation. */
export function ropeBackward(device: GPUDevice, args: RopeArgs & { dy: Tensor; dx: Tensor }): Dispatch {
  return rope(device, args, 'backward', 'main', [args.dy, args.dx]);
}

/** data = rope(data), or ropeᵀ(data) with backward (q, k after their linears; dq, dk). */
export function ropeInPlace(device: GPUDevice, args: RopeArgs & { data: Tensor; backward?: boolean }): Dispatch {
  return rope(device, args, args.backward ? 'backward' : 'forward', 'in_place', [args.data]);
}

function rope(device: GPUDevice, args: RopeArgs, direction: 'forward' | 'backward', entryPoint: string, data: Tensor[]): Dispatch {
  const { tokens, seq, heads, headDim } = args;
  const offset = args.positionOffset ?? 0;
  const label = `rope ${direction} ${tokens}×${heads}×${headDim}`;
  if (headDim % 2 !== 0) throw new Error(`${label}: head_dim ${headDim} is odd`);
  if (!(seq > 0 && tokens % seq === 0)) throw new Error(`${label}: ${tokens} tokens are not whole rows of ${seq}`);
  for (const t of data) {
    if (numel(t.shape) !== tokens * heads * headDim) throw new Error(`${label}: a tensor has ${numel(t.shape)} elements, expected ${tokens * heads * headDim}`);
  }
  const tableLength = numel(args.table.shape) / headDim;
  if (args.table.shape[1] * 2 !== headDim) throw new Error(`${label}: the table is for head_dim ${args.table.shape[1] * 2}`);
  if (args.positions) {
    if (args.positions.dtype !== 'u32' || numel(args.positions.shape) !== tokens) throw new Error(`${label}: positions must be u32 [${tokens}]`);
  } else if (offset + seq > tableLength) {
    throw new Error(`${label}: positions up to ${offset + seq - 1} need a table of ${offset + seq}, it has ${tableLength}`);
  }
  const pairs = (tokens * heads * headDim) / 2;
  return makeDispatch(device, {
    label,
    code,
    entryPoint,
    constants: { BACKWARD: Number(direction === 'backward'), HAS_POSITIONS: Number(!!args.positions) },
    bindings: [
      args.table,
      createParams(device, [['u32', pairs], ['u32', heads], ['u32', headDim / 2], ['u32', seq], ['u32', offset]]),
      args.positions ?? placeholder(device),
      ...data,
    ],
    workgroups: gridStride(pairs),
  });
}
