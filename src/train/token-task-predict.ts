// What a playground asks of a QA or NER model: the answer to a question about a pasted context
// (its windows through the span head, post-processed as in evaluation, SQuAD v2's no-answer when
// the run's data had unanswerable questions), or the tag of each word of a sentence; each for the
// fine-tuned model and the base one (the initial Σ, biases and head). Call through
// Trainer.exclusive: the base answer swaps the parameters.
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { nerFeature } from '../io/ner-data.ts';
import { qaFeatures } from '../io/qa-data.ts';
import { collateTokenRows } from '../io/token-task-data.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { textModel } from './load.ts';
import { bestAnswer, type AnswerPrediction } from './qa-metrics.ts';
import type { Trainer } from './trainer.ts';

/** The QA windows' stride when the run's data does not say (run_qa.py's default). */
const STRIDE = 128;

/** Logits [rows, seq, outputs] of token rows under the current parameters (no dropout). */
async function rowLogits(trainer: Trainer, rows: { inputIds: number[]; labels: number[]; tokenTypeIds?: number[] }[], perToken: boolean) {
  const out: { logits: Float32Array; seq: number; rows: number }[] = [];
  const tokenizer = textModel(trainer.loaded, 'a playground').tokenizer;
  for (let start = 0; start < rows.length; start += trainer.config.batchSize) {
    const { batch } = collateTokenRows(rows.slice(start, start + trainer.config.batchSize), tokenizer.padId, 8, perToken);
    trainer.model.setBatch(batch);
    submitPlan(trainer.gpu.device, trainer.model.evalPlan(batch.batch, batch.seq));
    out.push({ logits: await readTensor(trainer.gpu.device, trainer.model.logits), seq: batch.seq, rows: batch.batch });
  }
  return out;
}

/** The answer to `question` in `context` under the current parameters. */
export async function answerQuestion(trainer: Trainer, context: string, question: string): Promise<AnswerPrediction> {
  if (trainer.dataset.task !== 'question-answering') throw new Error(`a ${trainer.dataset.task} model does not answer questions`);
  const tokenizer = textModel(trainer.loaded, 'question answering').tokenizer;
  const example = { id: 'playground', title: '', context, question, answers: { text: [], answerStart: [] } };
  const features = qaFeatures([example], tokenizer, { maxLength: trainer.config.maxLength, stride: Math.min(STRIDE, Math.floor(trainer.config.maxLength / 2)) });
  const windows = [];
  let f = 0;
  for (const block of await rowLogits(trainer, features.map((w) => ({ inputIds: w.inputIds, labels: [0, 0], tokenTypeIds: w.tokenTypeIds })), false)) {
    for (let b = 0; b < block.rows; b++, f++) {
      const n = features[f].inputIds.length;
      const at = (side: number) => Float32Array.from({ length: n }, (_, t) => block.logits[2 * (b * block.seq + t) + side]);
      windows.push({ startLogits: at(0), endLogits: at(1), offsets: features[f].offsets });
    }
  }
  return bestAnswer(context, windows, { withNegative: trainer.dataset.qa?.version === 2 });
}

/** Each word's tag (from its first sub-token) under the current parameters; words past the
 * maximum length are left out, as the model never sees them. */
export async function tagWords(trainer: Trainer, words: readonly string[]): Promise<string[]> {
  if (trainer.dataset.task !== 'token-classification') throw new Error(`a ${trainer.dataset.task} model does not tag words`);
  const names = trainer.dataset.labelNames;
  const tokenizer = textModel(trainer.loaded, 'token classification').tokenizer;
  // Any tag marks the first sub-tokens: the labels say where each word starts.
  const feature = nerFeature({ words: [...words], tags: words.map(() => 0) }, tokenizer, trainer.config.maxLength);
  const [{ logits }] = await rowLogits(trainer, [{ inputIds: feature.inputIds, labels: feature.labels, tokenTypeIds: feature.tokenTypeIds }], true);
  const tags: string[] = [];
  feature.labels.forEach((label, t) => {
    if (label === IGNORE_INDEX) return;
    let best = 0;
    for (let k = 1; k < names.length; k++) if (logits[t * names.length + k] > logits[t * names.length + best]) best = k;
    tags.push(names[best]);
  });
  return tags;
}

/** `predict` for the fine-tuned parameters and for the base model's. */
export async function withBase<T>(trainer: Trainer, predict: () => Promise<T>): Promise<{ base: T; tuned: T }> {
  const tuned = await predict();
  const initial = await readTensor(trainer.gpu.device, trainer.model.initialTensor);
  return { base: await trainer.withParameters(initial, predict), tuned };
}
