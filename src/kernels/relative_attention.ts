// GPU wrapper for DeBERTa's disentangled attention terms (shaders/relative_attention.wgsl); the
// float64 reference of the same names is relative_attention.ref.ts. The terms are added to the
// content scores between the q·kᵀ product and the masked softmax (attention.ts's addToScores),
// and their backward reads the dScores that attention's backward leaves behind. Each term (c2p,
// p2c) is one dispatch per op, so a model with one term pays for one.
import code from '../../shaders/relative_attention.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, numel, uploadTensor, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';
import { relativeTables, type RelativePositionSpec } from './relative_positions.ts';

export interface RelativeAttentionShape {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  /** The attention's scale, 1/√(headDim·(1 + number of terms)). */
  scale: number;
  c2p: boolean;
  p2c: boolean;
  positions: RelativePositionSpec;
}

export interface RelativeScoresForwardArgs extends RelativeAttentionShape {
  /** [batch·seq, heads·headDim]. */
  q: Tensor;
  k: Tensor;
  /** [2·span, heads·headDim]: c2p's projected keys and p2c's projected queries (only those of
   * the terms that are on are read). */
  posKey?: Tensor;
  posQuery?: Tensor;
  /** [batch, heads, seq, seq]: the content scores, to which the terms are added. */
  scores: Tensor;
}

export interface RelativeScoresBackwardArgs extends RelativeAttentionShape {
  /** [batch, heads, seq, seq]: dL/dscores (attention's backward leaves it in its dScores). */
  dScores: Tensor;
  q: Tensor;
  k: Tensor;
  posKey?: Tensor;
  posQuery?: Tensor;
  /** Added to (c2p, p2c): the content gradients [batch·seq, heads·headDim]. */
  dq: Tensor;
  dk: Tensor;
  /** Written: [2·span, heads·headDim] (each needed only where its term is on). */
  dPosKey?: Tensor;
  dPosQuery?: Tensor;
}

type Term = 'c2p' | 'p2c';

/** scores += scale·(q_i·posKey_r + k_j·posQuery_r) over the terms that are on. */
export function relativeScoresForward(device: GPUDevice, args: RelativeScoresForwardArgs): Dispatch[] {
  const tables = indexTable(device, args);
  return terms(args).map((term) => {
    const [content, pos] = term === 'c2p' ? [args.q, need(args.posKey, 'posKey', term)] : [args.k, need(args.posQuery, 'posQuery', term)];
    check(args, { content, pos, scores: args.scores });
    const n = args.batch * args.heads * args.seq * args.seq;
    return dispatch(device, 'scores', term, args, n, [args.scores, tables, content, pos]);
  });
}

/** dq += …, dk += … (the terms' share), dPosKey = …, dPosQuery = …. */
export function relativeScoresBackward(device: GPUDevice, args: RelativeScoresBackwardArgs): Dispatch[] {
  const index = indexTable(device, args);
  const ranges = rangeTable(device, args);
  const tokens = args.batch * args.seq * args.heads * args.headDim;
  const rows = 2 * args.positions.span * args.heads * args.headDim;
  return terms(args).flatMap((term) => {
    const [content, dContent, pos, dPos] = term === 'c2p'
      ? [args.q, args.dq, need(args.posKey, 'posKey', term), need(args.dPosKey, 'dPosKey', term)]
      : [args.k, args.dk, need(args.posQuery, 'posQuery', term), need(args.dPosQuery, 'dPosQuery', term)];
    check(args, { content, dContent, pos, dPos, scores: args.dScores });
    return [
      dispatch(device, 'dContent', term, args, tokens, [dContent, index, pos, args.dScores]),
      dispatch(device, 'dPositions', term, args, rows, [dPos, ranges, content, args.dScores]),
    ];
  });
}

function terms(s: RelativeAttentionShape): Term[] {
  return [...(s.c2p ? ['c2p' as const] : []), ...(s.p2c ? ['p2c' as const] : [])];
}

function need(t: Tensor | undefined, name: string, term: Term): Tensor {
  if (!t) throw new Error(`relative attention: the ${term} term needs ${name}`);
  return t;
}

/** i32 [2·(seq − 1) + 1]: the embedding row of each delta i − j. */
function indexTable(device: GPUDevice, s: RelativeAttentionShape): Tensor {
  const { index } = relativeTables(s.positions, s.seq - 1);
  return uploadTensor(device, Int32Array.from(index), [index.length], 'i32', 'relative rows');
}

/** i32 [2·span, 2]: each row's delta range [lo, hi]. */
function rangeTable(device: GPUDevice, s: RelativeAttentionShape): Tensor {
  const { lo, hi } = relativeTables(s.positions, s.seq - 1);
  const pairs = new Int32Array(2 * lo.length);
  lo.forEach((l, r) => pairs.set([l, hi[r]], 2 * r));
  return uploadTensor(device, pairs, [lo.length, 2], 'i32', 'relative row ranges');
}

function dispatch(device: GPUDevice, entryPoint: string, term: Term, s: RelativeAttentionShape, n: number, tensors: Tensor[]): Dispatch {
  const rows = 2 * s.positions.span;
  return makeDispatch(device, {
    label: `relative ${term} ${entryPoint} ${s.batch}×${s.heads}×${s.seq}×${s.headDim}, ${rows} rows`,
    code,
    entryPoint,
    constants: { P2C: Number(term === 'p2c') },
    bindings: [
      createParams(device, [['u32', s.batch], ['u32', s.seq], ['u32', s.heads], ['u32', s.headDim], ['u32', rows], ['u32', s.seq - 1], ['f32', s.scale], ['u32', n]]),
      ...tensors,
    ],
    workgroups: gridStride(n),
  });
}

function check(s: RelativeAttentionShape, tensors: { content: Tensor; pos: Tensor; scores: Tensor; dContent?: Tensor; dPos?: Tensor }): void {
  const width = s.heads * s.headDim;
  const sizes: [string, Tensor | undefined, number][] = [
    ['content', tensors.content, s.batch * s.seq * width],
    ['dContent', tensors.dContent, s.batch * s.seq * width],
    ['positions', tensors.pos, 2 * s.positions.span * width],
    ['dPositions', tensors.dPos, 2 * s.positions.span * width],
    ['scores', tensors.scores, s.batch * s.heads * s.seq * s.seq],
  ];
  for (const [name, t, size] of sizes) {
    if (t && numel(t.shape) !== size) throw new Error(`relative attention: ${name} has ${numel(t.shape)} elements, expected ${size}`);
  }
}
