// The token-level task heads on the GPU: a span head (QA's qa_outputs: start and end logits) or a
// token classifier (NER): one linear on every position's final hidden state [B·T, H], after the
// head dropout where the architecture has one, with no pooling. Its weight and bias are trained
// (views into the flat buffers); the loss is the span loss (span_loss.wgsl) or the per-token
// cross-entropy with −100 ignored (causal_lm_loss.wgsl, unshifted). The backward writes the whole
// last hidden state's gradient.
import { prefix, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { causalLmLoss } from '../kernels/causal_lm_loss.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { columnSum } from '../kernels/factored_linear.ts';
import { matmul } from '../kernels/matmul.ts';
import { spanLoss } from '../kernels/span_loss.ts';
import { unreachable } from '../util/unreachable.ts';
import type { HeadStepLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import type { GpuHead } from './gpu-head.ts';
import type { ParamView } from './gpu-layer.ts';

export class TokenHeadBlock implements GpuHead {
  /** span: [1], the mean of the start and end losses. token-classes: [2], the mean over the
   * labelled tokens and their number (to pool a validation loss over batches). */
  readonly loss: Tensor;
  /** [B·T, outputs]: start/end logits or class logits; a token classifier's training plan
   * overwrites them with dLogits (the loss kernel works in place). */
  readonly logits: Tensor;
  private readonly step: HeadStepLayout;
  private readonly weight: Tensor;
  private readonly bias: Tensor;
  private readonly dWeight: Tensor;
  private readonly dBias: Tensor;
  /** The span loss's dLogits [B·T, 2] (the token classifier's are its logits). */
  private readonly dLogits: Tensor;
  private readonly rowLoss: Tensor;
  private readonly kind: 'span' | 'token-classes';

  constructor(private readonly ctx: BlockContext, param: ParamView) {
    const { layout, weights, device, maxTokens: N } = ctx;
    const { loss } = layout.task;
    if (layout.task.input !== 'every-token' || (loss !== 'span' && loss !== 'token-classes')) {
      throw new Error(`${layout.modelType}: a token-level head serves span or token-classes tasks on every token, not ${layout.task.input} ${loss}`);
    }
    if (layout.head.length !== 1 || layout.head[0].activation) throw new Error(`${layout.modelType}: a token-level head is one linear giving the logits`);
    this.kind = loss;
    this.step = layout.head[0];
    const { linear } = this.step;
    if (!linear.bias) throw new Error(`${linear.path}: a head linear without bias is not implemented on the GPU yet`);
    this.weight = param('params', linear.weight);
    this.bias = param('params', linear.bias);
    writeTensor(device, this.weight, weights.tensors.get(linear.weight)!.data);
    writeTensor(device, this.bias, weights.tensors.get(linear.bias)!.data);
    this.dWeight = param('grads', linear.weight);
    this.dBias = param('grads', linear.bias);
    this.logits = ctx.tensor([N, linear.dOut], 'token head logits');
    this.dLogits = ctx.tensor([this.kind === 'span' ? N * linear.dOut : 1], 'span dLogits');
    this.rowLoss = ctx.tensor([this.kind === 'token-classes' ? N : 1], 'token row loss');
    this.loss = ctx.tensor([this.kind === 'span' ? 1 : 2], 'loss');
  }

  /** The head dropout's rate in training (0: none). */
  private rate(training: boolean): number {
    return this.step.dropoutBefore && training ? this.ctx.dropout.classifier : 0;
  }

  forwardOps(B: number, T: number, training: boolean, last: Tensor): PlanOp[] {
    const { device: d, scratch } = this.ctx;
    const { dIn, dOut } = this.step.linear;
    const N = B * T;
    const ops: PlanOp[] = [];
    let input = prefix(last, [N, dIn]);
    const p = this.rate(training);
    if (p > 0) {
      const dropped = prefix(scratch.drop, [N, dIn]);
      ops.push(dropoutForward(d, { x: input, out: dropped, n: N * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(0) }));
      input = dropped;
    }
    ops.push(matmul(d, { m: N, n: dOut, k: dIn, a: input, b: this.weight, transB: true, bias: this.bias, out: prefix(this.logits, [N, dOut]) }));
    return ops;
  }

  lossOps(B: number, T: number, gradient: boolean): PlanOp[] {
    const { device: d, inputs } = this.ctx;
    const N = B * T;
    const outputs = this.step.linear.dOut;
    const logits = prefix(this.logits, [N, outputs]);
    switch (this.kind) {
      case 'span':
        return [spanLoss(d, { logits, labels: prefix(inputs.labels, [2 * B]), mask: prefix(inputs.mask, [N]), loss: this.loss, dLogits: prefix(this.dLogits, [N, 2]), batch: B, seq: T })];
      case 'token-classes':
        return causalLmLoss(d, {
          logits, labels: prefix(inputs.labels, [N]), rowLoss: prefix(this.rowLoss, [N]), loss: this.loss,
          batch: B, seq: T, vocab: outputs, gradient, shift: false,
        });
      default:
        return unreachable(this.kind, 'token-level loss');
    }
  }

  backwardOps(B: number, T: number, last: Tensor, into: Tensor | null): PlanOp[] {
    const { device: d, scratch } = this.ctx;
    const { dIn, dOut } = this.step.linear;
    const N = B * T;
    const ops: PlanOp[] = [];
    const dLogits = this.kind === 'span' ? prefix(this.dLogits, [N, dOut]) : prefix(this.logits, [N, dOut]);
    const p = this.rate(true);
    let input = prefix(last, [N, dIn]);
    if (p > 0) {
      // The dropped input was overwritten by later dropouts: regenerate it.
      const dropped = prefix(scratch.drop, [N, dIn]);
      ops.push(dropoutForward(d, { x: input, out: dropped, n: N * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(0) }));
      input = dropped;
    }
    ops.push(matmul(d, { m: dOut, n: dIn, k: N, a: dLogits, b: input, transA: true, out: this.dWeight }));
    ops.push(...columnSum(d, { x: dLogits, out: this.dBias, rows: N, cols: dOut }));
    if (!into) return ops;
    const dHidden = prefix(into, [N, dIn]);
    if (p === 0) {
      ops.push(matmul(d, { m: N, n: dIn, k: dOut, a: dLogits, b: this.weight, out: dHidden }));
      return ops;
    }
    // dx of the linear into the dropout scratch (its input is no longer needed), then undropped.
    const dDropped = prefix(scratch.drop, [N, dIn]);
    ops.push(matmul(d, { m: N, n: dIn, k: dOut, a: dLogits, b: this.weight, out: dDropped }));
    ops.push(dropoutBackward(d, { dy: dDropped, dx: dHidden, n: N * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(0) }));
    return ops;
  }
}
