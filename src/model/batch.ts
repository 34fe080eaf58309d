// A tokenized batch as every model path takes it, and the position ids each position scheme
// derives from it.
import { unreachable } from '../util/unreachable.ts';
import type { ModelLayout } from './architectures.ts';

export interface ModelBatch {
  batch: number;
  seq: number;
  inputIds: Uint32Array;
  /** 1 keep, 0 padding. */
  attentionMask: Uint32Array;
  /** Absent: all 0. */
  tokenTypeIds?: Uint32Array;
}

export function positionIds(layout: ModelLayout, batch: ModelBatch): Uint32Array {
  const { seq } = batch;
  const ids = new Uint32Array(batch.batch * seq);
  for (let b = 0; b < batch.batch; b++) {
    let count = 0;
    for (let s = 0; s < seq; s++) {
      const i = b * seq + s;
      switch (layout.positions) {
        case 'absolute':
        case 'rotary':
          // Rotary models count pads too (right padding: real tokens keep 0…n−1).
          ids[i] = s;
          break;
        case 'padding-offset': {
          // RoBERTa derives the mask from the ids themselves (create_position_ids_from_input_ids).
          const real = batch.inputIds[i] !== layout.padTokenId;
          if (real) count++;
          ids[i] = real ? count + layout.padTokenId : layout.padTokenId;
          break;
        }
        default:
          unreachable(layout.positions, 'position scheme');
      }
    }
  }
  const max = ids.reduce((a, b) => Math.max(a, b), 0);
  const limit = layout.embeddings.position?.rows ?? layout.maxSequence;
  if (max >= limit) throw new Error(`sequence length ${seq} needs position ${max}, but the model has ${limit} positions`);
  return ids;
}
