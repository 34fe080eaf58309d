// The playground's side of QA and NER: one question or sentence at a time gives what evaluation
// gave for it (the same windows, post-processing and tags), for the tuned model and the base one.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readTokenTaskDataset } from '../cli/token-task-files.ts';
import { parseConll } from '../io/ner-data.ts';
import { HF_TINY } from '../model/test-folders.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from './defaults.ts';
import { entityScores } from './ner-metrics.ts';
import { answerQuestion, tagWords, withBase } from './token-task-predict.ts';
import { qaAnswers } from './token-task-eval.ts';
import { Trainer } from './trainer.ts';

const FIXTURES = join(import.meta.dirname, '../cli/fixtures');

async function trained(file: string) {
  const files = await readModelDir(join(HF_TINY, 'bert'));
  const { dataset, maxLength } = (await readTokenTaskDataset(files, join(FIXTURES, file), { valFraction: 0.25, nerMaxLength: 64 }))!;
  const trainer = await Trainer.create({
    gpu: await testGpu(), files, dataset, emit: () => {},
    config: defaultConfig(dataset.train.length, { epochs: 2, batchSize: 8, lr: 2e-2, seed: 5, maxLength }),
  });
  await trainer.train(() => false);
  return trainer;
}

describe('token-task predictions', () => {
  it('answers each validation question as evaluation did, and the base model differently from the tuned one', async () => {
    const trainer = await trained('tiny-qa.json');
    const qa = trainer.dataset.qa!;
    const tokenEval = { device: trainer.gpu.device, model: trainer.model, dataset: trainer.dataset, batchSize: 8, batchOf: (e: Parameters<Trainer['batchOf']>[0]) => trainer.batchOf(e) };
    const { answers } = await qaAnswers(tokenEval);
    for (const q of qa.questions) {
      const ours = await answerQuestion(trainer, q.context, q.question);
      expect(ours, q.id).toEqual(answers.get(q.id));
      expect(q.context.slice(ours.start, ours.end)).toBe(ours.text);
    }
    const q = qa.questions[0];
    const both = await withBase(trainer, () => answerQuestion(trainer, q.context, q.question));
    expect(both.tuned).toEqual(answers.get(q.id));
    expect(both.base.score).not.toBe(both.tuned.score);
    // The tuned parameters are back in place.
    expect(await answerQuestion(trainer, q.context, q.question)).toEqual(both.tuned);
  });

  it('tags each validation sentence as evaluation scored it', async () => {
    const trainer = await trained('tiny-ner.conll');
    const data = parseConll(readFileSync(join(FIXTURES, 'tiny-ner.conll'), 'utf8'), 'tiny-ner.conll');
    const validation = data.sentences.slice(0, 10);
    const gold = validation.map((s) => s.tags.map((t) => data.labelNames[t]));
    const pred = [];
    for (const s of validation) pred.push(await tagWords(trainer, s.words));
    const scores = entityScores(gold, pred);
    const metrics = await trainer.evaluate();
    expect([scores.precision, scores.recall, scores.f1, scores.accuracy]).toEqual([metrics.precision, metrics.recall, metrics.f1, metrics.accuracy]);
    const both = await withBase(trainer, () => tagWords(trainer, validation[0].words));
    expect(both.tuned).toEqual(pred[0]);
    expect(both.base).toHaveLength(validation[0].words.length);
  });
});
