// The token-level task heads on the GPU: a span head (QA's qa_outputs: start and end logits) or a
// token classifier (NER), run on every position's final hidden state [B·T, H] with no pooling.
// Its linears are trained (views into the flat buffers); the loss is the span loss
// (span_loss.wgsl) or the per-token cross-entropy with −100 ignored (causal_lm_loss.wgsl,
// unshifted). The backward writes the whole last hidden state's gradient.
import { prefix, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { activationBackward, activationForward } from '../kernels/activation.ts';
import { causalLmLoss } from '../kernels/causal_lm_loss.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { columnSum } from '../kernels/factored_linear.ts';
import { matmul } from '../kernels/matmul.ts';
import { spanLoss } from '../kernels/span_loss.ts';
import { unreachable } from '../util/unreachable.ts';
import type { HeadStepLayout, LinearLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import type { GpuHead } from './gpu-head.ts';
import type { ParamView } from './gpu-layer.ts';

interface Step {
  layout: HeadStepLayout;
  linear: LinearLayout;
  weight: Tensor;
  bias: Tensor;
  dWeight: Tensor;
  dBias: Tensor;
}

export class TokenHeadBlock implements GpuHead {
  /** span: [1], the mean of the start and end losses. token-classes: [2], the mean over the
   * labelled tokens and their number (to pool a validation loss over batches). */
  readonly loss: Tensor;
  /** [B·T, outputs]: start/end logits or class logits; a token classifier's training plan
   * overwrites them with dLogits (the loss kernel works in place). */
  readonly logits: Tensor;
  private readonly steps: Step[] = [];
  private readonly acts: { input: Tensor[]; pre: Tensor[]; grad: Tensor[]; dLogits: Tensor; rowLoss: Tensor };
  private readonly kind: 'span' | 'token-classes';

  constructor(private readonly ctx: BlockContext, param: ParamView) {
    const { layout, weights, device, maxTokens: N } = ctx;
    const { loss } = layout.task;
    if (layout.task.input !== 'every-token' || (loss !== 'span' && loss !== 'token-classes')) {
      throw new Error(`${layout.modelType}: a token-level head serves span or token-classes tasks on every token, not ${layout.task.input} ${loss}`);
    }
    this.kind = loss;
    for (const step of layout.head) {
      const { linear } = step;
      if (!linear.bias) throw new Error(`${linear.path}: a head linear without bias is not implemented on the GPU yet`);
      const weight = param('params', linear.weight);
      const bias = param('params', linear.bias);
      writeTensor(device, weight, weights.tensors.get(linear.weight)!.data);
      writeTensor(device, bias, weights.tensors.get(linear.bias)!.data);
      this.steps.push({ layout: step, linear, weight, bias, dWeight: param('grads', linear.weight), dBias: param('grads', linear.bias) });
    }
    const outputs = this.steps[this.steps.length - 1].linear.dOut;
    const width = Math.max(layout.hidden, outputs);
    this.acts = {
      // The first step reads the last hidden state itself.
      input: layout.head.map((s, i) => (i === 0 ? ctx.tensor([1], 'unused') : ctx.tensor([N, s.linear.dIn], `token head ${i} input`))),
      pre: layout.head.map((s, i) => ctx.tensor([N, s.linear.dOut], `token head ${i} pre`)),
      grad: [0, 1, 2].map((i) => ctx.tensor([N, width], `token head grad ${i}`)),
      dLogits: ctx.tensor([this.kind === 'span' ? N * outputs : 1], 'span dLogits'),
      rowLoss: ctx.tensor([this.kind === 'token-classes' ? N : 1], 'token row loss'),
    };
    this.loss = ctx.tensor([this.kind === 'span' ? 1 : 2], 'loss');
    this.logits = this.acts.pre[layout.head.length - 1];
  }

  private get outputs(): number {
    return this.steps[this.steps.length - 1].linear.dOut;
  }

  forwardOps(B: number, T: number, training: boolean, last: Tensor): PlanOp[] {
    const { device: d, dropout } = this.ctx;
    const N = B * T;
    const ops: PlanOp[] = [];
    let current = prefix(last, [N, this.steps[0].linear.dIn]);
    this.steps.forEach((step, s) => {
      const { dIn, dOut } = step.linear;
      const p = step.layout.dropoutBefore && training ? dropout.classifier : 0;
      let input = current;
      if (p > 0) {
        input = prefix(this.ctx.scratch.drop, [N, dIn]);
        ops.push(dropoutForward(d, { x: current, out: input, n: N * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(s) }));
      }
      const pre = prefix(this.acts.pre[s], [N, dOut]);
      ops.push(matmul(d, { m: N, n: dOut, k: dIn, a: input, b: step.weight, transB: true, bias: step.bias, out: pre }));
      const act = step.layout.activation;
      if (s + 1 === this.steps.length) {
        if (act) throw new Error(`${step.linear.path}: the last head linear gives the logits, with no activation`);
        return;
      }
      if (!act) throw new Error('a head linear without activation must be the last');
      current = prefix(this.acts.input[s + 1], [N, dOut]);
      ops.push(activationForward(d, { x: pre, y: current, n: N * dOut, kind: act }));
    });
    return ops;
  }

  lossOps(B: number, T: number, gradient: boolean): PlanOp[] {
    const { device: d, inputs } = this.ctx;
    const N = B * T;
    const logits = prefix(this.logits, [N, this.outputs]);
    switch (this.kind) {
      case 'span':
        return [spanLoss(d, { logits, labels: prefix(inputs.labels, [2 * B]), mask: prefix(inputs.mask, [N]), loss: this.loss, dLogits: prefix(this.acts.dLogits, [N, 2]), batch: B, seq: T })];
      case 'token-classes':
        return causalLmLoss(d, {
          logits, labels: prefix(inputs.labels, [N]), rowLoss: prefix(this.acts.rowLoss, [N]), loss: this.loss,
          batch: B, seq: T, vocab: this.outputs, gradient, shift: false,
        });
      default:
        return unreachable(this.kind, 'token-level loss');
    }
  }

  backwardOps(B: number, T: number, last: Tensor, into: Tensor | null): PlanOp[] {
    const { device: d, dropout, scratch } = this.ctx;
    const N = B * T;
    const ops: PlanOp[] = [];
    let g = this.kind === 'span' ? prefix(this.acts.dLogits, [N, 2]) : prefix(this.logits, [N, this.outputs]);
    // Gradients rotate through three buffers: a dispatch never writes the buffer it reads.
    const other = (shape: number[], ...busy: Tensor[]) => prefix(this.acts.grad.find((t) => busy.every((b) => b.buffer !== t.buffer))!, shape);
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i];
      const { dIn, dOut } = step.linear;
      const act = i + 1 < this.steps.length ? step.layout.activation : null;
      let dPre = g;
      if (act) {
        dPre = other([N, dOut], g);
        ops.push(activationBackward(d, { dy: g, x: prefix(this.acts.pre[i], [N, dOut]), dx: dPre, n: N * dOut, kind: act }));
      }
      const stepInput = i === 0 ? prefix(last, [N, dIn]) : prefix(this.acts.input[i], [N, dIn]);
      const p = step.layout.dropoutBefore ? dropout.classifier : 0;
      const input = p > 0 ? prefix(scratch.drop, [N, dIn]) : stepInput;
      // The dropped input was overwritten by later dropouts: regenerate it.
      if (p > 0) ops.push(dropoutForward(d, { x: stepInput, out: input, n: N * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(i) }));
      ops.push(matmul(d, { m: dOut, n: dIn, k: N, a: dPre, b: input, transA: true, out: step.dWeight }));
      ops.push(...columnSum(d, { x: dPre, out: step.dBias, rows: N, cols: dOut }));
      if (i === 0 && !into) break;
      // The first step's input gradient is the last hidden state's: straight into `into` unless dropout follows.
      const direct = i === 0 && p === 0;
      const dx = direct ? prefix(into!, [N, dIn]) : other([N, dIn], dPre);
      ops.push(matmul(d, { m: N, n: dIn, k: dOut, a: dPre, b: step.weight, out: dx }));
      g = dx;
      if (p > 0) {
        const undropped = i === 0 ? prefix(into!, [N, dIn]) : other([N, dIn], g);
        ops.push(dropoutBackward(d, { dy: g, dx: undropped, n: N * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(i) }));
        g = undropped;
      }
    }
    return ops;
  }
}
