// One transformer layer on the GPU: its factored linears, norms and the activations its backward
// needs, with the forward and backward as plan ops. The layout's choices are read through
// exhaustive switches: post-norm (BERT family) or pre-norm (Llama family), LayerNorm or RMSNorm,
// rotary q and k, KV heads broadcast to their query heads, causal attention, plain or gated MLP.
import { prefix, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { activationBackward, activationForward, gatedBackward, gatedForward } from '../kernels/activation.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ts';
import { factoredLinearBackward, factoredLinearForward } from '../kernels/factored_linear.ts';
import { recomposedLinearBackward, recomposedLinearForward, type LinearForm } from '../kernels/linear_forms.ts';
import { kvBroadcastBackward, kvBroadcastForward } from '../kernels/kv_broadcast.ts';
import { ropeInPlace } from '../kernels/rope.ts';
import { unreachable } from '../util/unreachable.ts';
import type { LayerLayout, ModuleLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import { gpuNorm, normBackward, normForward, type GpuNorm, type NormActivations } from './gpu-norm.ts';
import { RelativeTerms } from './gpu-relative.ts';
import { POSITION_KINDS, type ModuleKind } from './types.ts';

/** A factored linear: U and V filled by the model's factoring, Σ and bias views into the flat
 * parameter buffer, dΣ and db views into the flat gradient buffer. */
export interface GpuModule {
  layout: ModuleLayout;
  /** How its products run (linear_forms.ts): factored, or through a recomposed W'. */
  form: LinearForm;
  /** The recomposed form's W' = U·diag(Σ)·Vᵀ [dOut, dIn], rebuilt by every forward. */
  w: Tensor | null;
  u: Tensor;
  v: Tensor;
  sigma: Tensor;
  bias: Tensor | null;
  dSigma: Tensor;
  dBias: Tensor | null;
}

/** The recomposed form's dΣ scratch, shared by every module (the backward runs one at a time):
 * gᵀx [dOut, dIn] and (gᵀx)·V [dOut, r], each sized for the largest recomposed module. */
export interface DenseScratch {
  gradW: Tensor;
  projected: Tensor;
}

/** The flat buffers' view of one trainable tensor, by export name. */
export type ParamView = (buffer: 'params' | 'grads', name: string) => Tensor;

interface LayerActivations {
  t: Map<ModuleKind, Tensor>;
  /** post: unused. pre: the attention norm's output (q, k, v's input). */
  normed1: Tensor;
  norm1: NormActivations;
  /** q after the rotation; k and v as attention reads them (broadcast to every query head). */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** k and v as their linears wrote them, [N, kvHeads·headDim] (grouped-query attention only). */
  kHeads: Tensor;
  vHeads: Tensor;
  probs: Tensor;
  context: Tensor;
  attentionOut: Tensor;
  /** post: x + attention (the norm's input). pre: the residual stream after attention. */
  sum1: Tensor;
  /** post: the attention norm's output. pre: the MLP norm's output (the MLP's input). */
  hidden1: Tensor;
  norm2: NormActivations;
  /** plain: f1's output. gated: gate's output. */
  ffnPre: Tensor;
  /** gated: up's output. */
  ffnUp: Tensor;
  /** plain: act(f1). gated: act(gate) ⊙ up. */
  ffnAct: Tensor;
  ffnOut: Tensor;
  /** post: h + MLP (the second norm's input). */
  sum2: Tensor;
}

export class LayerBlock {
  readonly modules = new Map<ModuleKind, GpuModule>();
  readonly attentionNorm: GpuNorm;
  readonly ffnNorm: GpuNorm;
  private readonly acts: LayerActivations;
  /** Disentangled attention's c2p and p2c terms (null: plain attention). */
  private readonly relative: RelativeTerms | null;
  /** Modules whose Σ and bias are both frozen (AVF or the variant): the next backward built
   * skips their dΣ and db and computes only dx. Set by the model before it builds a plan. */
  frozen: ReadonlySet<ModuleKind> = new Set();

  constructor(
    private readonly ctx: BlockContext,
    readonly layout: LayerLayout,
    param: ParamView,
    formOf: (m: ModuleLayout) => LinearForm,
    private readonly dense: DenseScratch,
  ) {
    const model = ctx.layout;
    const { device, weights, maxTokens: N, maxBatch, maxSeq } = ctx;
    const { hidden: H, intermediate: I, heads, kvHeads, headDim } = model;
    const A = heads * headDim;
    const l = layout.index;
    // pk and pq act on the 2·span relative rows only, which the relative terms run factored.
    const formFor = (m: ModuleLayout): LinearForm => (POSITION_KINDS.includes(m.kind) ? 'factored' : formOf(m));
    const onTokens = (m: ModuleLayout) => !POSITION_KINDS.includes(m.kind);
    for (const m of layout.modules) {
      const bias = m.biasName ? param('params', m.biasName) : null;
      if (bias) writeTensor(device, bias, weights.tensors.get(m.bias!)!.data);
      const form = formFor(m);
      this.modules.set(m.kind, {
        layout: m,
        form,
        w: form === 'recomposed' ? ctx.tensor([m.dOut, m.dIn], `${m.path} W'`) : null,
        u: ctx.tensor([m.dOut, m.rank], `${m.path} U`),
        v: ctx.tensor([m.dIn, m.rank], `${m.path} V`),
        sigma: param('params', m.sigmaName),
        bias,
        dSigma: param('grads', m.sigmaName),
        dBias: m.biasName ? param('grads', m.biasName) : null,
      });
    }
    this.attentionNorm = gpuNorm(ctx, layout.attentionNorm);
    this.ffnNorm = gpuNorm(ctx, layout.ffnNorm);
    const t = (shape: number[], name: string) => ctx.tensor(shape, `layer ${l} ${name}`);
    const stats = (name: string): NormActivations => ({ mean: t([N], `mean ${name}`), rstd: t([N], `rstd ${name}`) });
    const grouped = kvHeads !== heads;
    const pre = model.normPlacement === 'pre';
    const gated = model.mlp === 'gated';
    const none = t([1], 'unused');
    this.acts = {
      // t = x·V, kept for the factored backward's dΣ (the recomposed one reads x instead).
      t: new Map(layout.modules.filter((m) => onTokens(m) && formFor(m) === 'factored').map((m) => [m.kind, t([N, m.rank], `t${m.kind}`)])),
      normed1: pre ? t([N, H], 'normed 1') : none,
      norm1: stats('1'),
      q: t([N, A], 'q'),
      k: t([N, A], 'k'),
      v: t([N, A], 'v'),
      kHeads: grouped ? t([N, kvHeads * headDim], 'k heads') : none,
      vHeads: grouped ? t([N, kvHeads * headDim], 'v heads') : none,
      probs: t([maxBatch * heads * maxSeq * maxSeq], 'probs'),
      context: t([N, A], 'context'),
      attentionOut: t([N, H], 'attention out'),
      sum1: t([N, H], 'residual 1'),
      hidden1: t([N, H], 'hidden 1'),
      norm2: stats('2'),
      ffnPre: t([N, I], 'ffn pre'),
      ffnUp: gated ? t([N, I], 'ffn up') : none,
      ffnAct: t([N, I], 'ffn act'),
      ffnOut: t([N, H], 'ffn out'),
      sum2: pre ? none : t([N, H], 'residual 2'),
    };
    const attention = model.attention;
    switch (attention.kind) {
      case 'plain':
        this.relative = null;
        break;
      case 'disentangled':
        this.relative = new RelativeTerms(ctx, ctx.relative!, l, (kind) => this.module(kind));
        break;
      default:
        this.relative = unreachable(attention, 'attention kind');
    }
  }

  private module(kind: ModuleKind): GpuModule {
    const m = this.modules.get(kind);
    if (!m) throw new Error(`layer ${this.layout.index} has no ${kind} linear`);
    return m;
  }

  private linear(B: number, T: number, kind: ModuleKind, input: Tensor, output: Tensor): PlanOp[] {
    const m = this.module(kind);
    const { dIn, dOut, rank } = m.layout;
    const n = B * T;
    const shape = { x: prefix(input, [n, dIn]), u: m.u, sigma: m.sigma, v: m.v, bias: m.bias ?? undefined, y: prefix(output, [n, dOut]), n, dIn, dOut, r: rank };
    if (m.w) return recomposedLinearForward(this.ctx.device, { ...shape, w: m.w });
    return factoredLinearForward(this.ctx.device, { ...shape, t: prefix(this.acts.t.get(kind)!, [n, rank]) });
  }

  /** The tensor the forward fed into module `kind` (the layer's input `x` for a post-norm q, k, v). */
  private linearInput(kind: ModuleKind, x: Tensor): Tensor {
    const a = this.acts;
    switch (kind) {
      case 'q':
      case 'k':
      case 'v':
        return this.ctx.layout.normPlacement === 'pre' ? a.normed1 : x;
      case 'o':
        return a.context;
      case 'f1':
      case 'gate':
      case 'up':
        return a.hidden1;
      case 'f2':
      case 'down':
        return a.ffnAct;
      case 'pk':
      case 'pq':
        throw new Error(`layer ${this.layout.index}: ${kind} reads the relative embeddings, not the tokens (gpu-relative.ts runs it)`);
      default:
        return unreachable(kind, 'module kind');
    }
  }

  /** g → dΣ, db (when the variant trains them and AVF has not frozen both) and dx (written, or
   * added with `accumulateDx`). `x` is the layer's input. */
  private linearBackward(B: number, T: number, kind: ModuleKind, x: Tensor, grad: Tensor, dx: Tensor | undefined, accumulateDx: boolean): PlanOp[] {
    const { device, trains, scratch } = this.ctx;
    const m = this.module(kind);
    const { dIn, dOut, rank } = m.layout;
    const n = B * T;
    const common = {
      g: prefix(grad, [n, dOut]), u: m.u, v: m.v,
      dSigma: trains('sigma', kind) ? m.dSigma : undefined,
      dBias: trains('bias', kind) && m.dBias ? m.dBias : undefined,
      dx: dx && prefix(dx, [n, dIn]), accumulateDx, n, dIn, dOut, r: rank,
      // A frozen module's dΣ and db keep last step's values: harmless only because AdamW skips
      // every frozen vector (adamw.wgsl) and nothing else reads the gradients of a training step.
      frozen: this.frozen.has(kind),
    };
    if (m.w) {
      const { gradW, projected } = this.dense;
      return recomposedLinearBackward(device, { ...common, x: prefix(this.linearInput(kind, x), [n, dIn]), w: m.w, gradW: prefix(gradW, [dOut, dIn]), projected: prefix(projected, [dOut, rank]) });
    }
    return factoredLinearBackward(device, { ...common, sigma: m.sigma, t: prefix(this.acts.t.get(kind)!, [n, rank]), h: prefix(scratch.h, [n, rank]) });
  }

  /** y = layer(x), both [B·T, H]. */
  forwardOps(B: number, T: number, training: boolean, x: Tensor, y: Tensor): PlanOp[] {
    const { device: d, layout: model, dropout } = this.ctx;
    const H = model.hidden;
    const a = this.acts;
    const N = B * T;
    const rows = (t: Tensor) => prefix(t, [N, H]);
    const drop = (p: number) => (training ? p : 0);
    const pOut = model.attentionOutputDropout ? drop(dropout.hidden) : 0;
    const l = this.layout.index;
    const ops: PlanOp[] = [];
    const placement = model.normPlacement;
    switch (placement) {
      case 'post':
        // h = N(x + attention(x)), y = N(h + mlp(h))
        ops.push(...this.attentionOps(B, T, training, x));
        ops.push(...this.ctx.dropoutThenAdd(rows(a.attentionOut), rows(x), rows(a.sum1), N * H, pOut, STREAM.attentionOutput(l)));
        ops.push(normForward(d, this.attentionNorm, rows(a.sum1), rows(a.hidden1), a.norm1, N));
        ops.push(...this.mlpOps(B, T, a.hidden1));
        ops.push(...this.ctx.dropoutThenAdd(rows(a.ffnOut), rows(a.hidden1), rows(a.sum2), N * H, drop(dropout.hidden), STREAM.ffnOutput(l)));
        ops.push(normForward(d, this.ffnNorm, rows(a.sum2), rows(y), a.norm2, N));
        return ops;
      case 'pre':
        // h = x + attention(N(x)), y = h + mlp(N(h))
        ops.push(normForward(d, this.attentionNorm, rows(x), rows(a.normed1), a.norm1, N));
        ops.push(...this.attentionOps(B, T, training, a.normed1));
        ops.push(...this.ctx.dropoutThenAdd(rows(a.attentionOut), rows(x), rows(a.sum1), N * H, pOut, STREAM.attentionOutput(l)));
        ops.push(normForward(d, this.ffnNorm, rows(a.sum1), rows(a.hidden1), a.norm2, N));
        ops.push(...this.mlpOps(B, T, a.hidden1));
        ops.push(...this.ctx.dropoutThenAdd(rows(a.ffnOut), rows(a.sum1), rows(y), N * H, drop(dropout.hidden), STREAM.ffnOutput(l)));
        return ops;
      default:
        return unreachable(placement, 'norm placement');
    }
  }

  /** q, k, v of `input`, rotary, the KV broadcast, attention, and o: a.attentionOut. */
  private attentionOps(B: number, T: number, training: boolean, input: Tensor): PlanOp[] {
    const { device: d, inputs, layout: model, dropout, rope, seed } = this.ctx;
    const { heads, kvHeads, headDim } = model;
    const a = this.acts;
    const N = B * T;
    const A = heads * headDim;
    const grouped = kvHeads !== heads;
    const ops: PlanOp[] = [];
    const kOut = grouped ? a.kHeads : a.k;
    const vOut = grouped ? a.vHeads : a.v;
    ops.push(...this.linear(B, T, 'q', input, a.q), ...this.linear(B, T, 'k', input, kOut), ...this.linear(B, T, 'v', input, vOut));
    if (rope) {
      const shape = { table: rope, tokens: N, seq: T, headDim };
      ops.push(ropeInPlace(d, { ...shape, heads, data: prefix(a.q, [N, A]) }));
      ops.push(ropeInPlace(d, { ...shape, heads: kvHeads, data: prefix(kOut, [N, kvHeads * headDim]) }));
    }
    if (grouped) {
      const shape = { tokens: N, heads, kvHeads, headDim };
      ops.push(kvBroadcastForward(d, { ...shape, kv: prefix(a.kHeads, [N, kvHeads * headDim]), out: prefix(a.k, [N, A]) }));
      ops.push(kvBroadcastForward(d, { ...shape, kv: prefix(a.vHeads, [N, kvHeads * headDim]), out: prefix(a.v, [N, A]) }));
    }
    const p = training ? dropout.attention : 0;
    const probs = prefix(a.probs, [B, heads, T, T]);
    if (this.relative) ops.push(...this.relative.projectOps(training));
    ops.push(...attentionForward(d, {
      q: prefix(a.q, [N, A]), k: prefix(a.k, [N, A]), v: prefix(a.v, [N, A]), mask: prefix(inputs.mask, [N]), out: prefix(a.context, [N, A]),
      probs, batch: B, seq: T, heads, headDim, scale: model.attention.scale, causal: model.causal,
      dropout: p > 0 ? { p, stream: STREAM.attentionProbs(this.layout.index), seed } : undefined,
      addToScores: this.relative?.scoreOps(B, T, prefix(a.q, [N, A]), prefix(a.k, [N, A]), probs),
    }));
    ops.push(...this.linear(B, T, 'o', a.context, a.attentionOut));
    return ops;
  }

  /** The MLP of `input`: a.ffnOut. */
  private mlpOps(B: number, T: number, input: Tensor): PlanOp[] {
    const { device: d, layout: model } = this.ctx;
    const a = this.acts;
    const n = B * T * model.intermediate;
    const kind = model.activation;
    switch (model.mlp) {
      case 'plain':
        return [
          ...this.linear(B, T, 'f1', input, a.ffnPre),
          activationForward(d, { x: prefix(a.ffnPre, [n]), y: prefix(a.ffnAct, [n]), n, kind }),
          ...this.linear(B, T, 'f2', a.ffnAct, a.ffnOut),
        ];
      case 'gated':
        return [
          ...this.linear(B, T, 'gate', input, a.ffnPre),
          ...this.linear(B, T, 'up', input, a.ffnUp),
          gatedForward(d, { gate: prefix(a.ffnPre, [n]), up: prefix(a.ffnUp, [n]), h: prefix(a.ffnAct, [n]), n, kind }),
          ...this.linear(B, T, 'down', a.ffnAct, a.ffnOut),
        ];
      default:
        return unreachable(model.mlp, 'MLP shape');
    }
  }

  /**
   * The backward of the training step (dropout masks regenerated from the seed): reads the
   * gradient of the layer's output from the shared dH scratch and leaves the gradient of its
   * input `x` there, unless `needDx` is false (the first layer: embeddings are not trained).
   */
  backwardOps(B: number, T: number, x: Tensor, needDx: boolean): PlanOp[] {
    const { device: d, layout: model, dropout, scratch: s } = this.ctx;
    const H = model.hidden;
    const a = this.acts;
    const N = B * T;
    const l = this.layout.index;
    const rows = (t: Tensor) => prefix(t, [N, H]);
    const pOut = model.attentionOutputDropout ? dropout.hidden : 0;
    const ops: PlanOp[] = [];
    const placement = model.normPlacement;
    switch (placement) {
      case 'post': {
        ops.push(...normBackward(d, this.ffnNorm, rows(s.dH), rows(a.sum2), a.norm2, rows(s.dS), N));
        const dFfnOut = this.ctx.dropoutGrad(rows(s.dS), N * H, dropout.hidden, STREAM.ffnOutput(l), ops);
        // dS becomes d(hidden1): the residual's ds2 plus the MLP input's gradient.
        ops.push(...this.mlpBackward(B, T, x, dFfnOut, s.dS, true));
        ops.push(...normBackward(d, this.attentionNorm, rows(s.dS), rows(a.sum1), a.norm1, rows(s.dH), N));
        // dH holds ds1 (the residual path); q, k, v add their dx unless the input needs none.
        const dAttentionOut = this.ctx.dropoutGrad(rows(s.dH), N * H, pOut, STREAM.attentionOutput(l), ops);
        ops.push(...this.attentionBackward(B, T, x, dAttentionOut, needDx ? s.dH : undefined, true));
        return ops;
      }
      case 'pre': {
        // dH = dy flows on along the residual; the MLP's branch adds through its norm.
        const dFfnOut = this.ctx.dropoutGrad(rows(s.dH), N * H, dropout.hidden, STREAM.ffnOutput(l), ops);
        ops.push(...this.mlpBackward(B, T, x, dFfnOut, s.dS, false));
        ops.push(...normBackward(d, this.ffnNorm, rows(s.dS), rows(a.sum1), a.norm2, rows(s.dH), N, true));
        const dAttentionOut = this.ctx.dropoutGrad(rows(s.dH), N * H, pOut, STREAM.attentionOutput(l), ops);
        if (!needDx) {
          ops.push(...this.attentionBackward(B, T, x, dAttentionOut, undefined, false));
          return ops;
        }
        ops.push(...this.attentionBackward(B, T, x, dAttentionOut, s.dS, false));
        ops.push(...normBackward(d, this.attentionNorm, rows(s.dS), rows(x), a.norm1, rows(s.dH), N, true));
        return ops;
      }
      default:
        return unreachable(placement, 'norm placement');
    }
  }

  /** Gradient of the MLP's output → its input's gradient into `dInput` (added with `accumulate`). */
  private mlpBackward(B: number, T: number, x: Tensor, dOut: Tensor, dInput: Tensor, accumulate: boolean): PlanOp[] {
    const { device: d, layout: model, scratch: s } = this.ctx;
    const a = this.acts;
    const n = B * T * model.intermediate;
    const kind = model.activation;
    const v = (t: Tensor) => prefix(t, [n]);
    switch (model.mlp) {
      case 'plain':
        return [
          ...this.linearBackward(B, T, 'f2', x, dOut, s.dAct, false),
          activationBackward(d, { dy: v(s.dAct), x: v(a.ffnPre), dx: v(s.dPre), n, kind }),
          ...this.linearBackward(B, T, 'f1', x, s.dPre, dInput, accumulate),
        ];
      case 'gated':
        return [
          ...this.linearBackward(B, T, 'down', x, dOut, s.dAct, false),
          gatedBackward(d, { dh: v(s.dAct), gate: v(a.ffnPre), up: v(a.ffnUp), dGate: v(s.dPre), dUp: v(s.dUp), n, kind }),
          ...this.linearBackward(B, T, 'gate', x, s.dPre, dInput, accumulate),
          ...this.linearBackward(B, T, 'up', x, s.dUp, dInput, true),
        ];
      default:
        return unreachable(model.mlp, 'MLP shape');
    }
  }

  /** Gradient of o's output → dΣ, db of o, q, k, v, and the input's gradient into `dInput`
   * (added with `accumulate`; none when undefined). */
  private attentionBackward(B: number, T: number, x: Tensor, dOut: Tensor, dInput: Tensor | undefined, accumulate: boolean): PlanOp[] {
    const { device: d, layout: model, dropout, scratch: s, rope, seed } = this.ctx;
    const { heads, kvHeads, headDim } = model;
    const a = this.acts;
    const N = B * T;
    const A = heads * headDim;
    const KV = kvHeads * headDim;
    const grouped = kvHeads !== heads;
    const w = (t: Tensor, cols: number) => prefix(t, [N, cols]);
    const ops: PlanOp[] = [];
    ops.push(...this.linearBackward(B, T, 'o', x, dOut, s.dContext, false));
    ops.push(...attentionBackward(d, {
      dOut: w(s.dContext, A), q: w(a.q, A), k: w(a.k, A), v: w(a.v, A), probs: prefix(a.probs, [B, heads, T, T]),
      dScores: prefix(s.dScores, [B, heads, T, T]), dq: w(s.dq, A), dk: w(s.dk, A), dv: w(s.dv, A),
      batch: B, seq: T, heads, headDim, scale: model.attention.scale,
      dropout: dropout.attention > 0 ? { p: dropout.attention, stream: STREAM.attentionProbs(this.layout.index), seed } : undefined,
    }));
    if (this.relative) ops.push(...this.relative.backwardOps(B, T, w(a.q, A), w(a.k, A), prefix(s.dScores, [B, heads, T, T]), w(s.dq, A), w(s.dk, A)));
    let dk = s.dk;
    let dv = s.dv;
    if (grouped) {
      const shape = { tokens: N, heads, kvHeads, headDim };
      ops.push(kvBroadcastBackward(d, { ...shape, dOut: w(s.dk, A), dKv: w(s.dkHeads, KV) }));
      ops.push(kvBroadcastBackward(d, { ...shape, dOut: w(s.dv, A), dKv: w(s.dvHeads, KV) }));
      dk = s.dkHeads;
      dv = s.dvHeads;
    }
    if (rope) {
      const shape = { table: rope, tokens: N, seq: T, headDim, backward: true };
      ops.push(ropeInPlace(d, { ...shape, heads, data: w(s.dq, A) }));
      ops.push(ropeInPlace(d, { ...shape, heads: kvHeads, data: w(dk, KV) }));
    }
    ops.push(...this.linearBackward(B, T, 'q', x, s.dq, dInput, accumulate));
    ops.push(...this.linearBackward(B, T, 'k', x, dk, dInput, dInput !== undefined));
    ops.push(...this.linearBackward(B, T, 'v', x, dv, dInput, dInput !== undefined));
    // After q and k wrote their token-path dΣ and db: the position path adds to them.
    if (this.relative) ops.push(...this.relative.parameterOps(this.frozen));
    return ops;
  }
}
