// What the GPU model's blocks share: the device, the layout, the batch inputs, the dropout seed
// and the scratch buffers of the backward, which every block reuses in turn (the backward runs
// one block at a time, so one set sized for the widest block serves them all).
import { prefix, createTensor, uploadTensor, type DType, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { add } from '../kernels/elementwise.ts';
import { createRopeTable } from '../kernels/rope.ts';
import { unreachable } from '../util/unreachable.ts';
import type { ModelLayout, PatchEmbeddingsLayout } from './architectures.ts';
import { createRelativeEmbeddings, type RelativeEmbeddings } from './gpu-relative.ts';
import { labelShape } from './task.ts';
import { uploadSplitTable, type SplitTable } from './split-table.ts';
import type { ModuleKind } from './types.ts';
import type { ModelWeights } from './weights.ts';

export interface DropoutRates {
  hidden: number;
  attention: number;
  classifier: number;
}

/** Stream ids of the dropout sites, so every site of a step draws an independent mask. */
export const STREAM = {
  embeddings: 1,
  attentionProbs: (layer: number) => 16 + 4 * layer,
  attentionOutput: (layer: number) => 17 + 4 * layer,
  ffnOutput: (layer: number) => 18 + 4 * layer,
  relativeEmbeddings: (layer: number) => 19 + 4 * layer,
  head: (step: number) => 8 + step,
};

export interface GpuInputs {
  ids: Tensor;
  /** An image model's pixel values [batch, C, H, W] (one element for a text model). */
  pixels: Tensor;
  types: Tensor;
  positions: Tensor;
  mask: Tensor;
  /** Token rows that feed a classifier (first or last non-pad token of each row); an LM head
   * reads every row and needs none. */
  headRows: Tensor;
  labels: Tensor;
  /** The batch's rows grouped by token id (groupRows), for a trained word table's gradient. */
  tokenOrder: Tensor;
  tokenOffsets: Tensor;
  tokenGroups: Tensor;
}

export type ScratchName = 'drop' | 'h' | 'dScores' | 'dH' | 'dS' | 'dAct' | 'dPre' | 'dUp' | 'dContext' | 'dq' | 'dk' | 'dv' | 'dkHeads' | 'dvHeads';

function pixelsPerImage(e: PatchEmbeddingsLayout): number {
  return e.channels * e.image.height * e.image.width;
}

export class BlockContext {
  readonly inputs: GpuInputs;
  /** u32 [1]: the dropout seed of the current step (written by the trainer). */
  readonly seed: Tensor;
  readonly scratch: Record<ScratchName, Tensor>;
  /** Largest token count a plan may use (maxBatch · maxSeq). */
  readonly maxTokens: number;
  /** The rotary (cos, sin) table for maxSeq positions (rotary positions only). */
  readonly rope: Tensor | null;
  /** Disentangled attention's relative embeddings and their scratch (null: plain attention). */
  readonly relative: RelativeEmbeddings | null;

  constructor(
    readonly device: GPUDevice,
    readonly layout: ModelLayout,
    readonly weights: ModelWeights,
    readonly dropout: DropoutRates,
    readonly maxBatch: number,
    readonly maxSeq: number,
    /** Vectors that get gradients at all (the variant's trainable set). */
    readonly trains: (kind: 'sigma' | 'bias', module: ModuleKind) => boolean,
    /** Most bytes of one chunk of a table split by rows (split-table.ts): the adapter's binding
     * limit, or less to force a split. */
    readonly tableChunkBytes: number,
    /** Most bytes of DeBERTa's rel / dRel scratch (gpu-relative.ts): the binding limit, or less
     * to force smaller batch chunks. */
    readonly relativeScratchBytes: number,
  ) {
    const N = (this.maxTokens = maxBatch * maxSeq);
    const { hidden: H, intermediate: I, heads, kvHeads, headDim } = layout;
    const A = heads * headDim;
    const KV = kvHeads * headDim;
    const maxRank = Math.max(...layout.layers.flatMap((l) => l.modules.map((m) => m.rank)));
    const probs = maxBatch * heads * maxSeq * maxSeq;
    const labels = labelShape(layout.task, maxBatch, maxSeq);
    this.inputs = {
      ids: this.tensor([N], 'input ids', 'u32'),
      pixels: this.tensor([layout.embeddings.kind === 'patches' ? maxBatch * pixelsPerImage(layout.embeddings) : 1], 'pixel values'),
      types: this.tensor([N], 'token types', 'u32'),
      positions: this.tensor([N], 'position ids', 'u32'),
      mask: this.tensor([N], 'attention mask', 'u32'),
      headRows: this.tensor([maxBatch], 'head rows', 'u32'),
      labels: this.tensor([labels.count], 'labels', labels.dtype),
      tokenOrder: this.tensor([N], 'token order', 'u32'),
      tokenOffsets: this.tensor([N + 1], 'token group offsets', 'u32'),
      tokenGroups: this.tensor([N], 'token group ids', 'u32'),
    };
    const { rotary } = layout;
    const scaling = rotary?.scaling;
    this.rope = rotary && createRopeTable(device, {
      headDim,
      theta: rotary.theta,
      scaling: scaling ? { type: 'llama3', factor: scaling.factor, lowFreqFactor: scaling.lowFreqFactor, highFreqFactor: scaling.highFreqFactor, originalMaxPositionEmbeddings: scaling.originalMaxPositions } : undefined,
    }, maxSeq);
    this.seed = this.tensor([1], 'dropout seed', 'u32');
    const attention = layout.attention;
    switch (attention.kind) {
      case 'plain':
        this.relative = null;
        break;
      case 'disentangled':
        this.relative = createRelativeEmbeddings(this, attention);
        break;
      default:
        this.relative = unreachable(attention, 'attention kind');
    }
    this.scratch = {
      drop: this.tensor([N, Math.max(H, I)], 'dropout scratch'),
      h: this.tensor([N, maxRank], 'g·U scratch'),
      dScores: this.tensor([probs], 'dScores'),
      dH: this.tensor([N, H], 'dHidden'),
      dS: this.tensor([N, H], 'dSum'),
      dAct: this.tensor([N, I], 'dFfnAct'),
      dPre: this.tensor([N, I], 'dFfnPre'),
      dUp: this.tensor([layout.mlp === 'gated' ? N * I : 1], 'dFfnUp'),
      dContext: this.tensor([N, A], 'dContext'),
      dq: this.tensor([N, A], 'dq'),
      dk: this.tensor([N, A], 'dk'),
      dv: this.tensor([N, A], 'dv'),
      dkHeads: this.tensor([kvHeads !== heads ? N * KV : 1], 'dk heads'),
      dvHeads: this.tensor([kvHeads !== heads ? N * KV : 1], 'dv heads'),
    };
  }

  tensor(shape: number[], label: string, dtype: DType = 'f32'): Tensor {
    return createTensor(this.device, shape, dtype, label);
  }

  /** A checkpoint table [rows, dim] uploaded as row chunks of at most tableChunkBytes each. */
  uploadTable(name: string): SplitTable {
    const w = this.weights.tensors.get(name);
    if (!w || w.shape.length !== 2) throw new Error(`weights lack the table ${name}`);
    return uploadSplitTable(this.device, w.data, w.shape[0], w.shape[1], this.tableChunkBytes, name);
  }

  /** A checkpoint tensor uploaded as it is. */
  upload(name: string): Tensor {
    const w = this.weights.tensors.get(name);
    if (!w) throw new Error(`weights lack ${name}`);
    return uploadTensor(this.device, w.data, w.shape, 'f32', name);
  }

  /** out = dropout(a) + b (plain a + b when p = 0). */
  dropoutThenAdd(a: Tensor, b: Tensor, out: Tensor, n: number, p: number, stream: number): PlanOp[] {
    if (p <= 0) return [add(this.device, { a, b, out, n })];
    const dropped = prefix(this.scratch.drop, [n]);
    return [dropoutForward(this.device, { x: a, out: dropped, n, p, seedBuffer: this.seed, stream }), add(this.device, { a: dropped, b, out, n })];
  }

  /** The gradient through a dropout site: `g` itself when p = 0, else the masked copy. */
  dropoutGrad(g: Tensor, n: number, p: number, stream: number, ops: PlanOp[]): Tensor {
    if (p <= 0) return g;
    const out = prefix(this.scratch.drop, [n]);
    ops.push(dropoutBackward(this.device, { dy: g, dx: out, n, p, seedBuffer: this.seed, stream }));
    return out;
  }
}
