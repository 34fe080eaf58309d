// Writes what bench/torch/token_tasks_reference.py needs to replay a `vectorfit train` QA or NER
// run outside the studio: the training and validation rows exactly as the CLI builds them (token
// ids, token types, labels: a window's start and end, or per-token tags with −100), the
// validation questions (context, gold answers) and each window's offsets, the studio's head
// initialisation for the seed, each epoch's batch order and the AVF settings the CLI would use.
//   node --import ./scripts/register-raw.mjs bench/torch/dump-token-tasks.ts OUT.json data=FILE [val=FILE | val-fraction=F] \
//        [limit=N] [max-length=N] [stride=N] [batch=N] [epochs=N] [seed=N] [dropout=0]
// dropout=0 dumps the rows of a run whose config has every dropout rate 0 (then deterministic on
// both sides: src/train/torch-token-parity.test.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readModelDir } from '../../src/cli/files.ts';
import { readTokenTaskDataset } from '../../src/cli/token-task-files.ts';
import { epochOrder } from '../../src/train/batches.ts';
import { defaultAvf, defaultConfig, stepsPerEpoch } from '../../src/train/defaults.ts';
import { loadModel } from '../../src/train/load.ts';

const [out, ...rest] = process.argv.slice(2);
const option = (name: string, fallback?: string) => rest.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? fallback;
const number = (name: string) => (option(name) === undefined ? undefined : Number(option(name)));
if (!out || !option('data')) throw new Error('usage: dump-token-tasks.ts OUT.json data=FILE [val=FILE | val-fraction=F] [limit=N] [max-length=N] [stride=N] [batch=N] [epochs=N] [seed=N] [dropout=0]');
const modelDir = join(import.meta.dirname, '../../../shared/models/vectorfit-demo-bert-tiny');
const model = await readModelDir(modelDir);
if (option('dropout') === '0') model.files['config.json'] = withoutDropout(model.files['config.json']);
/** config.json with every dropout rate 0. */
function withoutDropout(bytes: ArrayBuffer): ArrayBuffer {
  const config = JSON.parse(new TextDecoder().decode(bytes));
  Object.assign(config, { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 });
  return new TextEncoder().encode(JSON.stringify(config)).buffer as ArrayBuffer;
}

const read = await readTokenTaskDataset(model, option('data')!, {
  val: option('val'), valFraction: number('val-fraction'), limit: number('limit'), maxLength: number('max-length'), nerMaxLength: defaultConfig(1).maxLength, stride: number('stride'),
});
if (!read) throw new Error(`${option('data')}: not QA or NER data`);
const { dataset } = read;
const seed = number('seed') ?? 0;
const given = { batchSize: number('batch'), epochs: number('epochs'), seed };
const config = defaultConfig(dataset.train.length, Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)));
const epochSteps = stepsPerEpoch(dataset.train.length, config.batchSize);
const avf = defaultAvf(config.epochs * epochSteps, epochSteps);
const loaded = await loadModel(model, dataset, seed);
const head = loaded.weights.layout.head[0].linear;
const rows = (examples: typeof dataset.train) => examples.map((e) => ({ ids: e.tokens!.inputIds, types: e.tokens!.tokenTypeIds, labels: e.tokens!.labels }));
writeFileSync(out, JSON.stringify({
  task: dataset.task,
  labelNames: dataset.labelNames,
  train: rows(dataset.train),
  validation: rows(dataset.validation),
  qa: dataset.qa && {
    version: dataset.qa.version,
    questions: dataset.qa.questions.map((q) => ({ id: q.id, context: q.context, answers: q.answers.text })),
    windows: dataset.qa.windows,
  },
  head: { weight: Array.from(loaded.weights.tensors.get(head.weight)!.data), bias: Array.from(loaded.weights.tensors.get(head.bias!)!.data), shape: [head.dOut, head.dIn] },
  dropout: loaded.config.dropout,
  batch: config.batchSize,
  epochs: config.epochs,
  orders: Array.from({ length: config.epochs }, (_, epoch) => Array.from(epochOrder(dataset.train.length, seed, epoch))),
  avf: { start: avf.start, interval: avf.interval, count: avf.count, k: avf.k, beta: avf.beta },
}));
console.error(`${out}: ${read.line}; ${config.epochs} epoch(s) of ${epochSteps} steps, AVF ${JSON.stringify(avf)}`);
