// The embeddings block on the GPU: word (+ position table) (+ token type), then the embedding
// norm and dropout where the architecture has them. Embeddings are not trained, so the block has
// no backward: the gradient stops at the first layer's input.
import { prefix, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { dropoutForward } from '../kernels/dropout.ts';
import { embeddingForward } from '../kernels/embedding.ts';
import { unreachable } from '../util/unreachable.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import { gpuNorm, normForward, type GpuNorm, type NormActivations } from './gpu-norm.ts';

export class EmbeddingsBlock {
  /** The word table (also the LM head's weight when tied). */
  readonly word: Tensor;
  private readonly position: Tensor | null;
  private readonly tokenType: Tensor | null;
  private readonly norm: GpuNorm | null;
  private readonly acts: { sum: Tensor; norm: NormActivations; normed: Tensor };

  constructor(private readonly ctx: BlockContext) {
    const { embeddings, positions, hidden: H } = ctx.layout;
    const N = ctx.maxTokens;
    switch (positions) {
      case 'absolute':
      case 'padding-offset':
        break;
      case 'rotary':
        // Rotary positions act on q and k inside attention: nothing to add here.
        break;
      default:
        unreachable(positions, 'position scheme');
    }
    this.word = ctx.upload(embeddings.word.key);
    this.position = embeddings.position ? ctx.upload(embeddings.position.key) : null;
    this.tokenType = embeddings.tokenType ? ctx.upload(embeddings.tokenType.key) : null;
    this.norm = embeddings.norm ? gpuNorm(ctx, embeddings.norm) : null;
    this.acts = {
      sum: ctx.tensor([N, H], 'embedding sum'),
      norm: { mean: ctx.tensor([N], 'embedding mean'), rstd: ctx.tensor([N], 'embedding rstd') },
      normed: ctx.tensor([N, H], 'embedding norm'),
    };
  }

  /** Writes the first layer's input [B·T, H] into `out`. */
  forwardOps(B: number, T: number, training: boolean, out: Tensor): PlanOp[] {
    const { device: d, inputs, layout } = this.ctx;
    const H = layout.hidden;
    const N = B * T;
    const rows = (t: Tensor) => prefix(t, [N, H]);
    const vec = (t: Tensor) => prefix(t, [N]);
    const p = training ? this.ctx.dropout.hidden : 0;
    const ops: PlanOp[] = [];
    // Without a norm or dropout the sum is the output itself.
    const direct = !this.norm && p <= 0;
    const sum = direct ? rows(out) : rows(this.acts.sum);
    ops.push(embeddingForward(d, { table: this.word, ids: vec(inputs.ids), out: sum, rows: N, dim: H }));
    if (this.position) ops.push(embeddingForward(d, { table: this.position, ids: vec(inputs.positions), out: sum, rows: N, dim: H, accumulate: true }));
    if (this.tokenType) ops.push(embeddingForward(d, { table: this.tokenType, ids: vec(inputs.types), out: sum, rows: N, dim: H, accumulate: true }));
    if (direct) return ops;
    let current = sum;
    if (this.norm) {
      const normed = p > 0 ? rows(this.acts.normed) : rows(out);
      ops.push(normForward(d, this.norm, current, normed, this.acts.norm, N));
      current = normed;
    }
    if (p > 0) ops.push(dropoutForward(d, { x: current, out: rows(out), n: N * H, p, seedBuffer: this.ctx.seed, stream: STREAM.embeddings }));
    return ops;
  }
}
