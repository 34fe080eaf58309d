// The causal-LM head on the GPU: every position's final hidden state times the LM head's weight
// (dense, no bias) gives the logits [B·T, vocab]; the loss shifts the labels inside (position t
// predicts token t + 1, −100 ignored). The head's weight is trained only when asked; a tied head
// is the word embedding matrix (`word`), whose gradient this block writes for its own use and the
// embeddings block then adds the lookup's to.
import { prefix, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { causalLmLoss } from '../kernels/causal_lm_loss.ts';
import { matmul } from '../kernels/matmul.ts';
import type { LinearLayout } from './architectures.ts';
import type { BlockContext } from './gpu-context.ts';
import type { GpuHead } from './gpu-head.ts';
import type { ParamView } from './gpu-layer.ts';

export class LmHeadBlock implements GpuHead {
  /** [2]: the mean loss over predicted positions, and their count. */
  readonly loss: Tensor;
  /** [B·T, vocab]; a training plan overwrites it with dLogits. */
  readonly logits: Tensor;
  private readonly linear: LinearLayout;
  /** [vocab, H]: the word table when tied (generation reads it too). */
  readonly weight: Tensor;
  private readonly dWeight: Tensor | null;
  private readonly rowLoss: Tensor;

  constructor(private readonly ctx: BlockContext, param: ParamView, word: Tensor, trained: boolean) {
    const { layout, weights, device, maxTokens: N } = ctx;
    const { linear } = layout.head[0];
    this.linear = linear;
    if (layout.head.length !== 1 || linear.bias) throw new Error(`${layout.modelType}: the LM head must be one linear without bias`);
    if (layout.tiedHead) {
      this.weight = word;
      this.dWeight = trained ? param('grads', linear.weight) : null;
    } else if (trained) {
      this.weight = param('params', linear.weight);
      writeTensor(device, this.weight, weights.tensors.get(linear.weight)!.data);
      this.dWeight = param('grads', linear.weight);
    } else {
      this.weight = ctx.upload(linear.weight);
      this.dWeight = null;
    }
    this.logits = ctx.tensor([N, linear.dOut], 'LM logits');
    this.rowLoss = ctx.tensor([N], 'LM row loss');
    this.loss = ctx.tensor([2], 'LM loss');
  }

  forwardOps(B: number, T: number, _training: boolean, last: Tensor): PlanOp[] {
    const { dIn, dOut } = this.linear;
    const N = B * T;
    return [matmul(this.ctx.device, { m: N, n: dOut, k: dIn, a: prefix(last, [N, dIn]), b: this.weight, transB: true, out: prefix(this.logits, [N, dOut]) })];
  }

  /** With `gradient`, dLogits replace the logits (the training step); without, they are kept. */
  lossOps(B: number, T: number, gradient: boolean): PlanOp[] {
    const N = B * T;
    return causalLmLoss(this.ctx.device, {
      logits: prefix(this.logits, [N, this.linear.dOut]), labels: prefix(this.ctx.inputs.labels, [N]), rowLoss: prefix(this.rowLoss, [N]),
      loss: this.loss, batch: B, seq: T, vocab: this.linear.dOut, gradient,
    });
  }

  /** dW (when trained; written, before a tied table's lookup adds to it) and the last hidden
   * state's gradient into `into` [B·T, H]. */
  backwardOps(B: number, T: number, last: Tensor, into: Tensor | null): PlanOp[] {
    const { dIn, dOut } = this.linear;
    const N = B * T;
    const d = this.ctx.device;
    const dLogits = prefix(this.logits, [N, dOut]);
    const ops: PlanOp[] = [];
    if (this.dWeight) ops.push(matmul(d, { m: dOut, n: dIn, k: N, a: dLogits, b: prefix(last, [N, dIn]), transA: true, out: this.dWeight }));
    if (into) ops.push(matmul(d, { m: N, n: dIn, k: dOut, a: dLogits, b: this.weight, out: prefix(into, [N, dIn]) }));
    return ops;
  }
}
