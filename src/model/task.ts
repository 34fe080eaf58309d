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
 * the mean cross-entropy over every non-ignored position of the batch. token-classes (NER): every
 * position has a class id or IGNORE_INDEX (sub-tokens after a word's first, specials, padding),
 * unshifted; the loss is the mean cross-entropy over the non-ignored positions of the batch.
 * span (extractive QA): two outputs per position, start and end logits; each row has a start and
 * an end position, and the loss is the mean of the start and the end cross-entropies, each a
 * softmax over the row's positions (the attention mask's tokens) averaged over the rows. */
export type TaskLoss = 'classes' | 'regression' | 'causal-lm' | 'token-classes' | 'span';

export interface TaskSpec {
  input: HeadInput;
  loss: TaskLoss;
}

/** How many labels a B×T batch carries, and their type (span: row b's start at 2b, end at 2b + 1). */
export function labelShape(task: TaskSpec, batch: number, seq: number): { count: number; dtype: 'u32' | 'f32' | 'i32' } {
  switch (task.loss) {
    case 'classes':
      return { count: batch, dtype: 'u32' };
    case 'regression':
      return { count: batch, dtype: 'f32' };
    case 'causal-lm':
    case 'token-classes':
      return { count: batch * seq, dtype: 'i32' };
    case 'span':
      return { count: 2 * batch, dtype: 'i32' };
    default:
      return unreachable(task.loss);
  }
}

/** What a B×T batch's mean loss averages over: its rows, or the positions a token loss scores
 * (Hugging Face's num_items_in_batch). Gradient accumulation weighs micro-batches by it, so that
 * a step's gradient is that of the mean over the whole effective batch. */
export function lossItems(task: TaskSpec, labels: ArrayLike<number>, batch: number, seq: number): number {
  let items = 0;
  switch (task.loss) {
    case 'classes':
    case 'regression':
    case 'span':
      return batch;
    case 'causal-lm':
      for (let r = 0; r < batch * seq; r++) if (r % seq !== seq - 1 && labels[r + 1] >= 0) items++;
      return items;
    case 'token-classes':
      for (let r = 0; r < batch * seq; r++) if (labels[r] >= 0) items++;
      return items;
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

/** What an encoder's head is for, as Hugging Face's class names say it (BertFor…): the config's
 * `architectures` decides, or an explicit choice for a checkpoint without a head. */
export type HeadTask = 'sequence-classification' | 'question-answering' | 'token-classification';
export const HEAD_TASKS: readonly HeadTask[] = ['sequence-classification', 'question-answering', 'token-classification'];

/** The Hugging Face class suffix of each head task. */
export function headClassSuffix(task: HeadTask): string {
  switch (task) {
    case 'sequence-classification':
      return 'ForSequenceClassification';
    case 'question-answering':
      return 'ForQuestionAnswering';
    case 'token-classification':
      return 'ForTokenClassification';
    default:
      return unreachable(task, 'head task');
  }
}

/** The head task a config's `architectures` names (BertForQuestionAnswering …); null when it names none. */
export function headTaskOfClasses(architectures: readonly string[]): HeadTask | null {
  for (const name of architectures) {
    const task = HEAD_TASKS.find((t) => name.endsWith(headClassSuffix(t)));
    if (task) return task;
  }
  return null;
}
