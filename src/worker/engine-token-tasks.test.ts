// The engine's QA and NER requests as the studio sends them, on the tiny Hugging Face BERT (its
// checkpoint has a sequence classifier, so the span head and token classifier are new): a run
// trains with EM/F1 or entity P/R/F1 evaluations, 'answer' and 'tag' answer for base and
// fine-tuned, and the merged export is a …ForQuestionAnswering / …ForTokenClassification folder.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readModelFolder } from '../io/model-folder.ts';
import { nerExamples, qaExamples, readTokenTaskFile } from '../io/token-task-data.ts';
import { createTokenizer } from '../io/tokenizer.ts';
import type { Dataset } from '../io/types.ts';
import { defaultConfig } from '../train/defaults.ts';
import { testGpu } from '../test/gpu.ts';
import { Engine } from './engine.ts';
import type { EngineEvent, EngineState } from './protocol.ts';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/bert');
const CONTEXT = 'The Normans were the people who in the 10th and 11th centuries gave their name to Normandy, a region in France.';
const SQUAD = JSON.stringify({
  data: [{
    title: 'Normans',
    paragraphs: [{
      context: CONTEXT,
      qas: ['Who gave their name to Normandy?', 'What gave its name to Normandy?', 'Which people named Normandy?', 'Who named a region in France?'].map((question, i) => ({
        id: `q${i}`, question, answers: [{ text: 'The Normans', answer_start: 0 }],
      })),
    }],
  }],
});
const CONLL = ['Alice\tB-person\nmet\tO\nBob\tB-person\nin\tO\nParis\tB-location', 'Carol\tB-person\nlives\tO\nin\tO\nNew\tB-location\nYork\tI-location'].join('\n\n');

async function run(dataset: Dataset) {
  const events: EngineEvent[] = [];
  const engine = new Engine({ acquireGpu: testGpu, store: { save: async () => {}, load: async () => null }, post: (e) => events.push(e) });
  const model = await readModelDir(FIXTURE);
  const config = defaultConfig(dataset.train.length, { batchSize: 4, epochs: 1, lr: 1e-2, maxLength: 32 });
  await engine.handle({ type: 'load', model, dataset, config });
  const states = () => events.flatMap((e) => (e.type === 'state' ? [e.state] : []));
  const waitFor = async (state: EngineState) => {
    for (let i = 0; i < 600 && !states().includes(state); i++) await new Promise((r) => setTimeout(r, 100));
    expect(states()).toContain(state);
  };
  await engine.handle({ type: 'start' });
  await waitFor('finished');
  return { engine, events, model };
}

const exportedConfig = (events: EngineEvent[]) => {
  const exported = events.find((e) => e.type === 'export');
  const config = exported?.type === 'export' ? exported.files.find((f) => f.name === 'config.json') : undefined;
  return JSON.parse(new TextDecoder().decode(config!.bytes)) as { architectures: string[] };
};

describe('the engine on QA and NER', () => {
  it('trains QA with EM/F1, answers a question for base and fine-tuned, exports BertForQuestionAnswering', async () => {
    const tokenizer = createTokenizer(readModelFolder(await readModelDir(FIXTURE)).tokenizer);
    const read = await readTokenTaskFile(new TextEncoder().encode(SQUAD).buffer as ArrayBuffer, 'squad.json');
    if (read?.task !== 'question-answering') throw new Error('not read as QA');
    const windows = { maxLength: 32, stride: 8 };
    const train = qaExamples(read.questions, tokenizer, windows);
    const dataset: Dataset = { task: 'question-answering', labelNames: [], name: 'squad.json', train: train.examples, validation: train.examples, qa: { questions: read.questions, windows: train.windows, version: 1 } };
    const { engine, events } = await run(dataset);
    const model = events.find((e) => e.type === 'model');
    expect(model?.type === 'model' && model.summary.headNote).toBe('Head initialised: the checkpoint (BertForSequenceClassification) has no qa_outputs.weight, qa_outputs.bias; they start as Hugging Face initialises a new head (normal weights, zero bias).');
    const evals = events.filter((e) => e.type === 'eval');
    expect(evals.length).toBeGreaterThan(0);
    expect(Object.keys(evals.at(-1)!.type === 'eval' ? (evals.at(-1) as Extract<EngineEvent, { type: 'eval' }>).metrics : {}).sort()).toEqual(['exact', 'f1', 'loss']);

    await engine.handle({ type: 'answer', id: 7, context: CONTEXT, question: 'Who gave their name to Normandy?' });
    const answer = events.find((e) => e.type === 'answer');
    if (answer?.type !== 'answer') throw new Error('no answer event');
    expect(answer.id).toBe(7);
    for (const side of [answer.base, answer.tuned]) {
      expect(CONTEXT.slice(side.start, side.end)).toBe(side.text);
      expect(Number.isFinite(side.score)).toBe(true);
    }
    await engine.handle({ type: 'export', kind: 'merged' });
    expect(exportedConfig(events).architectures).toEqual(['BertForQuestionAnswering']);
    await engine.handle({ type: 'export', kind: 'vectors' });
    const vectors = events.filter((e) => e.type === 'export').at(-1);
    if (vectors?.type !== 'export') throw new Error('no vectors export');
    expect(vectors.files.map((f) => f.name)).toEqual(['vectorfit_vectors.safetensors', 'adapter_config.json']);
    expect(JSON.parse(new TextDecoder().decode(vectors.files[1].bytes))).toMatchObject({ task: 'question-answering' });
  });

  it('trains NER with entity P/R/F1, tags each word for base and fine-tuned, exports BertForTokenClassification', async () => {
    const tokenizer = createTokenizer(readModelFolder(await readModelDir(FIXTURE)).tokenizer);
    const read = await readTokenTaskFile(new TextEncoder().encode(CONLL).buffer as ArrayBuffer, 'ner.conll');
    if (read?.task !== 'token-classification') throw new Error('not read as NER');
    const examples = nerExamples(read.data, tokenizer, 32);
    const dataset: Dataset = { task: 'token-classification', labelNames: read.data.labelNames, name: 'ner.conll', train: examples, validation: examples };
    const { engine, events } = await run(dataset);
    const evals = events.filter((e): e is Extract<EngineEvent, { type: 'eval' }> => e.type === 'eval');
    expect(Object.keys(evals.at(-1)!.metrics).sort()).toEqual(['accuracy', 'f1', 'loss', 'precision', 'recall']);

    await engine.handle({ type: 'tag', id: 3, words: ['Dave', 'visited', 'Rome', 'today'] });
    const tags = events.find((e) => e.type === 'tags');
    if (tags?.type !== 'tags') throw new Error('no tags event');
    for (const side of [tags.base, tags.tuned]) {
      expect(side).toHaveLength(4);
      for (const tag of side) expect(read.data.labelNames).toContain(tag);
    }
    await engine.handle({ type: 'export', kind: 'merged' });
    expect(exportedConfig(events).architectures).toEqual(['BertForTokenClassification']);
  });
});
