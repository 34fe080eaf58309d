// Writes what bench/torch/vectorfit_reference.py needs to replay the SST-2 eval outside the
// studio: the token ids our tokenizer gives every SST-2 train and dev row (max length 66), and,
// for each seed asked for, the studio's head initialisation and first-epoch order of the first
// `rows` training rows (2,000 unless told) — so both implementations can start identically.
//   node --import ./scripts/register-raw.mjs bench/torch/dump-inputs.ts OUT.json [seeds=42,1] [rows=2000]
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readDatasetFile, readModelDir } from '../../src/cli/files.ts';
import { epochOrder } from '../../src/train/batches.ts';
import type { TextTokenizer } from '../../src/io/tokenizer.ts';
import { loadModel, textModel } from '../../src/train/load.ts';

const [out, ...rest] = process.argv.slice(2);
if (!out) throw new Error('usage: dump-inputs.ts OUT.json [seeds=42,1] [rows=2000]');
const option = (name: string, fallback: string) => rest.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? fallback;
const seeds = option('seeds', '42').split(',').map(Number);
const rows = Number(option('rows', '2000'));
const shared = join(import.meta.dirname, '../../../shared');
const modelDir = join(shared, 'models/vectorfit-demo-bert-tiny');
const train = await readDatasetFile(join(shared, 'data/glue/SST-2/train.tsv'), {});
const dev = await readDatasetFile(join(shared, 'data/glue/SST-2/dev.tsv'), {}, train);

const studio: Record<string, { pooler: number[]; poolerBias: number[]; classifier: number[]; classifierBias: number[]; order: number[] }> = {};
let tokenizer: TextTokenizer | undefined;
for (const seed of seeds) {
  const loaded = await loadModel(await readModelDir(modelDir), { task: 'classification', labelNames: train.labelNames }, seed);
  tokenizer = textModel(loaded, 'the torch parity inputs').tokenizer;
  const tensor = (key: string) => Array.from(loaded.weights.tensors.get(key)!.data);
  studio[seed] = {
    pooler: tensor('bert.pooler.dense.weight'), poolerBias: tensor('bert.pooler.dense.bias'),
    classifier: tensor('classifier.weight'), classifierBias: tensor('classifier.bias'),
    order: Array.from(epochOrder(rows, seed, 0)),
  };
}
const ids = (examples: readonly { text: string }[]) => examples.map((e) => Array.from(tokenizer!.encodeBatch([e], { maxLength: 66 }).inputIds));
writeFileSync(out, JSON.stringify({
  train: ids(train.examples), trainLabels: train.examples.map((e) => e.label),
  dev: ids(dev.examples), devLabels: dev.examples.map((e) => e.label),
  studio,
}));
console.error(`${out}: ${train.examples.length} train and ${dev.examples.length} dev rows, studio starts for seeds ${seeds.join(', ')}`);
