// The whole training loop against an independent PyTorch implementation of VectorFit
// (bench/torch/vectorfit_reference.py: autograd, torch.optim.AdamW, LambdaLR, its own AVF), on
// the demo BERT and the first 192 SST-2 rows, from the studio's head initialisation and batch
// order for seed 42, dropout off so both runs are deterministic. The fixture is that script's
// --write-trajectory output (its header says how to regenerate it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { readDatasetFile, readModelDir } from '../cli/files.ts';
import { DEMO_MODEL, SHARED } from '../model/test-folders.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from './defaults.ts';
import { Trainer } from './trainer.ts';

interface Trajectory {
  seed: number;
  rows: number;
  lr: number;
  avf: [number, number, number, number];
  losses: number[];
  avf_events: { step: number; frozen: string[]; margin: number }[];
}

it('repeats an independent PyTorch run step by step: losses and AVF sets (demo BERT, SST-2, dropout off)', async () => {
  const expected = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures/torch-sst2-trajectory.json'), 'utf8')) as Trajectory;
  const files = await readModelDir(DEMO_MODEL);
  const config = JSON.parse(new TextDecoder().decode(files.files['config.json']));
  Object.assign(config, { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 });
  files.files['config.json'] = new TextEncoder().encode(JSON.stringify(config)).buffer as ArrayBuffer;
  const data = await readDatasetFile(join(SHARED, 'data/glue/SST-2/train.tsv'), {});
  const [start, interval, count, k] = expected.avf;
  const trainer = await Trainer.create({
    gpu: await testGpu(),
    files,
    dataset: { task: 'classification', labelNames: data.labelNames, train: data.examples.slice(0, expected.rows), validation: [], name: 'SST-2' },
    config: defaultConfig(expected.rows, {
      epochs: 1, batchSize: 32, lr: expected.lr, lrSchedule: 'linear', seed: expected.seed, maxLength: 66,
      avf: { start, interval, count, k, beta: 0.99 },
    }),
    emit: () => {},
  });
  await trainer.train(() => false);

  const losses = trainer.log.flatMap((r) => (r.type === 'step' ? [r.loss] : []));
  expect(losses).toHaveLength(expected.losses.length);
  // Both sides are fp32 with different summation orders and SVDs (LAPACK against our Jacobi,
  // each rounded from float64): over the 63 steps of the eval the largest difference seen was
  // 6e-7, so 1e-5 leaves a margin; a wrong lr, bias correction or frozen set is off by ≥ 1e-3.
  losses.forEach((loss, i) => expect(Math.abs(loss - expected.losses[i]), `step ${i + 1}: ${loss} vs ${expected.losses[i]}`).toBeLessThan(1e-5));

  // Frozen sets: the fixture's selections win by ≥ 0.3% of the EMA, far beyond fp32 noise.
  const frozen = new Set<string>();
  const ours = trainer.log.flatMap((r) => {
    if (r.type !== 'avf') return [];
    r.released.forEach((name) => frozen.delete(name));
    r.frozen.forEach((name) => frozen.add(name));
    return [{ step: r.step, frozen: [...frozen].sort() }];
  });
  expect(ours).toEqual(expected.avf_events.map((e) => ({ step: e.step, frozen: [...e.frozen].sort() })));
});
