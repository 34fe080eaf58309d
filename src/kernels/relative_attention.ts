// GPU wrapper for DeBERTa's disentangled attention terms, as transformers computes them: each
// term's dot products of every content token with every relative-embedding row the sequence reads
// are one strided block product (matmul.wgsl), rel = q_h·posKey_hᵀ (c2p) or k_h·posQuery_hᵀ (p2c),
// and a light gather (shaders/relative_attention.wgsl) adds the entry each (query, key) pair reads
// to the scores. The backward sums dScores into dRel (gatherSum) and runs the products' backward
// through matmul.wgsl too. The float64 reference of the same names is relative_attention.ref.ts.
// The terms are added to the content scores between the q·kᵀ product and the masked softmax
// (attention.ts's addToScores), and their backward reads the dScores that attention's backward
// leaves behind. Each term has its own dispatches, so a model with one term pays for one.
// rel and dRel ([heads, rows, seq, columns]) can outgrow one storage binding where the scores fit
// (DeBERTa-v3-base at 32 × 256: 144.4 MiB against 96 MiB), so the work runs in chunks of as many
// batch rows as the given scratch holds (relativeChunkRows sizes it to a binding). Every output
// element is computed as unsplit (on the same product kernel) except dPositions, whose sum over
// all tokens becomes one sum per chunk accumulated in turn: another fp32 summation order.
import code from '../../shaders/relative_attention.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { createParams, numel, uploadTensor, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';
import { blockMatmul, type BlockLayout, type MatmulVariant } from './matmul.ts';
import { relativeTables, relativeWindow, type RelativePositionSpec } from './relative_positions.ts';

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
  /** The block products' variant (matmul.ts); chosen from the device when absent. */
  variant?: MatmulVariant;
}

export type RelativeTerm = 'c2p' | 'p2c';

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
  /** Scratch of at least one batch row (relativeScratchSize(shape, 1)), dead after these
   * dispatches: the batch runs in chunks of as many rows as it holds. */
  rel: Tensor;
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
  /** Scratch of at least one batch row, dead after these ops (chunks as in the forward). */
  dRel: Tensor;
}

type ScratchShape = Pick<RelativeAttentionShape, 'batch' | 'seq' | 'heads' | 'positions'>;

/** Elements of rel and dRel for `rows` batch rows (all by default): [heads, rows, seq, columns]
 * (the products cover only the rows the sequence reads: relativeWindow). */
export function relativeScratchSize(s: ScratchShape, rows = s.batch): number {
  return s.heads * rows * s.seq * relativeWindow(s.positions, s.seq).columns;
}

/** The most batch rows (up to all, at least one) whose rel fits in `maxBytes`: one storage
 * binding's worth, the chunk the model sizes its scratch for. */
export function relativeChunkRows(s: ScratchShape, maxBytes: number): number {
  return Math.max(1, Math.min(s.batch, Math.floor(maxBytes / (4 * relativeScratchSize(s, 1)))));
}

/** Batch rows [first, first + rows) that one pass of the rel / dRel work covers. */
export interface BatchChunk {
  first: number;
  rows: number;
}

/** The batch in chunks of as many rows as the scratch holds, the last one shorter. */
function chunks(s: RelativeAttentionShape, scratch: Tensor): BatchChunk[] {
  const size = Math.min(s.batch, Math.floor(numel(scratch.shape) / relativeScratchSize(s, 1)));
  const out: BatchChunk[] = [];
  for (let first = 0; first < s.batch; first += size) out.push({ first, rows: Math.min(size, s.batch - first) });
  return out;
}

/** scores += scale·(q_i·posKey_r + k_j·posQuery_r) over the terms that are on: per term, rel =
 * content·posᵀ over the window, then the gather. */
