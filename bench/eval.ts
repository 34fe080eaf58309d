// `npm run eval`: fine-tunes the demo BERT on SST-2 with `vectorfit train` and prints dev accuracy,
// steps/s and tokens/s beside the PyTorch reference (../shared/models/vectorfit-demo-bert-tiny).
//   npm run eval                     (a) the first 2,000 training rows, 1 epoch (reference 74.4%, 73.4%)
//   npm run eval -- full             (b) all 67,349 rows, 1 epoch (reference 79.1%)
//   npm run eval -- seeds=1,2,3      several seeds, then their mean and spread (default: 42)
//   npm run eval -- variant=head lr=1e-3   another row of the reference's table
// Settings as the reference run: batch 32, lr 1e-2 with linear decay, AdamW (0.9, 0.999, 1e-8),
// max length 66, AVF k 5 with t_i a third of the steps, t_f half an epoch, n_f 4.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const shared = join(root, '..', 'shared');
const model = existsSync(join(shared, 'models/vectorfit-demo-bert-tiny')) ? join(shared, 'models/vectorfit-demo-bert-tiny') : join(root, 'public/demo/model');
const sst2 = join(shared, 'data/glue/SST-2');
if (!existsSync(sst2)) throw new Error(`SST-2 not found at ${sst2}`);

const option = (name: string, fallback: string) => process.argv.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1) ?? fallback;
const full = process.argv.includes('full');
const seeds = option('seeds', option('seed', '42')).split(',');
const variant = option('variant', 'vectorfit');
const lr = option('lr', '1e-2');
const rows = full ? 67_349 : 2_000;
const steps = Math.ceil(rows / 32);
const avf = [Math.round(steps / 3), Math.round(steps / 2), 4, 5].join(',');

// The reference's dev accuracies (one seed each unless listed), by run, variant and lr.
const REFERENCE: Record<string, number[]> = {
  'a vectorfit 1e-2': [74.4, 73.4],
  'a no-avf 1e-2': [74.7],
  'a head 1e-3': [73.5],
  'b vectorfit 1e-2': [79.1],
  'b no-avf 1e-2': [79.6],
  'b vectorfit 3e-3': [78.4],
  'b vectorfit 1e-3': [76.4],
  'b head 1e-3': [73.7],
};
const reference = REFERENCE[`${full ? 'b' : 'a'} ${variant} ${Number(lr).toExponential()}`];

console.log(`# SST-2 eval (${full ? 'b: full training set' : 'a: first 2,000 rows'}), variant ${variant}, lr ${lr}, AVF ${avf}`);
const accuracies: number[] = [];
for (const seed of seeds) {
  const args = [
    '--import', './scripts/register-raw.mjs', 'src/cli/main.ts', 'train',
    '--model', model, '--data', join(sst2, 'train.tsv'), '--val', join(sst2, 'dev.tsv'),
    '--epochs', '1', '--batch', '32', '--lr', lr, '--schedule', 'linear', '--max-length', '66',
    '--avf', avf, '--variant', variant, '--seed', seed, ...(full ? [] : ['--limit', String(rows)]),
  ];
  const run = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
  if (run.status !== 0) process.exit(run.status ?? 1);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { steps: number; metrics: Record<string, number>; seconds: number; tokens: number };
  const accuracy = 100 * result.metrics.accuracy;
  accuracies.push(accuracy);
  console.log(
    `seed ${seed}: dev accuracy ${accuracy.toFixed(1)}%; ${result.steps} steps in ${result.seconds.toFixed(1)} s: ` +
      `${(result.steps / result.seconds).toFixed(2)} steps/s, ${Math.round(result.tokens / result.seconds)} tokens/s`,
  );
}
const mean = accuracies.reduce((a, b) => a + b, 0) / accuracies.length;
const spread = Math.sqrt(accuracies.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, accuracies.length - 1));
const ours = accuracies.length > 1 ? `mean ${mean.toFixed(2)}% (sd ${spread.toFixed(2)}, ${accuracies.length} seeds)` : `${mean.toFixed(1)}%`;
if (reference) {
  const refMean = reference.reduce((a, b) => a + b, 0) / reference.length;
  console.log(`dev accuracy ${ours}; PyTorch reference ${reference.join('%, ')}%: difference ${(mean - refMean).toFixed(1)} points`);
} else {
  console.log(`dev accuracy ${ours}; the reference has no row for this variant and lr`);
}
