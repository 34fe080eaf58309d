// GPU wrapper for multi-head scaled-dot-product attention (shaders/attention_softmax*.wgsl and
// the block products of matmul.wgsl); the float64 reference of the same names is attention.ref.ts.
//
// The six per-head products are strided block matmuls (heads > 1) that read q, k, v, dOut and
// write out, dq, dk, dv in the token-major [batch·seq, heads·headDim] layout directly — no
// split-heads or merge-heads copies — with the dropout mask fused into the loads of the
// probabilities. The row softmax and its backward run one workgroup per row.
import softmaxCode from '../../shaders/attention_softmax.wgsl?raw';
import softmaxBackwardCode from '../../shaders/attention_softmax_backward.wgsl?raw';
import rngCode from '../../shaders/rng.wgsl?raw';
import { ceilDiv, makeDispatch, type Binding, type Dispatch } from '../gpu/dispatch.ts';
import type { Constants } from '../gpu/pipelines.ts';
import { createParams, numel, placeholder, type Tensor } from '../gpu/tensor.ts';
import { blockMatmul, type BlockLayout, type MatmulVariant } from './matmul.ts';
import { rowVariant, withReductions, workgroupVariant, type RowVariant } from './reduction.ts';

export interface AttentionShape {
  batch: number;
  seq: number;
  heads: number;
  headDim: number;
  /** Multiplies q·kᵀ (1/√headDim in BERT). */
  scale: number;
  /** The per-head products: 'tiled' (workgroup memory, GPUs) or 'direct' (no barriers, software
   * adapters); chosen from the device when absent. Tests run both. */
  variant?: MatmulVariant;
  /** The softmaxes' reductions (reduction.ts). When absent: 'rows' beside 'direct' products, the
   * device's workgroup variant beside 'tiled' ones, else chosen from the device. */
  softmaxVariant?: RowVariant;
}

/** Attention-probability dropout (attention_probs_dropout_prob), training only. */
export interface AttentionDropout {
  /** Probability of dropping a weight, 0 ≤ p ≤ 1. */
  p: number;
  /** A per-layer constant, so that layers draw independent masks from one seed. */
  stream: number;
}

export interface AttentionDropoutArgs extends AttentionDropout {
  /** u32 [1]: the caller writes a fresh seed each step (writeTensor), and the same value must
   *  still be there when that step's backward runs, which regenerates the mask from it. */
  seed: Tensor;
}

export interface AttentionForwardArgs extends AttentionShape {
  /** The q, k, v linear outputs, [batch·seq, heads·headDim]; head h is columns h·headDim …. */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** u32 [batch·seq]: 1 for a real token, 0 for padding (its key gets probability 0). */
  mask: Tensor;
  /** Key j > query i is masked (decoders). */
  causal?: boolean;
  dropout?: AttentionDropoutArgs;
  /** [batch·seq, heads·headDim]. */
  out: Tensor;
  /** [batch, heads, seq, seq]: softmax before dropout, kept for the backward. */
  probs: Tensor;
  /** Dispatches that add terms to the scaled scores (in `probs`) before the masked softmax:
   * DeBERTa's relative-position terms (relative_attention.ts). Their gradient is the dScores
   * that the backward leaves behind. */
  addToScores?: Dispatch[];
}

export interface AttentionBackwardArgs extends AttentionShape {
  dOut: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  /** The forward's dropout, with the same seed value as in the forward. */
  dropout?: AttentionDropoutArgs;
  /** Scratch [batch, heads, seq, seq] for dP, then dS (the gradient of the scaled scores, which
   *  added score terms read right after the backward); dead after that, so all layers can share one. */
  dScores: Tensor;
  /** Written (not accumulated), [batch·seq, heads·headDim]. */
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
}

/** scores = scale·q·kᵀ (+ addToScores) → masked softmax → out = dropout(probs)·v: three dispatches
 * and the added ones. */
export function attentionForward(device: GPUDevice, args: AttentionForwardArgs): Dispatch[] {
  const { seq, headDim } = args;
  checkSizes('attentionForward', args, { q: args.q, k: args.k, v: args.v, out: args.out }, { probs: args.probs });
  if (numel(args.mask.shape) !== args.batch * seq) throw new Error(`attentionForward: mask has ${numel(args.mask.shape)} elements, expected ${args.batch * seq}`);
  const tokens = tokenLayout(args);
  const scores = scoresLayout(args);
  return [
    headProduct(device, 'attention scores', args, { m: seq, n: seq, k: headDim, alpha: args.scale, transB: true },
      [args.q, tokens], [args.k, tokens], [args.probs, scores]),
    ...(args.addToScores ?? []),
    attentionSoftmax(device, args),
    headProduct(device, 'attention output', args, { m: seq, n: headDim, k: seq, dropout: args.dropout },
      [args.probs, scores], [args.v, tokens], [args.out, tokens]),
  ];
}

/** dv = dropout(P)ᵀ·dOut, dP = dOut·vᵀ, dS = softmax backward, dq = scale·dS·k,
 *  dk = scale·dSᵀ·q: five dispatches. */
