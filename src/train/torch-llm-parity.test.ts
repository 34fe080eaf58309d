// The causal-LM training loop against an independent PyTorch VectorFit run
// (bench/torch/sst2_causal.py --write-trajectory: its own tokenizer, Llama forward, SVD and
// torch.optim.AdamW) on the demo LLM and the first 64 rows of its SST-2 prompt/completion file:
// Σ of all seven linears trained, constant lr, no AVF, rows in file order, batch 8, 8 steps.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { parseTable } from '../io/dataset.ts';
import { testGpu } from '../test/gpu.ts';
import { epochOrder } from './batches.ts';
import { defaultConfig } from './defaults.ts';
import { causalLmReader } from './load.ts';
import { Trainer } from './trainer.ts';

const DEMO_LLM = join(import.meta.dirname, '../../public/demo-llm');

interface Trajectory {
  rows: number;
  batch: number;
  lr: number;
  losses: number[];
  rows_ids: number[][];
  rows_labels: number[][];
  dev32_loss_before: number;
  dev32_loss_after: number;
  sigma_strength_after: Record<string, number>;
}

async function readRows(file: string, reader: NonNullable<ReturnType<typeof causalLmReader>>) {
  const bytes = await readFile(join(DEMO_LLM, file));
  return reader(await parseTable(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, file), file, 128).examples;
}

async function repeatsTorchRun(batchSize: number, gradientAccumulation?: number) {
  const expected = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/torch-llm-sst2-trajectory.json'), 'utf8')) as Trajectory;
  const files = await readModelDir(DEMO_LLM);
  const reader = causalLmReader(files)!;
  const rows = (await readRows('sst2-causal-train-512.jsonl', reader)).slice(0, expected.rows);
  // Our data path builds exactly the ids and labels the PyTorch script trained on.
  expect(rows.map((r) => Array.from(r.tokens!.inputIds))).toEqual(expected.rows_ids);
  expect(rows.map((r) => Array.from(r.tokens!.labels))).toEqual(expected.rows_labels);
  const dev = (await readRows('sst2-causal-dev-128.jsonl', reader)).slice(0, 32);

  // The script takes the rows in file order; our sampler visits train[order[j]] at position j of
  // the epoch, so placing row j there gives the same batches.
  const seed = 42;
  const order = epochOrder(rows.length, seed, 0);
  const train = new Array<(typeof rows)[number]>(rows.length);
  order.forEach((slot, j) => (train[slot] = rows[j]));

  const trainer = await Trainer.create({
    gpu: await testGpu(),
    files,
    dataset: { task: 'causal-lm', labelNames: [], train, validation: dev, name: 'SST-2 causal' },
    config: defaultConfig(rows.length, { variant: 'sigma', epochs: 1, batchSize, gradientAccumulation, lr: expected.lr, lrSchedule: 'constant', seed, maxLength: 128 }),
    emit: () => {},
  });
  const before = await trainer.evaluate();
  await trainer.train(() => false);

  // fp32 on both sides with different summation orders and SVDs (LAPACK against ours, each from
  // float64): the largest step difference seen was 9.5e-7 (one ulp at 4), the validation losses'
  // 7e-8; a wrong label shift, ignore index, mean or AdamW detail is off by ≥ 1e-3.
  const TOL = 1e-5;
  const losses = trainer.log.flatMap((r) => (r.type === 'step' ? [r.loss] : []));
  expect(losses).toHaveLength(expected.losses.length);
  losses.forEach((loss, i) => expect(Math.abs(loss - expected.losses[i]), `step ${i + 1}: ${loss} vs ${expected.losses[i]}`).toBeLessThan(TOL));

  // Validation: the completion tokens of 32 dev rows, pooled over 4 batches of 8 (the script: one of 32).
  expect(Math.abs(before.loss - expected.dev32_loss_before)).toBeLessThan(1e-6);
  expect(before.perplexity).toBeCloseTo(Math.exp(before.loss), 10);
  const after = trainer.log.find((r) => r.type === 'eval');
  expect(after?.type === 'eval' && Math.abs(after.metrics.loss - expected.dev32_loss_after)).toBeLessThan(1e-6);

  // Mean |Σ − Σ₀| of every linear: ~0.06 after 8 steps at lr 1e-2.
  const strengths = Object.fromEntries((await trainer.sigmaPairs()).map((p) => [p.path, Array.from(p.sigma, (x, i) => Math.abs(x - p.initial[i])).reduce((a, b) => a + b, 0) / p.sigma.length]));
  expect(Object.keys(strengths).sort()).toEqual(Object.keys(expected.sigma_strength_after).sort());
  for (const [path, value] of Object.entries(expected.sigma_strength_after)) expect(Math.abs(strengths[path] - value), path).toBeLessThan(1e-6);
}

it('repeats an independent PyTorch run step by step: ids, labels, losses, validation loss and Σ strengths (demo LLM, SST-2 prompt/completion)', () => repeatsTorchRun(8), 300_000);

// Two micro-batches of 4 rows hold different numbers of completion tokens: weighing each one's
// mean loss by its share of the step's tokens gives the gradient of PyTorch's batch of 8 (a
// plain average of the two means would not: its first loss is off by 0.05).
it('accumulating two micro-batches of 4 repeats the same PyTorch run of batches of 8', () => repeatsTorchRun(4, 2), 300_000);
