// Validation of the token-level tasks: question answering (each window's start and end logits,
// post-processed per question through qa-metrics into answers, scored by SQuAD's exact match and
// F1) and token classification (each word's predicted tag on its first sub-token, scored by
// seqeval's entity precision, recall and F1). Both also report the validation loss the trainer
// minimises.
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import type { Dataset, Example } from '../io/types.ts';
import { attentionMaskOf, type ModelBatch } from '../model/batch.ts';
import type { GpuModel } from '../model/gpu-model.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { pooledLoss } from './lm-metrics.ts';
import { entityScores, wordTags } from './ner-metrics.ts';
import { answersFromWindows, squadScores, type AnswerPrediction } from './qa-metrics.ts';

export interface TokenEvalContext {
  device: GPUDevice;
  model: GpuModel;
  dataset: Dataset;
  batchSize: number;
  batchOf(examples: readonly Example[]): Promise<{ batch: ModelBatch; labels: readonly number[] | Int32Array }>;
}

interface BatchResult {
  batch: ModelBatch;
  labels: ArrayLike<number>;
  /** [B·T, outputs] */
  logits: Float32Array;
  loss: Float32Array;
}

/** The forward and the loss (no dropout, logits kept) of each validation batch in turn. */
async function* validationBatches(ctx: TokenEvalContext): AsyncGenerator<BatchResult> {
  const { validation } = ctx.dataset;
  for (let start = 0; start < validation.length; start += ctx.batchSize) {
    const { batch, labels } = await ctx.batchOf(validation.slice(start, start + ctx.batchSize));
    ctx.model.setBatch(batch, labels);
    submitPlan(ctx.device, ctx.model.lossPlan(batch.batch, batch.seq, false));
    yield { batch, labels, loss: await readTensor(ctx.device, ctx.model.loss), logits: await readTensor(ctx.device, ctx.model.logits) };
  }
}

/** Start and end logits of each validation window, cut to its tokens. */
export async function qaWindowLogits(ctx: TokenEvalContext): Promise<{ logits: { start: Float32Array; end: Float32Array }[]; loss: number }> {
  const logits: { start: Float32Array; end: Float32Array }[] = [];
  let lossSum = 0;
  for await (const { batch, logits: all, loss } of validationBatches(ctx)) {
    const { seq } = batch;
    const mask = attentionMaskOf(batch);
    for (let b = 0; b < batch.batch; b++) {
      let tokens = 0;
      for (let t = 0; t < seq; t++) tokens += mask[b * seq + t];
      const start = new Float32Array(tokens);
      const end = new Float32Array(tokens);
      for (let t = 0; t < tokens; t++) {
        start[t] = all[2 * (b * seq + t)];
        end[t] = all[2 * (b * seq + t) + 1];
      }
      logits.push({ start, end });
    }
    // Every row counts on both sides (each window has a start and an end, CLS at worst).
    lossSum += loss[0] * batch.batch;
  }
  return { logits, loss: lossSum / Math.max(1, logits.length) };
}

/** Each question's answer from its windows (SQuAD v2: the CLS score may say "no answer"). */
export async function qaAnswers(ctx: TokenEvalContext): Promise<{ answers: Map<string, AnswerPrediction>; loss: number }> {
  const qa = ctx.dataset.qa;
  if (!qa) throw new Error(`${ctx.dataset.name}: question-answering data without its windows' offsets`);
  const { logits, loss } = await qaWindowLogits(ctx);
  return { answers: answersFromWindows(qa.questions, qa.windows, logits, { withNegative: qa.version === 2 }), loss };
}

/** exact and f1 (percent, as SQuAD's scripts print them) and the validation loss. */
export async function evaluateQa(ctx: TokenEvalContext): Promise<Record<string, number>> {
  const { answers, loss } = await qaAnswers(ctx);
  const qa = ctx.dataset.qa!;
  const texts = new Map([...answers].map(([id, a]) => [id, a.text]));
  const scores = squadScores(qa.questions, texts, qa.version);
  return { exact: scores.exact, f1: scores.f1, loss };
}

/** seqeval's entity precision, recall, F1 and the word-tag accuracy (fractions), and the loss
 * pooled over the labelled tokens. */
export async function evaluateNer(ctx: TokenEvalContext): Promise<Record<string, number>> {
  const names = ctx.dataset.labelNames;
  const classes = names.length;
  const gold: string[][] = [];
  const pred: string[][] = [];
  const losses: { loss: number; tokens: number }[] = [];
  for await (const { batch, labels, logits, loss } of validationBatches(ctx)) {
    const { seq } = batch;
    const argmax = new Int32Array(batch.batch * seq).fill(IGNORE_INDEX);
    for (let i = 0; i < argmax.length; i++) {
      if (labels[i] === IGNORE_INDEX) continue;
      let best = 0;
      for (let k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
      argmax[i] = best;
    }
    for (let b = 0; b < batch.batch; b++) {
      const row = (a: ArrayLike<number>) => Array.from({ length: seq }, (_, t) => a[b * seq + t]);
      const tags = wordTags(row(argmax), row(labels), names);
      gold.push(tags.gold);
      pred.push(tags.pred);
    }
    losses.push({ loss: loss[0], tokens: loss[1] });
  }
  const scores = entityScores(gold, pred);
  return { precision: scores.precision, recall: scores.recall, f1: scores.f1, accuracy: scores.accuracy, loss: pooledLoss(losses) };
}