export function attentionBackward(device: GPUDevice, args: AttentionBackwardArgs): Dispatch[] {
  const { seq, headDim, dropout } = args;
  checkSizes('attentionBackward', args,
    { dOut: args.dOut, q: args.q, k: args.k, v: args.v, dq: args.dq, dk: args.dk, dv: args.dv },
    { probs: args.probs, dScores: args.dScores });
  const tokens = tokenLayout(args);
  const scores = scoresLayout(args);
  return [
    headProduct(device, 'attention dv', args, { m: seq, n: headDim, k: seq, transA: true, dropout },
      [args.probs, scores], [args.dOut, tokens], [args.dv, tokens]),
    headProduct(device, 'attention dP', args, { m: seq, n: seq, k: headDim, transB: true },
      [args.dOut, tokens], [args.v, tokens], [args.dScores, scores]),
    attentionSoftmaxBackward(device, args),
    headProduct(device, 'attention dq', args, { m: seq, n: headDim, k: seq, alpha: args.scale },
      [args.dScores, scores], [args.k, tokens], [args.dq, tokens]),
    headProduct(device, 'attention dk', args, { m: seq, n: headDim, k: seq, alpha: args.scale, transA: true },
      [args.dScores, scores], [args.q, tokens], [args.dk, tokens]),
  ];
}

/** The masked row softmax of the scores in `probs`, in place (the forward's middle dispatch). */
export function attentionSoftmax(device: GPUDevice, args: AttentionShape & Pick<AttentionForwardArgs, 'probs' | 'mask' | 'causal'>): Dispatch {
  const rows = args.batch * args.heads * args.seq;
  return rowDispatch(device, 'attention softmax', softmaxCode, rows, args, { CAUSAL: Number(!!args.causal) }, [
    args.probs,
    createParams(device, [['u32', args.seq], ['u32', args.heads], ['u32', rows]]),
    args.mask,
  ]);
}

/** dScores = P ⊙ (dP − rowsum(dP ⊙ P)) in place of dP (the backward's middle dispatch). */
export function attentionSoftmaxBackward(device: GPUDevice, args: AttentionShape & Pick<AttentionBackwardArgs, 'dScores' | 'probs' | 'dropout'>): Dispatch {
  const rows = args.batch * args.heads * args.seq;
  const [dropP, dropScale] = dropoutFactors(args.dropout);
  return rowDispatch(device, 'attention softmax backward', rngCode + softmaxBackwardCode, rows, args, { DROPOUT: Number(!!args.dropout) }, [
    args.dScores,
    createParams(device, [['u32', args.seq], ['u32', rows], ['f32', dropP], ['f32', dropScale], ['u32', args.dropout?.stream ?? 0]]),
    args.probs,
    args.dropout?.seed ?? placeholder(device),
  ]);
}

type Layout = BlockLayout;

function tokenLayout(s: AttentionShape): Layout {
  return { batchStride: s.seq * s.heads * s.headDim, headStride: s.headDim, ld: s.heads * s.headDim };
}

function scoresLayout(s: AttentionShape): Layout {
  return { batchStride: s.heads * s.seq * s.seq, headStride: s.seq * s.seq, ld: s.seq };
}

interface ProductOptions {
  m: number;
  n: number;
  k: number;
  alpha?: number;
  transA?: boolean;
  transB?: boolean;
  /** Scale A (the probabilities) by the dropout mask. */
  dropout?: AttentionDropoutArgs;
}

function headProduct(device: GPUDevice, label: string, s: AttentionShape, o: ProductOptions,
  [a, la]: [Tensor, Layout], [b, lb]: [Tensor, Layout], [c, lc]: [Tensor, Layout]): Dispatch {
  return blockMatmul(device, {
    label: `${label} ${s.batch}×${s.heads}×${o.m}×${o.n}×${o.k}`,
    m: o.m, n: o.n, k: o.k, alpha: o.alpha, transA: o.transA, transB: o.transB, variant: s.variant,
    blocks: s.batch * s.heads, heads: s.heads,
    a: [a, la], b: [b, lb], out: [c, lc],
    dropoutA: o.dropout,
  });
}

/** A softmax pass over rows: one workgroup per row ('main'; reductions by subgroups or a tree)
 * or one invocation per row in workgroups of 64 ('rows', software adapters), wrapping onto the
 * y axis past the 65535-per-dimension limit. */
function rowDispatch(device: GPUDevice, label: string, code: string, rows: number, s: AttentionShape,
  constants: Constants, bindings: Binding[]): Dispatch {
  const variant = s.softmaxVariant ?? (s.variant ? (s.variant === 'direct' ? 'rows' : workgroupVariant(device)) : rowVariant(device));
  const perInvocation = variant === 'rows';
  const groups = perInvocation ? ceilDiv(rows, 64) : rows;
  const x = Math.max(1, Math.min(groups, 65535));
  return makeDispatch(device, {
    label, code: withReductions(variant, code), entryPoint: perInvocation ? 'rows' : 'main', constants, bindings, workgroups: [x, ceilDiv(groups, x)],
  });
}

/** [p, 1/(1−p)] with p = 1 dropping everything (as nn.Dropout does) instead of dividing by 0. */
function dropoutFactors(dropout: AttentionDropout | undefined): [number, number] {
  if (!dropout) return [0, 1];
  if (!(dropout.p >= 0 && dropout.p <= 1)) throw new Error(`attention dropout p = ${dropout.p} is outside [0, 1]`);
  return [dropout.p, dropout.p < 1 ? 1 / (1 - dropout.p) : 0];
}

function checkSizes(op: string, s: AttentionShape, tokenTensors: Record<string, Tensor>, scoreTensors: Record<string, Tensor>): void {
  const expected = (tensors: Record<string, Tensor>, size: number) => {
    for (const [name, t] of Object.entries(tensors)) {
      if (numel(t.shape) !== size) throw new Error(`${op}: ${name} has ${numel(t.shape)} elements, expected ${size}`);
    }
  };
  expected(tokenTensors, s.batch * s.seq * s.heads * s.headDim);
  expected(scoreTensors, s.batch * s.heads * s.seq * s.seq);
}
