// The causal-LM head on the GPU: every position's final hidden state times the LM head's weight
// (dense, no bias) gives the logits [B·T, vocab]; the loss shifts the labels inside (position t
// predicts token t + 1, −100 ignored). The head's weight is trained only when asked; a tied head
// is the word embedding matrix (`word`), whose gradient this block writes for its own use and the
// embeddings block then adds the lookup's to. Logits larger than one storage binding (a 150k
// vocabulary at a few thousand tokens) are held as blocks of rows, each its own buffer; a weight
// larger than one binding as chunks of vocabulary rows (split-table.ts), each product then taken
// on the logits' matching columns.
import { prefix, VIEW_ALIGNMENT_ELEMENTS, view, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { causalLmLoss, type LogitsBlock } from '../kernels/causal_lm_loss.ts';
import type { LinearLayout } from './architectures.ts';
import type { BlockContext } from './gpu-context.ts';
import type { GpuHead } from './gpu-head.ts';
import type { ParamView } from './gpu-layer.ts';
import { splitView, tableGradient, tableInputGradient, tableLogits, type SplitTable } from './split-table.ts';

export class LmHeadBlock implements GpuHead {
  /** [2]: the mean loss over predicted positions, and their count. */
  readonly loss: Tensor;
  /** Row blocks of the logits [B·T, vocab] (one unless they exceed a binding); a training plan
   * overwrites them with dLogits. Block rows are a multiple of 64, so the views of the hidden
   * state at their first rows are aligned bindings. */
  readonly logitsBlocks: LogitsBlock[];
  private readonly linear: LinearLayout;
  /** [vocab, H]: the word table when tied (generation reads it too). */
  readonly weight: SplitTable;
  private readonly dWeight: SplitTable | null;
  private readonly rowLoss: Tensor;

  /** `blockRows`: rows per logits block; default as many as one storage binding holds. */
  constructor(private readonly ctx: BlockContext, param: ParamView, word: SplitTable, trained: boolean, blockRows?: number) {
    const { layout, weights, device, maxTokens: N } = ctx;
    const { linear } = layout.head[0];
    this.linear = linear;
    if (layout.head.length !== 1 || linear.bias) throw new Error(`${layout.modelType}: the LM head must be one linear without bias`);
    const table = (t: Tensor) => splitView(t, linear.dOut, linear.dIn, ctx.tableChunkBytes);
    if (layout.tiedHead) {
      this.weight = word;
      this.dWeight = trained ? table(param('grads', linear.weight)) : null;
    } else if (trained) {
      const weight = param('params', linear.weight);
      writeTensor(device, weight, weights.tensors.get(linear.weight)!.data);
      this.weight = table(weight);
      this.dWeight = table(param('grads', linear.weight));
    } else {
      this.weight = ctx.uploadTable(linear.weight);
      this.dWeight = null;
    }
    const rowBytes = 4 * linear.dOut;
    const limit = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
    const rows = blockRows ?? Math.floor(limit / rowBytes / VIEW_ALIGNMENT_ELEMENTS) * VIEW_ALIGNMENT_ELEMENTS;
    if (rows < N && (rows < VIEW_ALIGNMENT_ELEMENTS || rows % VIEW_ALIGNMENT_ELEMENTS !== 0)) {
      throw new Error(`LM logits: blocks of ${rows} rows; they must be a positive multiple of ${VIEW_ALIGNMENT_ELEMENTS} (a binding of ${limit} bytes holds ${Math.floor(limit / rowBytes)} rows of ${linear.dOut})`);
    }
    this.logitsBlocks = [];
    for (let first = 0; first < N; first += rows) {
      const count = Math.min(rows, N - first);
      this.logitsBlocks.push({ logits: ctx.tensor([count, linear.dOut], N > rows ? `LM logits rows ${first}…` : 'LM logits'), firstRow: first });
    }
    this.rowLoss = ctx.tensor([N], 'LM row loss');
    this.loss = ctx.tensor([2], 'LM loss');
  }

  /** [B·T, vocab] when the logits are one block; split logits are read block by block. */
  get logits(): Tensor {
    if (this.logitsBlocks.length > 1) throw new Error(`the LM logits are split into ${this.logitsBlocks.length} blocks (larger than one storage binding): read logitsBlocks`);
    return this.logitsBlocks[0].logits;
  }

  /** The blocks a B×T batch uses, each cut to its rows, with its first row. */
  private blocks(N: number): { logits: Tensor; firstRow: number; rows: number }[] {
    const dOut = this.linear.dOut;
    return this.logitsBlocks
      .filter((b) => b.firstRow < N)
      .map((b) => {
        const rows = Math.min(b.logits.shape[0], N - b.firstRow);
        return { logits: prefix(b.logits, [rows, dOut]), firstRow: b.firstRow, rows };
      });
  }

  forwardOps(B: number, T: number, _training: boolean, last: Tensor): PlanOp[] {
    const { dIn } = this.linear;
    return this.blocks(B * T).flatMap((b) =>
      tableLogits(this.ctx.device, { x: view(last, b.firstRow * dIn, [b.rows, dIn]), table: this.weight, out: b.logits, m: b.rows }),
    );
  }

  /** With `gradient`, dLogits replace the logits (the training step); without, they are kept. */
  lossOps(B: number, T: number, gradient: boolean): PlanOp[] {
    const N = B * T;
    return causalLmLoss(this.ctx.device, {
      logits: this.blocks(N), labels: prefix(this.ctx.inputs.labels, [N]), rowLoss: prefix(this.rowLoss, [N]),
      loss: this.loss, batch: B, seq: T, vocab: this.linear.dOut, gradient,
    });
  }

  /** dW (when trained; written, before a tied table's lookup adds to it) and the last hidden
   * state's gradient into `into` [B·T, H]. */
  backwardOps(B: number, T: number, last: Tensor, into: Tensor | null): PlanOp[] {
    const { dIn } = this.linear;
    const N = B * T;
    const d = this.ctx.device;
    const ops: PlanOp[] = [];
    this.blocks(N).forEach(({ logits: dLogits, firstRow, rows }, i) => {
      // dW sums over the blocks: the first writes, the rest add.
      if (this.dWeight) ops.push(...tableGradient(d, { dLogits, x: view(last, firstRow * dIn, [rows, dIn]), dTable: this.dWeight, m: rows, accumulate: i > 0 }));
      if (into) ops.push(...tableInputGradient(d, { dLogits, table: this.weight, into: view(into, firstRow * dIn, [rows, dIn]), m: rows }));
    });
    return ops;
  }
}
