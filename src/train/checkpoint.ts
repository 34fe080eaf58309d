// A checkpoint is a safetensors file: the flat trainable parameters, their initial values, the
// AdamW moments and per-vector steps, and the AVF state; the step, the run's config and the
// log so far in its metadata. The data position and every dropout seed follow from the step and
// the seed, so a resumed run repeats the uninterrupted run exactly. Early stopping's state rides
// along: the best checkpoint's tensors under `best.*`, its step, metrics and the count of
// evaluations since in the `watch` metadata.
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import type { TrainConfig } from '../worker/protocol.ts';
import type { LogRecord, TrainerSnapshot, WatchState } from './trainer.ts';

const FORMAT = 'vectorfit-checkpoint-1';

export interface Checkpoint {
  snapshot: TrainerSnapshot;
  config: TrainConfig;
  modelName: string;
  datasetName: string;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Uint8Array {
  const { snapshot: s } = checkpoint;
  const f32 = (name: string, data: ArrayLike<number>) => ({ name, dtype: 'F32' as const, shape: [data.length], data });
  const f64 = (name: string, data: ArrayLike<number>) => ({ name, dtype: 'F64' as const, shape: [data.length], data });
  const state = (prefix: string, t: Omit<TrainerSnapshot, 'step' | 'initial' | 'log' | 'watch'>) => [
    f32(`${prefix}params`, t.params), f32(`${prefix}adam.m`, t.m), f32(`${prefix}adam.v`, t.v),
    f64(`${prefix}adam.steps`, t.steps), f64(`${prefix}avf.ema`, t.avfEma), f64(`${prefix}avf.frozen`, t.avfFrozen),
  ];
  const best = s.watch?.best;
  const watch = s.watch && { stale: s.watch.stale, stopped: s.watch.stopped, best: best && { step: best.step, value: best.value, metrics: best.metrics } };
  return writeSafetensors(
    [...state('', s), f32('initial', s.initial), ...(best ? state('best.', best) : [])],
    {
      ...(watch ? { watch: JSON.stringify(watch) } : {}),
      format: FORMAT,
      step: String(s.step),
      config: JSON.stringify(checkpoint.config),
      model: checkpoint.modelName,
      dataset: checkpoint.datasetName,
      log: JSON.stringify(s.log),
    },
  );
}

export function decodeCheckpoint(bytes: Uint8Array | ArrayBuffer, fileName = 'checkpoint.safetensors'): Checkpoint {
  const file = readSafetensors(bytes, fileName);
  if (file.metadata.format !== FORMAT) throw new Error(`${fileName}: not a VectorFit checkpoint (format ${file.metadata.format ?? 'missing'})`);
  const get = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new Error(`${fileName}: the checkpoint lacks ${name}`);
    return t.data;
  };
  const watch = file.metadata.watch ? (JSON.parse(file.metadata.watch) as { stale: number; stopped: boolean; best?: { step: number; value: number | null; metrics: Record<string, number | null> } }) : undefined;
  const watchState: WatchState | undefined = watch && {
    stale: watch.stale,
    stopped: watch.stopped,
    best: watch.best && {
      step: watch.best.step,
      // JSON has no NaN: a metric nobody could measure comes back as null.
      value: watch.best.value ?? NaN,
      metrics: Object.fromEntries(Object.entries(watch.best.metrics).map(([k, v]) => [k, v ?? NaN])),
      params: get('best.params'), m: get('best.adam.m'), v: get('best.adam.v'), steps: get('best.adam.steps'),
      avfEma: get('best.avf.ema'), avfFrozen: get('best.avf.frozen'),
    },
  };
  return {
    snapshot: {
      step: Number(file.metadata.step),
      params: get('params'),
      initial: get('initial'),
      m: get('adam.m'),
      v: get('adam.v'),
      steps: get('adam.steps'),
      avfEma: get('avf.ema'),
      avfFrozen: get('avf.frozen'),
      log: JSON.parse(file.metadata.log) as LogRecord[],
      watch: watchState,
    },
    config: JSON.parse(file.metadata.config) as TrainConfig,
    modelName: file.metadata.model,
    datasetName: file.metadata.dataset,
  };
}

/** Where checkpoints live: OPFS or IndexedDB in the browser, files in Node. */
export interface CheckpointStore {
  save(name: string, bytes: Uint8Array): Promise<void>;
  load(name: string): Promise<Uint8Array | null>;
}
