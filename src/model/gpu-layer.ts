// One transformer layer on the GPU: its factored linears, norms and the activations its backward
// needs, with the forward and backward as plan ops. The architecture's choices are read through
// exhaustive switches; a combination without kernels yet (RMSNorm, pre-norm, rotary, grouped
// KV heads, gated MLP) is refused when the block is built, never run as BERT.
import { prefix, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { activationBackward, activationForward } from '../kernels/activation.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ts';
import { factoredLinearBackward, factoredLinearForward } from '../kernels/factored_linear.ts';
import { unreachable } from '../util/unreachable.ts';
import type { LayerLayout, ModelLayout, ModuleLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import { gpuNorm, normBackward, normForward, type GpuNorm, type NormActivations } from './gpu-norm.ts';
import type { ModuleKind } from './types.ts';

/** A factored linear: U and V filled by the model's factoring, Σ and bias views into the flat
 * parameter buffer, dΣ and db views into the flat gradient buffer. */
export interface GpuModule {
  layout: ModuleLayout;
  u: Tensor;
  v: Tensor;
  sigma: Tensor;
  bias: Tensor | null;
  dSigma: Tensor;
  dBias: Tensor | null;
}

/** The flat buffers' view of one trainable tensor, by export name. */
export type ParamView = (buffer: 'params' | 'grads', name: string) => Tensor;

interface LayerActivations {
  t: Map<ModuleKind, Tensor>;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  context: Tensor;
  attentionOut: Tensor;
  sum1: Tensor;
  norm1: NormActivations;
  hidden1: Tensor;
  ffnPre: Tensor;
  ffnAct: Tensor;
  ffnOut: Tensor;
  sum2: Tensor;
  norm2: NormActivations;
}

/** Refuses, by name, every layout choice the GPU layer cannot run yet. */
function checkSupported(layout: ModelLayout): void {
  const where = layout.modelType;
  switch (layout.normPlacement) {
    case 'post':
      break;
    case 'pre':
      throw new Error(`${where}: pre-norm layers are not implemented on the GPU yet`);
    default:
      unreachable(layout.normPlacement, 'norm placement');
  }
  switch (layout.mlp) {
    case 'plain':
      break;
    case 'gated':
      throw new Error(`${where}: the gated MLP is not implemented on the GPU yet`);
    default:
      unreachable(layout.mlp, 'MLP shape');
  }
  switch (layout.positions) {
    case 'absolute':
    case 'padding-offset':
      break;
    case 'rotary':
      throw new Error(`${where}: rotary positions are not implemented on the GPU yet`);
    default:
      unreachable(layout.positions, 'position scheme');
  }
  if (layout.kvHeads !== layout.heads) throw new Error(`${where}: grouped-query attention (${layout.kvHeads} KV heads for ${layout.heads}) is not implemented on the GPU yet`);
  if (layout.heads * layout.headDim !== layout.hidden) throw new Error(`${where}: head_dim ${layout.headDim} × ${layout.heads} heads ≠ hidden ${layout.hidden} is not implemented on the GPU yet`);
  if (layout.causal) throw new Error(`${where}: causal attention is not implemented on the GPU yet`);
}

export class LayerBlock {
  readonly modules = new Map<ModuleKind, GpuModule>();
  private readonly attentionNorm: GpuNorm;
  private readonly ffnNorm: GpuNorm;
  private readonly acts: LayerActivations;

  constructor(private readonly ctx: BlockContext, readonly layout: LayerLayout, param: ParamView) {
    const model = ctx.layout;
    checkSupported(model);
    const { device, weights, maxTokens: N, maxBatch, maxSeq } = ctx;
    const { hidden: H, intermediate: I } = model;
    const l = layout.index;
    for (const m of layout.modules) {
      const bias = m.biasName ? param('params', m.biasName) : null;
      this.modules.set(m.kind, {
        layout: m,
        u: ctx.tensor([m.dOut, m.rank], `${m.path} U`),
        v: ctx.tensor([m.dIn, m.rank], `${m.path} V`),
        sigma: param('params', m.sigmaName),
        bias,
        dSigma: param('grads', m.sigmaName),
        dBias: m.biasName ? param('grads', m.biasName) : null,
      });
      if (bias) writeTensor(device, bias, weights.tensors.get(m.bias!)!.data);
    }
    this.attentionNorm = gpuNorm(ctx, layout.attentionNorm);
    this.ffnNorm = gpuNorm(ctx, layout.ffnNorm);
    const stats = (name: string): NormActivations => ({ mean: ctx.tensor([N], `layer ${l} mean ${name}`), rstd: ctx.tensor([N], `layer ${l} rstd ${name}`) });
    this.acts = {
      t: new Map(layout.modules.map((m) => [m.kind, ctx.tensor([N, m.rank], `layer ${l} t${m.kind}`)])),
      q: ctx.tensor([N, H], `layer ${l} q`),
      k: ctx.tensor([N, H], `layer ${l} k`),
      v: ctx.tensor([N, H], `layer ${l} v`),
      probs: ctx.tensor([maxBatch * model.heads * maxSeq * maxSeq], `layer ${l} probs`),
      context: ctx.tensor([N, H], `layer ${l} context`),
      attentionOut: ctx.tensor([N, H], `layer ${l} attention out`),
      sum1: ctx.tensor([N, H], `layer ${l} residual 1`),
      norm1: stats('1'),
      hidden1: ctx.tensor([N, H], `layer ${l} hidden 1`),
      ffnPre: ctx.tensor([N, I], `layer ${l} ffn pre`),
      ffnAct: ctx.tensor([N, I], `layer ${l} ffn act`),
      ffnOut: ctx.tensor([N, H], `layer ${l} ffn out`),
      sum2: ctx.tensor([N, H], `layer ${l} residual 2`),
      norm2: stats('2'),
    };
  }

  private module(kind: ModuleKind): GpuModule {
    const m = this.modules.get(kind);
    if (!m) throw new Error(`layer ${this.layout.index} has no ${kind} linear`);
    return m;
  }

  /** y = layer(x), both [B·T, H] (post-norm: LN(x + attn(x)), then LN(h + ffn(h))). */
  forwardOps(B: number, T: number, training: boolean, x: Tensor, y: Tensor): PlanOp[] {
    const { device: d, inputs, layout: model, dropout } = this.ctx;
    const { hidden: H, intermediate: I, heads, headDim } = model;
    const l = this.layout.index;
    const a = this.acts;
    const N = B * T;
    const rows = (t: Tensor, cols: number) => prefix(t, [N, cols]);
    const drop = (p: number) => (training ? p : 0);
    const linear = (kind: ModuleKind, input: Tensor, output: Tensor) => {
      const m = this.module(kind);
      const { dIn, dOut, rank } = m.layout;
      return factoredLinearForward(d, { x: input, u: m.u, sigma: m.sigma, v: m.v, bias: m.bias ?? undefined, t: rows(a.t.get(kind)!, rank), y: output, n: N, dIn, dOut, r: rank });
    };
    const ops: PlanOp[] = [];
    const xi = rows(x, H);
    const q = rows(a.q, H), k = rows(a.k, H), v = rows(a.v, H);
    ops.push(...linear('q', xi, q), ...linear('k', xi, k), ...linear('v', xi, v));
    const pAttn = drop(dropout.attention);
    const context = rows(a.context, H);
    ops.push(...attentionForward(d, {
      q, k, v, mask: prefix(inputs.mask, [N]), out: context, probs: prefix(a.probs, [B, heads, T, T]),
      batch: B, seq: T, heads, headDim, scale: 1 / Math.sqrt(headDim),
      dropout: pAttn > 0 ? { p: pAttn, stream: STREAM.attentionProbs(l), seed: this.ctx.seed } : undefined,
    }));
    const attentionOut = rows(a.attentionOut, H);
    ops.push(...linear('o', context, attentionOut));
    const pOut = model.attentionOutputDropout ? drop(dropout.hidden) : 0;
    ops.push(...this.ctx.dropoutThenAdd(attentionOut, xi, rows(a.sum1, H), N * H, pOut, STREAM.attentionOutput(l)));
    const hidden1 = rows(a.hidden1, H);
    ops.push(normForward(d, this.attentionNorm, rows(a.sum1, H), hidden1, a.norm1, N));
    const ffnPre = rows(a.ffnPre, I), ffnAct = rows(a.ffnAct, I), ffnOut = rows(a.ffnOut, H);
    ops.push(...linear('f1', hidden1, ffnPre));
    ops.push(activationForward(d, { x: ffnPre, y: ffnAct, n: N * I, kind: model.activation }));
    ops.push(...linear('f2', ffnAct, ffnOut));
    ops.push(...this.ctx.dropoutThenAdd(ffnOut, hidden1, rows(a.sum2, H), N * H, drop(dropout.hidden), STREAM.ffnOutput(l)));
    ops.push(normForward(d, this.ffnNorm, rows(a.sum2, H), rows(y, H), a.norm2, N));
    return ops;
  }

  /**
   * The backward of the training step (dropout masks regenerated from the seed): reads the
   * gradient of the layer's output from the shared dH scratch and leaves the gradient of its
   * input there, unless `needDx` is false (the first layer: embeddings are not trained).
   */
  backwardOps(B: number, T: number, needDx: boolean): PlanOp[] {
    const { device: d, layout: model, dropout, scratch: s, trains } = this.ctx;
    const { hidden: H, intermediate: I, heads, headDim } = model;
    const l = this.layout.index;
    const a = this.acts;
    const N = B * T;
    const rows = (t: Tensor, cols: number) => prefix(t, [N, cols]);
    const ops: PlanOp[] = [];
    const moduleBackward = (kind: ModuleKind, grad: Tensor, dx: Tensor | undefined, accumulateDx: boolean) => {
      const m = this.module(kind);
      const { dIn, dOut, rank } = m.layout;
      return factoredLinearBackward(d, {
        g: grad, t: rows(a.t.get(kind)!, rank), u: m.u, sigma: m.sigma, v: m.v, h: rows(s.h, rank),
        dSigma: trains('sigma', kind) ? m.dSigma : undefined,
        dBias: trains('bias', kind) && m.dBias ? m.dBias : undefined,
        dx, accumulateDx, n: N, dIn, dOut, r: rank,
      });
    };
    const dH = rows(s.dH, H);
    const dS = rows(s.dS, H);
    ops.push(...normBackward(d, this.ffnNorm, dH, rows(a.sum2, H), a.norm2, dS, N));
    const dFfnOut = this.ctx.dropoutGrad(dS, N * H, dropout.hidden, STREAM.ffnOutput(l), ops);
    const dAct = rows(s.dAct, I), dPre = rows(s.dPre, I);
    ops.push(...moduleBackward('f2', dFfnOut, dAct, false));
    ops.push(activationBackward(d, { dy: dAct, x: rows(a.ffnPre, I), dx: dPre, n: N * I, kind: model.activation }));
    // dS becomes d(hidden1): the residual's ds2 plus f1's dx.
    ops.push(...moduleBackward('f1', dPre, dS, true));
    ops.push(...normBackward(d, this.attentionNorm, dS, rows(a.sum1, H), a.norm1, dH, N));
    const pOut = model.attentionOutputDropout ? dropout.hidden : 0;
    const dAttentionOut = this.ctx.dropoutGrad(dH, N * H, pOut, STREAM.attentionOutput(l), ops);
    const dContext = rows(s.dContext, H);
    ops.push(...moduleBackward('o', dAttentionOut, dContext, false));
    const dq = rows(s.dq, H), dk = rows(s.dk, H), dv = rows(s.dv, H);
    ops.push(...attentionBackward(d, {
      dOut: dContext, q: rows(a.q, H), k: rows(a.k, H), v: rows(a.v, H), probs: prefix(a.probs, [B, heads, T, T]),
      dScores: prefix(s.dScores, [B, heads, T, T]), dq, dk, dv,
      batch: B, seq: T, heads, headDim, scale: 1 / Math.sqrt(headDim),
      dropout: dropout.attention > 0 ? { p: dropout.attention, stream: STREAM.attentionProbs(l), seed: this.ctx.seed } : undefined,
    }));
    // dH holds ds1 (the residual path); q, k, v add their dx unless the input needs none.
    const dx = needDx ? dH : undefined;
    ops.push(...moduleBackward('q', dq, dx, true), ...moduleBackward('k', dk, dx, true), ...moduleBackward('v', dv, dx, true));
    return ops;
  }
}
