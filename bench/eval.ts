// `npm run eval`: fine-tunes the demo BERT on SST-2 with `vectorfit train` and prints dev accuracy,
// steps/s and tokens/s beside the PyTorch reference (../shared/models/vectorfit-demo-bert-tiny).
//   npm run eval            (a) the first 2,000 training rows, 1 epoch: reference 73–75% (74.4%, 73.4%)
//   npm run eval -- full    (b) all 67,349 rows, 1 epoch: reference 79.1% (with AVF)
//   npm run eval -- seed=7  another seed (the default is 42; expect ±1% from seed to seed)
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

const full = process.argv.includes('full');
const seed = process.argv.find((a) => a.startsWith('seed='))?.slice(5) ?? '42';
const rows = full ? 67_349 : 2_000;
const steps = Math.ceil(rows / 32);
const avf = [Math.round(steps / 3), Math.round(steps / 2), 4, 5].join(',');
const args = [
  '--import', './scripts/register-raw.mjs', 'src/cli/main.ts', 'train',
  '--model', model, '--data', join(sst2, 'train.tsv'), '--val', join(sst2, 'dev.tsv'),
  '--epochs', '1', '--batch', '32', '--lr', '1e-2', '--schedule', 'linear', '--max-length', '66',
  '--avf', avf, '--seed', seed, ...(full ? [] : ['--limit', String(rows)]),
];
console.log(`# SST-2 eval (${full ? 'b: full training set' : 'a: first 2,000 rows'}), AVF ${avf}, seed ${seed}`);
const run = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
if (run.status !== 0) process.exit(run.status ?? 1);
const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { steps: number; metrics: Record<string, number>; seconds: number; tokens: number };
const accuracy = 100 * result.metrics.accuracy;
const reference = full ? 79.1 : 74.4;
console.log(`dev accuracy ${accuracy.toFixed(1)}% (PyTorch reference ${reference}%${full ? '' : ', 73.4% on a second seed'}; difference ${(accuracy - reference).toFixed(1)} points)`);
console.log(`${result.steps} steps in ${result.seconds.toFixed(1)} s: ${(result.steps / result.seconds).toFixed(2)} steps/s, ${Math.round(result.tokens / result.seconds)} tokens/s`);
