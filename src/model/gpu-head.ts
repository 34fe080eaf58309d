// The task head on the GPU. `GpuHead` is what the model needs of any head; the classifier here
// gathers the rows the task feeds it (first token, last non-pad token), runs its linears, the
// loss, and the backward that routes the gradient back into the last hidden state. Its weights
// are trained: views into the flat buffers. (The causal-LM head is gpu-lm-head.ts.)
import { prefix, writeTensor, type Tensor } from '../gpu/tensor.ts';
import type { PlanOp } from '../gpu/plan.ts';
import { activationBackward, activationForward } from '../kernels/activation.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.ts';
import { columnSum } from '../kernels/factored_linear.ts';
import { mseLoss, softmaxCrossEntropy } from '../kernels/loss.ts';
import { matmul } from '../kernels/matmul.ts';
import { unreachable } from '../util/unreachable.ts';
import type { HeadStepLayout, LinearLayout } from './architectures.ts';
import { STREAM, type BlockContext } from './gpu-context.ts';
import type { ParamView } from './gpu-layer.ts';

interface GpuHeadStep {
  layout: HeadStepLayout;
  linear: LinearLayout;
  weight: Tensor;
  bias: Tensor;
  dWeight: Tensor;
  dBias: Tensor;
}

export interface GpuHead {
  readonly loss: Tensor;
  readonly logits: Tensor;
  /** Logits from the last hidden state [B·T, H]. */
  forwardOps(B: number, T: number, training: boolean, last: Tensor): PlanOp[];
  /** The mean loss, and (with `gradient`) dLoss/dLogits for the backward. */
  lossOps(B: number, T: number, gradient: boolean): PlanOp[];
  /** The head's own gradients and, into `into` when given, the last hidden state's. */
  backwardOps(B: number, T: number, last: Tensor, into: Tensor | null): PlanOp[];
}

export class ClassifierHeadBlock implements GpuHead {
  readonly loss: Tensor;
  readonly logits: Tensor;
  private readonly steps: GpuHeadStep[] = [];
  private readonly acts: { input: Tensor[]; pre: Tensor[]; out: Tensor[]; grad: Tensor[]; dLogits: Tensor };

  constructor(private readonly ctx: BlockContext, param: ParamView) {
    const { layout, weights, device, maxBatch: B } = ctx;
    switch (layout.task.input) {
      case 'first-token':
      case 'last-token':
        break;
      case 'every-token':
        throw new Error(`${layout.modelType}: a classifier reads one row per sequence, not every token`);
      default:
        unreachable(layout.task.input, 'head input');
    }
    for (const step of layout.head) {
      const { linear } = step;
      if (!linear.bias) throw new Error(`${linear.path}: a head linear without bias is not implemented on the GPU yet`);
      const weight = param('params', linear.weight);
      const bias = param('params', linear.bias);
      writeTensor(device, weight, weights.tensors.get(linear.weight)!.data);
      writeTensor(device, bias, weights.tensors.get(linear.bias)!.data);
      this.steps.push({ layout: step, linear, weight, bias, dWeight: param('grads', linear.weight), dBias: param('grads', linear.bias) });
    }
    const numLabels = this.steps[this.steps.length - 1].linear.dOut;
    const width = Math.max(layout.hidden, numLabels);
    this.acts = {
      input: layout.head.map((s, i) => ctx.tensor([B, s.linear.dIn], `head ${i} input`)),
      pre: layout.head.map((s, i) => ctx.tensor([B, s.linear.dOut], `head ${i} pre`)),
      out: layout.head.map((s, i) => ctx.tensor([B, s.linear.dOut], `head ${i} out`)),
      grad: [0, 1, 2].map((i) => ctx.tensor([B, width], `head grad ${i}`)),
      dLogits: ctx.tensor([B, numLabels], 'dLogits'),
    };
    this.loss = ctx.tensor([1], 'loss');
    this.logits = this.acts.pre[layout.head.length - 1];
  }

