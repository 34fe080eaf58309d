// QA and NER training against an independent PyTorch implementation
// (bench/torch/token_tasks_reference.py: autograd, torch.optim.AdamW, LambdaLR, its own AVF, its
// own SQuAD post-processing and EM/F1, its own CoNLL chunk F1), on the demo BERT and the CLI's
// fixture files, from the studio's head initialisation and batch order, dropout off so both runs
// are deterministic. The fixtures are that script's --write-trajectory output, made with:
//   node --import ./scripts/register-raw.mjs bench/torch/dump-token-tasks.ts /tmp/parity-qa.json \
//       data=src/cli/fixtures/tiny-qa.json val-fraction=0.25 batch=8 epochs=2 seed=3 dropout=0
//   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/torch/token_tasks_reference.py /tmp/parity-qa.json \
//       --lr 1e-2 --write-trajectory src/train/fixtures/torch-qa-trajectory.json
// (and the same with tiny-ner.conll → torch-ner-trajectory.json).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readTokenTaskDataset } from '../cli/token-task-files.ts';
import { DEMO_MODEL } from '../model/test-folders.ts';
import { testGpu } from '../test/gpu.ts';
import { defaultConfig } from './defaults.ts';
import { Trainer } from './trainer.ts';

interface Trajectory {
  lr: number;
  avf: { start: number; interval: number; count: number; k: number; beta: number };
  losses: number[];
  avf_events: { step: number; frozen: string[]; margin: number }[];
  metrics: Record<string, number>;
}

// The same runs as two accumulated micro-batches of 4 a step: each weighed by its share of the
// step's loss items (rows for QA, tagged tokens for NER), they give PyTorch's batches of 8.
describe.each([
  ['qa', 'tiny-qa.json', 8, 1],
  ['ner', 'tiny-ner.conll', 8, 1],
  ['qa', 'tiny-qa.json', 4, 2],
  ['ner', 'tiny-ner.conll', 4, 2],
] as const)('%s training, batch %i × %i', (task, file, batchSize, gradientAccumulation) => {
  it('repeats an independent PyTorch run step by step: losses, AVF sets and the final metrics (demo BERT, dropout off)', async () => {
    const expected = JSON.parse(readFileSync(join(import.meta.dirname, `fixtures/torch-${task}-trajectory.json`), 'utf8')) as Trajectory;
    const files = await readModelDir(DEMO_MODEL);
    const config = JSON.parse(new TextDecoder().decode(files.files['config.json']));
    Object.assign(config, { hidden_dropout_prob: 0, attention_probs_dropout_prob: 0, classifier_dropout: 0 });
    files.files['config.json'] = new TextEncoder().encode(JSON.stringify(config)).buffer as ArrayBuffer;
    const read = (await readTokenTaskDataset(files, join(import.meta.dirname, '../cli/fixtures', file), { valFraction: 0.25, nerMaxLength: 128 }))!;
    const trainer = await Trainer.create({
      gpu: await testGpu(),
      files,
      dataset: read.dataset,
      config: defaultConfig(read.dataset.train.length, { epochs: 2, batchSize, gradientAccumulation, lr: expected.lr, lrSchedule: 'linear', seed: 3, maxLength: read.maxLength, avf: expected.avf }),
      emit: () => {},
    });
    await trainer.train(() => false);

    const losses = trainer.log.flatMap((r) => (r.type === 'step' ? [r.loss] : []));
    expect(losses).toHaveLength(expected.losses.length);
    // As torch-parity.test.ts: fp32 on both sides with different summation orders and SVDs; a
    // wrong loss, lr, bias correction or frozen set is off by ≥ 1e-3.
    losses.forEach((loss, i) => expect(Math.abs(loss - expected.losses[i]), `step ${i + 1}: ${loss} vs ${expected.losses[i]}`).toBeLessThan(1e-5));
    // The fixture's AVF selections win by ≥ 0.15% of the EMA, far beyond fp32 noise.
    const frozen = new Set<string>();
    const ours = trainer.log.flatMap((r) => {
      if (r.type !== 'avf') return [];
      r.released.forEach((name) => frozen.delete(name));
      r.frozen.forEach((name) => frozen.add(name));
      return [{ step: r.step, frozen: [...frozen].sort() }];
    });
    expect(ours).toEqual(expected.avf_events.map((e) => ({ step: e.step, frozen: [...e.frozen].sort() })));
    // The same answers and tags, scored by two implementations of SQuAD's and seqeval's metrics.
    for (const [name, value] of Object.entries(expected.metrics)) expect(trainer.lastMetrics[name], name).toBeCloseTo(value, 10);
  });
});
