// DeBERTa's disentangled attention on the GPU, beside a layer's content attention: the relative
// embeddings (normalised once: they are not trained) projected by c2p's key linear and p2c's
// query linear — the layer's own k and q (share_att_key), Σ and bias included, or its pk and pq —
// the c2p/p2c terms added to the scores before the softmax, and their backward into dq, dk and
// the projections' dΣ and db. In training the relative embeddings take the hidden dropout in
// each layer (transformers' pos_dropout), with a mask per layer.
import { prefix, type Tensor } from '../gpu/tensor.ts';
import { submitPlan, type PlanOp } from '../gpu/plan.ts';
import type { Dispatch } from '../gpu/dispatch.ts';
import { dropoutForward } from '../kernels/dropout.ts';
import { factoredLinearBackward, factoredLinearForward } from '../kernels/factored_linear.ts';
import { relativeChunkRows, relativeScoresBackward, relativeScoresForward, relativeScratchSize, type RelativeAttentionShape } from '../kernels/relative_attention.ts';
import type { AttentionLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import type { GpuModule } from './gpu-layer.ts';
import { gpuNorm, normForward } from './gpu-norm.ts';
import type { ModuleKind } from './types.ts';

type Disentangled = Extract<AttentionLayout, { kind: 'disentangled' }>;

/** What every layer reads: the normalised relative embeddings [rows, H], and scratch that the
 * layers use in turn (the dropped-out copy; the terms' rel in the forward and dRel in the
 * backward, for as many batch rows as one binding holds: the terms run the batch in such chunks;
 * the backward's dPosKey, dPosQuery and g·U). */
export interface RelativeEmbeddings {
  attention: Disentangled;
  rows: number;
  embeddings: Tensor;
  dropped: Tensor;
  rel: Tensor;
  dPosKey: Tensor;
  dPosQuery: Tensor;
  h: Tensor;
}

/** Uploads the relative embeddings and normalises them once, on the GPU. */
export function createRelativeEmbeddings(ctx: BlockContext, attention: Disentangled): RelativeEmbeddings {
  const { device, layout } = ctx;
  const rows = attention.embeddings.rows;
  const H = layout.hidden;
  const A = layout.heads * layout.headDim;
  const table = ctx.upload(attention.embeddings.key);
  let embeddings = table;
  if (attention.norm) {
    embeddings = ctx.tensor([rows, H], 'relative embeddings (normalised)');
    const stats = { mean: ctx.tensor([rows], 'relative mean'), rstd: ctx.tensor([rows], 'relative rstd') };
    submitPlan(device, [normForward(device, gpuNorm(ctx, attention.norm), table, embeddings, stats, rows)]);
  }
  const maxRank = Math.max(...layout.layers.flatMap((l) => l.modules.map((m) => m.rank)));
  const scratch = { batch: ctx.maxBatch, seq: ctx.maxSeq, heads: layout.heads, positions: attention.positions };
  return {
    attention,
    rows,
    embeddings,
    dropped: ctx.tensor([rows, H], 'relative embeddings (dropout)'),
    rel: ctx.tensor([relativeScratchSize(scratch, relativeChunkRows(scratch, ctx.relativeScratchBytes))], 'relative rel / dRel'),
    dPosKey: ctx.tensor([attention.keyModule ? rows * A : 1], 'dPosKey'),
    dPosQuery: ctx.tensor([attention.queryModule ? rows * A : 1], 'dPosQuery'),
    h: ctx.tensor([rows, maxRank], 'relative g·U scratch'),
  };
}

/** One projection of the relative embeddings: its linear, output [rows, A] and t = R·V cache. */
interface Projection {
  kind: ModuleKind;
  module: GpuModule;
  out: Tensor;
  t: Tensor;
}

/** One layer's relative terms. */
export class RelativeTerms {
  private readonly key: Projection | null;
  private readonly query: Projection | null;

  constructor(private readonly ctx: BlockContext, private readonly shared: RelativeEmbeddings, private readonly layer: number, module: (kind: ModuleKind) => GpuModule) {
    const { rows, attention } = shared;
    const A = ctx.layout.heads * ctx.layout.headDim;
    const projection = (kind: ModuleKind | null, name: string): Projection | null => {
      if (!kind) return null;
      const m = module(kind);
      return { kind, module: m, out: ctx.tensor([rows, A], `layer ${layer} ${name}`), t: ctx.tensor([rows, m.layout.rank], `layer ${layer} ${name} t`) };
    };
    this.key = projection(attention.keyModule, 'position keys');
    this.query = projection(attention.queryModule, 'position queries');
  }

  private shape(B: number, T: number): RelativeAttentionShape {
    const { heads, headDim } = this.ctx.layout;
    const { scale, c2p, p2c, positions } = this.shared.attention;
    return { batch: B, seq: T, heads, headDim, scale, c2p, p2c, positions };
  }

  /** The relative embeddings (dropped out in training) through c2p's key and p2c's query linears,
   * in the factored form whatever form the linear takes on the tokens: both give the same numbers,
   * and the factored one needs no per-module scratch. */
  projectOps(training: boolean): PlanOp[] {
    const { device: d, layout, dropout, seed } = this.ctx;
    const { rows, embeddings, dropped } = this.shared;
    const n = rows * layout.hidden;
    const p = training ? dropout.hidden : 0;
    const ops: PlanOp[] = [];
    let input = embeddings;
    if (p > 0) {
      ops.push(dropoutForward(d, { x: prefix(embeddings, [n]), out: prefix(dropped, [n]), n, p, seedBuffer: seed, stream: STREAM.relativeEmbeddings(this.layer) }));
      input = dropped;
    }
    for (const proj of [this.key, this.query]) {
      if (!proj) continue;
      const { u, v, sigma, bias, layout: m } = proj.module;
      ops.push(...factoredLinearForward(d, { x: input, u, sigma, v, bias: bias ?? undefined, t: proj.t, y: proj.out, n: rows, dIn: m.dIn, dOut: m.dOut, r: m.rank }));
    }
    return ops;
  }

  /** scores += the c2p and p2c terms ([B, heads, T, T], attention's addToScores). */
  scoreOps(B: number, T: number, q: Tensor, k: Tensor, scores: Tensor): Dispatch[] {
    return relativeScoresForward(this.ctx.device, { ...this.shape(B, T), q, k, posKey: this.key?.out, posQuery: this.query?.out, scores, rel: this.shared.rel });
  }

  /** dq, dk += the terms' share (dScores: what attention's backward left), and the gradients of
   * the projected embeddings into the shared scratch. */
  backwardOps(B: number, T: number, q: Tensor, k: Tensor, dScores: Tensor, dq: Tensor, dk: Tensor): PlanOp[] {
    const { dPosKey, dPosQuery, rel } = this.shared;
    return relativeScoresBackward(this.ctx.device, {
      ...this.shape(B, T), dScores, q, k, posKey: this.key?.out, posQuery: this.query?.out, dq, dk,
      dPosKey: this.key ? dPosKey : undefined, dPosQuery: this.query ? dPosQuery : undefined, dRel: rel,
    });
  }

  /** dΣ and db of the projections' linears: added to the token path's where the linear is the
   * layer's q or k (run after theirs), written for pk and pq. Frozen or untrained vectors get none. */
  parameterOps(frozen: ReadonlySet<ModuleKind>): PlanOp[] {
    const { device: d, trains } = this.ctx;
    const { rows, h } = this.shared;
    const ops: PlanOp[] = [];
    for (const [proj, g] of [[this.key, this.shared.dPosKey], [this.query, this.shared.dPosQuery]] as const) {
      if (!proj) continue;
      const { module: m, kind } = proj;
      const { dIn, dOut, rank } = m.layout;
      ops.push(...factoredLinearBackward(d, {
        g: prefix(g, [rows, dOut]), t: proj.t, u: m.u, sigma: m.sigma, v: m.v, h: prefix(h, [rows, rank]),
        dSigma: trains('sigma', kind) ? m.dSigma : undefined,
        dBias: trains('bias', kind) && m.dBias ? m.dBias : undefined,
        n: rows, dIn, dOut, r: rank,
        accumulateGrads: kind === 'q' || kind === 'k',
        frozen: frozen.has(kind),
      }));
    }
    return ops;
  }
}
