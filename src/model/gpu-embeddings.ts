// The embeddings blocks on the GPU. Text: word (+ position table) (+ token type), then the
// embedding norm and dropout where the architecture has them. Images (ViT): the pixel values cut
// into patches, the Conv2d as one matmul over them, the CLS token first and the position
// embeddings added, then dropout. Embeddings are not trained, except the word table of a tied LM
// head that is: then its backward adds the lookup's gradient to the table's (the head's use wrote
// the other part).
import { prefix, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { dropoutForward } from '../kernels/dropout.ts';
import { embeddingBackwardGrouped, embeddingForward } from '../kernels/embedding.ts';
import { unreachable } from '../util/unreachable.ts';
import { matmul } from '../kernels/matmul.ts';
import { patchTokens, unfoldPatches } from '../kernels/patch_embedding.ts';
import { tokenEmbeddings, type PatchEmbeddingsLayout, type TokenEmbeddingsLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import { gpuNorm, normForward, type GpuNorm, type NormActivations } from './gpu-norm.ts';

/** What the model needs of an embeddings block: the first layer's input. */
export interface GpuEmbeddings {
  /** Writes the first layer's input [B·T, H] into `out`. */
  forwardOps(B: number, T: number, training: boolean, out: Tensor): PlanOp[];
}

export class EmbeddingsBlock implements GpuEmbeddings {
  /** The word table (also the LM head's weight when tied). */
  readonly word: Tensor;
  private readonly position: Tensor | null;
  private readonly tokenType: Tensor | null;
  private readonly norm: GpuNorm | null;
  private readonly acts: { sum: Tensor; norm: NormActivations; normed: Tensor };

  /** `word`: the table to read when it is a trained tensor (a tied head's view into the flat
   * parameters); otherwise the checkpoint's table is uploaded. */
  constructor(private readonly ctx: BlockContext, embeddings: TokenEmbeddingsLayout, word?: Tensor) {
    const { positions, hidden: H } = ctx.layout;
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
    this.word = word ?? ctx.upload(embeddings.word.key);
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

/** The word table's gradient from the first layer's input gradient (the shared dH scratch),
 * added into `dTable`: tokens repeat, so rows are summed per id (groups set by setBatch). */
export function wordTableBackwardOps(ctx: BlockContext, B: number, T: number, dTable: Tensor): PlanOp[] {
  const { layout, scratch, inputs, device } = ctx;
  const embeddings = tokenEmbeddings(layout, 'training the word table');
  if (embeddings.norm || embeddings.position || embeddings.tokenType) {
    throw new Error(`${layout.modelType}: training the word table is implemented for decoders (a lookup alone), not behind an embedding norm or position table`);
  }
  const H = layout.hidden;
  const N = B * T;
  const ops: PlanOp[] = [];
  const dOut = ctx.dropoutGrad(prefix(scratch.dH, [N, H]), N * H, ctx.dropout.hidden, STREAM.embeddings, ops);
  ops.push(embeddingBackwardGrouped(device, {
    dOut: prefix(dOut, [N, H]), order: prefix(inputs.tokenOrder, [N]), offsets: prefix(inputs.tokenOffsets, [N + 1]), ids: prefix(inputs.tokenGroups, [N]),
    dTable, rows: N, dim: H,
  }));
  return ops;
}

/**
 * ViT's patch embeddings: the batch's pixel values (inputs.pixels) unfolded into patch rows, the
 * Conv2d as a matmul with its weight read as [hidden, C·p·p], the CLS token put first and the
 * position embeddings added, then the hidden dropout. Not trained: no backward (the first layer
 * computes no input gradient).
 */
export class PatchEmbeddingsBlock implements GpuEmbeddings {
  private readonly weight: Tensor;
  private readonly bias: Tensor;
  private readonly cls: Tensor;
  private readonly position: Tensor;
  private readonly acts: { rows: Tensor; projected: Tensor; tokens: Tensor };

  constructor(private readonly ctx: BlockContext, private readonly layout: PatchEmbeddingsLayout) {
    const { projection } = layout;
    this.weight = ctx.upload(projection.weight);
    this.bias = ctx.upload(projection.bias!);
    this.cls = ctx.upload(layout.cls);
    this.position = ctx.upload(layout.position.key);
    const patches = ctx.maxBatch * layout.grid.rows * layout.grid.cols;
    this.acts = {
      rows: ctx.tensor([patches, projection.dIn], 'unfolded patches'),
      projected: ctx.tensor([patches, projection.dOut], 'projected patches'),
      tokens: ctx.tensor([ctx.maxTokens, projection.dOut], 'patch tokens'),
    };
  }

  forwardOps(B: number, T: number, training: boolean, out: Tensor): PlanOp[] {
    const { device: d, inputs } = this.ctx;
    const { channels, image, patch, grid, projection, position } = this.layout;
    if (T !== position.rows) throw new Error(`an image is ${position.rows} tokens (CLS + ${position.rows - 1} patches), not ${T}`);
    const patches = grid.rows * grid.cols;
    const H = projection.dOut;
    const rows = prefix(this.acts.rows, [B * patches, projection.dIn]);
    const projected = prefix(this.acts.projected, [B * patches, H]);
    const p = training ? this.ctx.dropout.hidden : 0;
    const tokens = p > 0 ? prefix(this.acts.tokens, [B * T, H]) : prefix(out, [B * T, H]);
    const ops: PlanOp[] = [
      unfoldPatches(d, { pixels: prefix(inputs.pixels, [B * channels * image.height * image.width]), out: rows, batch: B, channels, height: image.height, width: image.width, patch }),
      matmul(d, { m: B * patches, n: H, k: projection.dIn, a: rows, b: this.weight, transB: true, bias: this.bias, out: projected }),
      patchTokens(d, { projected, cls: this.cls, position: this.position, out: tokens, batch: B, patches, dim: H }),
    ];
    if (p > 0) ops.push(dropoutForward(d, { x: tokens, out: prefix(out, [B * T, H]), n: B * T * H, p, seedBuffer: this.ctx.seed, stream: STREAM.embeddings }));
    return ops;
  }
}
