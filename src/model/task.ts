// What the head computes and which loss trains it, as data: the positions that feed the head and
// the loss, from which the labels' shape follows. The GPU model and the float64 reference both
// read it instead of assuming "first token, classes".
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { unreachable } from '../util/unreachable.ts';

/** first-token: BERT's [CLS]. last-token: the last non-pad token of each row (decoder
 * classification). every-token: all B·T positions (language modelling). */
export type HeadInput = 'first-token' | 'last-token' | 'every-token';

/** classes: softmax cross-entropy over labels. regression: MSE on one output. causal-lm: position
 * t predicts token t + 1; labels are the ids with padding set to IGNORE_INDEX, shifted; the loss is
 * the mean cross-entropy over every non-ignored position of the batch. */
export type TaskLoss = 'classes' | 'regression' | 'causal-lm';

export interface TaskSpec {
  input: HeadInput;
  loss: TaskLoss;
}

/** How many labels a B×T batch carries, and their type. */
export function labelShape(task: TaskSpec, batch: number, seq: number): { count: number; dtype: 'u32' | 'f32' | 'i32' } {
  switch (task.loss) {
    case 'classes':
      return { count: batch, dtype: 'u32' };
    case 'regression':
      return { count: batch, dtype: 'f32' };
    case 'causal-lm':
      return { count: batch * seq, dtype: 'i32' };
    default:
      return unreachable(task.loss);
  }
}

/** Rows of the head's input for a B×T batch: which token of each row (or all of them). */
export function headRows(task: TaskSpec, attentionMask: ArrayLike<number>, batch: number, seq: number): Uint32Array {
  switch (task.input) {
    case 'first-token':
      return Uint32Array.from({ length: batch }, (_, b) => b * seq);
    case 'last-token':
      return Uint32Array.from({ length: batch }, (_, b) => {
        let last = 0;
        for (let s = 0; s < seq; s++) if (attentionMask[b * seq + s]) last = s;
        return b * seq + last;
      });
    case 'every-token':
      return Uint32Array.from({ length: batch * seq }, (_, i) => i);
    default:
      return unreachable(task.input);
  }
}

/** Causal-LM labels for a batch: the ids, with padding (mask 0) ignored. The shift happens in
 * the loss (position t is scored against label t + 1), as in Hugging Face. */
export function causalLmLabels(inputIds: ArrayLike<number>, attentionMask: ArrayLike<number>): Int32Array {
  return Int32Array.from({ length: inputIds.length }, (_, i) => (attentionMask[i] ? inputIds[i] : IGNORE_INDEX));
}