export function relativeScoresForward(device: GPUDevice, args: RelativeScoresForwardArgs): Dispatch[] {
  check(args, { scores: args.scores, rel: args.rel });
  const parts = chunks(args, args.rel);
  return terms(args).flatMap((term) => {
    const [content, pos] = term === 'c2p' ? [args.q, need(args.posKey, 'posKey', term)] : [args.k, need(args.posQuery, 'posQuery', term)];
    check(args, { content, pos });
    return parts.flatMap((chunk) => {
      const l = layouts(args, chunk);
      return [
        blockMatmul(device, {
          ...perToken(args, chunk, `relative ${term} rel`), n: l.columns, k: args.headDim, transB: true,
          a: [content, l.tokens], b: [pos, l.window], out: [args.rel, l.rel],
        }),
        relativeGather(device, { ...args, term, chunk }),
      ];
    });
  });
}

/** dq += …, dk += … (the terms' share), dPosKey = …, dPosQuery = …: per term and batch chunk,
 * dRel = gatherSum of dScores, then dContent += dRel·pos and dPos (+)= dRelᵀ·content over the
 * chunk's tokens (dRel is head-major, so batch and tokens are one inner dimension): the first
 * chunk writes dPos, the others add to it. Rows outside the window get no gradient: cleared first. */
export function relativeScoresBackward(device: GPUDevice, args: RelativeScoresBackwardArgs): PlanOp[] {
  check(args, { scores: args.dScores, rel: args.dRel });
  const parts = chunks(args, args.dRel);
  const { columns } = relativeWindow(args.positions, args.seq);
  const rows = 2 * args.positions.span;
  return terms(args).flatMap((term): PlanOp[] => {
    const [content, dContent, pos, dPos] = term === 'c2p'
      ? [args.q, args.dq, need(args.posKey, 'posKey', term), need(args.dPosKey, 'dPosKey', term)]
      : [args.k, args.dk, need(args.posQuery, 'posQuery', term), need(args.dPosQuery, 'dPosQuery', term)];
    check(args, { content, dContent, pos, dPos });
    const perChunk = parts.flatMap((chunk): PlanOp[] => {
      const l = layouts(args, chunk);
      const tokens = chunk.rows * args.seq;
      return [
        relativeGatherSum(device, { ...args, term, chunk }),
        blockMatmul(device, {
          ...perToken(args, chunk, `relative ${term} dContent`), n: args.headDim, k: l.columns, accumulate: true,
          a: [args.dRel, l.rel], b: [pos, l.window], out: [dContent, l.tokens],
        }),
        blockMatmul(device, {
          label: `relative ${term} dPositions ${args.heads}×${l.columns}×${args.headDim}×${tokens} (batch from ${chunk.first})`,
          variant: args.variant, m: l.columns, n: args.headDim, k: tokens, transA: true, blocks: args.heads, heads: args.heads, accumulate: chunk.first > 0,
          a: [args.dRel, { ...l.rel, batchStride: 0 }], b: [content, { ...l.tokens, batchStride: 0 }], out: [dPos, l.window],
        }),
      ];
    });
    return [...(columns < rows ? [{ clear: dPos }] : []), ...perChunk];
  });
}

export interface RelativeGatherArgs extends RelativeAttentionShape {
  term: RelativeTerm;
  /** The batch rows covered (all when absent). */
  chunk?: BatchChunk;
  /** [heads, chunk rows, seq, columns] (relativeWindow's columns). */
  rel: Tensor;
  /** [batch, heads, seq, seq], added to. */
  scores: Tensor;
}

/** scores[first + b, h, i, j] += scale · rel[h, b, i (c2p) or j (p2c), column of i − j] for the
 * chunk's rows b. */
export function relativeGather(device: GPUDevice, args: RelativeGatherArgs): Dispatch {
  const { index } = relativeTables(args.positions, args.seq - 1);
  const first = index[0];
  const columns = uploadTensor(device, Int32Array.from(index, (r) => r - first), [index.length], 'i32', 'relative columns');
  const chunk = args.chunk ?? { first: 0, rows: args.batch };
  const n = chunk.rows * args.heads * args.seq * args.seq;
  return dispatch(device, 'gather', args, chunk, n, [args.scores, columns, args.rel]);
}

export interface RelativeGatherSumArgs extends RelativeAttentionShape {
  term: RelativeTerm;
  /** The batch rows covered (all when absent). */
  chunk?: BatchChunk;
  /** [batch, heads, seq, seq]. */
  dScores: Tensor;
  /** Written: [heads, chunk rows, seq, columns]. */
  dRel: Tensor;
}