  /** Logits [B, labels] from the last hidden state [B·T, H]. */
  forwardOps(B: number, T: number, training: boolean, last: Tensor): PlanOp[] {
    const { device: d, layout, inputs, dropout } = this.ctx;
    const H = layout.hidden;
    const ops: PlanOp[] = [];
    let current = prefix(this.acts.input[0], [B, H]);
    ops.push(embeddingForward(d, { table: prefix(last, [B * T, H]), ids: prefix(inputs.headRows, [B]), out: current, rows: B, dim: H }));
    this.steps.forEach((step, s) => {
      const { dIn, dOut } = step.linear;
      const p = step.layout.dropoutBefore && training ? dropout.classifier : 0;
      let input = current;
      if (p > 0) {
        input = prefix(this.ctx.scratch.drop, [B, dIn]);
        ops.push(dropoutForward(d, { x: current, out: input, n: B * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(s) }));
      }
      const pre = prefix(this.acts.pre[s], [B, dOut]);
      ops.push(matmul(d, { m: B, n: dOut, k: dIn, a: input, b: step.weight, transB: true, bias: step.bias, out: pre }));
      const act = step.layout.activation;
      current = pre;
      if (act) {
        current = s + 1 < this.steps.length ? prefix(this.acts.input[s + 1], [B, dOut]) : prefix(this.acts.out[s], [B, dOut]);
        ops.push(activationForward(d, { x: pre, y: current, n: B * dOut, kind: act }));
      } else if (s + 1 < this.steps.length) {
        throw new Error('a head linear without activation must be the last');
      }
    });
    return ops;
  }

  /** The mean loss and dLoss/dLogits under the task's loss (both always: they are small). */
  lossOps(B: number, _T: number, _gradient: boolean): PlanOp[] {
    const { device: d, layout, inputs } = this.ctx;
    const numLabels = this.steps[this.steps.length - 1].linear.dOut;
    const logits = prefix(this.logits, [B, numLabels]);
    const dLogits = prefix(this.acts.dLogits, [B, numLabels]);
    const labels = prefix(inputs.labels, [B]);
    switch (layout.task.loss) {
      case 'regression':
        return [mseLoss(d, { pred: logits, target: labels, loss: this.loss, dPred: dLogits, rows: B })];
      case 'classes':
        return [softmaxCrossEntropy(d, { logits, labels, loss: this.loss, dLogits, rows: B, classes: numLabels })];
      case 'causal-lm':
      case 'span':
      case 'token-classes':
        throw new Error(`${layout.modelType}: the ${layout.task.loss} loss belongs to a head on every token, not a classifier`);
      default:
        return unreachable(layout.task.loss, 'loss');
    }
  }

  /**
   * Gradients of the head's weights and biases, and, into `into`, the gradient of the last
   * hidden state (zero on the rows the head does not read).
   */
  backwardOps(B: number, T: number, _last: Tensor, into: Tensor | null): PlanOp[] {
    const { device: d, layout, inputs, dropout, scratch: s } = this.ctx;
    const ops: PlanOp[] = [];
    // Last step first. Gradients rotate through three [B, width] buffers: a dispatch never writes
    // the buffer it reads (WebGPU forbids aliasing a written binding).
    let g = prefix(this.acts.dLogits, [B, this.steps[this.steps.length - 1].linear.dOut]);
    const other = (shape: number[], ...busy: Tensor[]) => prefix(this.acts.grad.find((t) => busy.every((b) => b.buffer !== t.buffer))!, shape);
    for (let i = this.steps.length - 1; i >= 0; i--) {
      const step = this.steps[i];
      const { dIn, dOut } = step.linear;
      const act = step.layout.activation;
      let dPre = g;
      if (act) {
        dPre = other([B, dOut], g);
        ops.push(activationBackward(d, { dy: g, x: prefix(this.acts.pre[i], [B, dOut]), dx: dPre, n: B * dOut, kind: act }));
      }
      const p = step.layout.dropoutBefore ? dropout.classifier : 0;
      const input = p > 0 ? prefix(s.drop, [B, dIn]) : prefix(this.acts.input[i], [B, dIn]);
      if (p > 0) {
        // The dropped input was overwritten by later dropouts: regenerate it.
        ops.push(dropoutForward(d, { x: prefix(this.acts.input[i], [B, dIn]), out: input, n: B * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(i) }));
      }
      ops.push(matmul(d, { m: dOut, n: dIn, k: B, a: dPre, b: input, transA: true, out: step.dWeight }));
      ops.push(...columnSum(d, { x: dPre, out: step.dBias, rows: B, cols: dOut }));
      g = other([B, dIn], dPre);
      ops.push(matmul(d, { m: B, n: dIn, k: dOut, a: dPre, b: step.weight, out: g }));
      if (p > 0) {
        const undropped = other([B, dIn], g);
        ops.push(dropoutBackward(d, { dy: g, dx: undropped, n: B * dIn, p, seedBuffer: this.ctx.seed, stream: STREAM.head(i) }));
        g = undropped;
      }
    }
    if (!into) return ops;
    // Route the gathered rows' gradient back into the [N, H] gradient of the last hidden state.
    const H = layout.hidden;
    const dH = prefix(into, [B * T, H]);
    ops.push({ clear: dH });
    ops.push(embeddingBackward(d, { dOut: g, ids: prefix(inputs.headRows, [B]), dTable: dH, rows: B, dim: H }));
    return ops;
  }
}
