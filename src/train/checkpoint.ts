// A checkpoint is a safetensors file: the flat trainable parameters, their initial values, the
// AdamW moments and per-vector steps, and the AVF state; the step, the run's config and the
// log so far in its metadata. The data position and every dropout seed follow from the step and
// the seed, so a resumed run repeats the uninterrupted run exactly.
import { readSafetensors, writeSafetensors } from '../io/safetensors.ts';
import type { TrainConfig } from './types.ts';
import type { LogRecord, TrainerSnapshot } from './trainer.ts';

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
  return writeSafetensors(
    [f32('params', s.params), f32('initial', s.initial), f32('adam.m', s.m), f32('adam.v', s.v), f64('adam.steps', s.steps), f64('avf.ema', s.avfEma), f64('avf.frozen', s.avfFrozen)],
    {
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
