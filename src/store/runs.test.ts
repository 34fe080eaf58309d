import { describe, expect, it } from 'vitest';
import { historyAtCheckpoint, type RunRecord } from './runs.ts';

const step = (n: number) => ({ type: 'step' as const, step: n, totalSteps: 9, epoch: 0, loss: 1 / n, lr: 0.01, stepsPerSecond: 2, tokensPerSecond: 100 });

function record(checkpointStep: number | null): RunRecord {
  return {
    format: 'vectorfit-run-1',
    id: 'run-1',
    name: 'm · d',
    createdAt: 0,
    updatedAt: 0,
    state: 'paused',
    model: { name: 'm', files: ['config.json'] },
    data: { name: 'd', train: 'd', validation: null, columns: {}, validationSource: 'fraction', validationFraction: 0.1 },
    config: {} as RunRecord['config'],
    totalSteps: 9,
    checkpointStep,
    lastStep: step(7),
    losses: [1, 2, 3, 4, 5, 6, 7].map((n) => ({ step: n, loss: 1 / n })),
    evals: [{ step: 3, epoch: 0, metrics: { accuracy: 0.5 } }, { step: 6, epoch: 1, metrics: { accuracy: 0.6 } }],
    avf: [{ step: 2, frozen: [], released: [] }, { step: 5, frozen: [], released: [] }],
    strength: { step: 6, layers: 1, rows: [{ kind: 'sigma', module: 'q' }], values: [0.5], frozen: [0], trainable: [1] },
    spectrum: { step: 7, modules: [], layers: [] },
    bytes: 0,
  };
}

describe('a continued run starts from its checkpoint', () => {
  it('keeps the log up to the checkpoint step and drops what came after it', () => {
    const history = historyAtCheckpoint(record(6));
    expect(history.losses.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(history.evals.map((e) => e.step)).toEqual([3, 6]);
    expect(history.avf.map((e) => e.step)).toEqual([2, 5]);
    expect(history.step).toMatchObject({ step: 6, loss: 1 / 6 });
    expect(history.strength?.values).toEqual(Float32Array.from([0.5]));
    // Saved after the checkpoint: not the checkpoint's.
    expect(history.deltaSpectrum).toBeNull();
  });

  it('starts empty without a checkpoint', () => {
    const history = historyAtCheckpoint(record(null));
    expect(history.losses).toEqual([]);
    expect(history.step).toBeNull();
  });
});