/** dRel[h, b, t, c] = scale · Σ dScores[first + b, h, i, j] over the pairs with t = i (c2p) or
 * j (p2c) that read column c, for the chunk's rows b. */
export function relativeGatherSum(device: GPUDevice, args: RelativeGatherSumArgs): Dispatch {
  const { lo, hi } = relativeTables(args.positions, args.seq - 1);
  const { first, columns } = relativeWindow(args.positions, args.seq);
  const pairs = new Int32Array(2 * columns);
  for (let c = 0; c < columns; c++) pairs.set([lo[first + c], hi[first + c]], 2 * c);
  const ranges = uploadTensor(device, pairs, [columns, 2], 'i32', 'relative column ranges');
  const chunk = args.chunk ?? { first: 0, rows: args.batch };
  return dispatch(device, 'gatherSum', args, chunk, relativeScratchSize(args, chunk.rows), [args.dRel, ranges, args.dScores]);
}

function terms(s: RelativeAttentionShape): RelativeTerm[] {
  return [...(s.c2p ? ['c2p' as const] : []), ...(s.p2c ? ['p2c' as const] : [])];
}

function need(t: Tensor | undefined, name: string, term: RelativeTerm): Tensor {
  if (!t) throw new Error(`relative attention: the ${term} term needs ${name}`);
  return t;
}

/** The operands' layouts for one batch chunk: q, k and their gradients token-major
 * [batch·seq, heads·headDim] from the chunk's first token; the window's rows of the projected
 * embeddings [2·span, heads·headDim] (the same for every batch entry); rel and dRel
 * [heads, chunk rows, seq, columns]. */
function layouts(s: RelativeAttentionShape, chunk: BatchChunk): { columns: number; tokens: BlockLayout; window: BlockLayout; rel: BlockLayout } {
  const A = s.heads * s.headDim;
  const { first, columns } = relativeWindow(s.positions, s.seq);
  return {
    columns,
    tokens: { offset: chunk.first * s.seq * A, batchStride: s.seq * A, headStride: s.headDim, ld: A },
    window: { offset: first * A, batchStride: 0, headStride: s.headDim, ld: A },
    rel: { batchStride: s.seq * columns, headStride: chunk.rows * s.seq * columns, ld: columns },
  };
}

/** The chunk's per-(batch, head) products with the sequence's tokens as rows. */
function perToken(s: RelativeAttentionShape, chunk: BatchChunk, label: string) {
  return { label: `${label} ${chunk.rows}×${s.heads}×${s.seq}×${s.headDim} (batch from ${chunk.first})`, variant: s.variant, m: s.seq, blocks: chunk.rows * s.heads, heads: s.heads };
}

function dispatch(device: GPUDevice, entryPoint: 'gather' | 'gatherSum', s: RelativeAttentionShape & { term: RelativeTerm }, chunk: BatchChunk, n: number, tensors: Tensor[]): Dispatch {
  const { columns } = relativeWindow(s.positions, s.seq);
  return makeDispatch(device, {
    label: `relative ${s.term} ${entryPoint} ${chunk.rows}×${s.heads}×${s.seq} (batch from ${chunk.first}), ${columns} columns`,
    code,
    entryPoint,
    constants: { P2C: Number(s.term === 'p2c') },
    bindings: [
      createParams(device, [
        ['u32', chunk.rows], ['u32', s.seq], ['u32', s.heads], ['u32', columns], ['u32', s.seq - 1], ['f32', s.scale], ['u32', n], ['u32', chunk.first],
      ]),
      ...tensors,
    ],
    workgroups: gridStride(n),
  });
}

function check(s: RelativeAttentionShape, tensors: { content?: Tensor; dContent?: Tensor; pos?: Tensor; dPos?: Tensor; scores?: Tensor; rel?: Tensor }): void {
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
  const row = relativeScratchSize(s, 1);
  if (tensors.rel && numel(tensors.rel.shape) < row) throw new Error(`relative attention: the rel scratch has ${numel(tensors.rel.shape)} elements, one batch row needs ${row}`);
}
