// A batch as every model path takes it — token ids for a text model, pixel values for an image
// model — and what each position scheme derives from it.
import { unreachable } from '../util/unreachable.ts';
import type { ModelLayout, PatchEmbeddingsLayout } from './architectures.ts';

/** Token ids (what every tokenizer writes; `kind` may be left out). */
export interface TokenBatch {
  kind?: 'tokens';
  batch: number;
  seq: number;
  inputIds: Uint32Array;
  /** 1 keep, 0 padding. */
  attentionMask: Uint32Array;
  /** Absent: all 0. */
  tokenTypeIds?: Uint32Array;
}

/**
 * Images as the image processor writes them: `pixelValues` [batch, channels, height, width]
 * (float32, normalised). `seq` is the model's token count, 1 (CLS) + patches; every token is
 * real, so there is no padding mask.
 */
export interface PixelBatch {
  kind: 'pixels';
  batch: number;
  seq: number;
  pixelValues: Float32Array;
}

export type ModelBatch = TokenBatch | PixelBatch;

/** A batch of `batch` preprocessed images for an image model; the pixel count must be the
 * model's (the processor's size must equal the config's image_size). */
export function pixelBatch(layout: ModelLayout, pixelValues: Float32Array, batch: number): PixelBatch {
  const patches = patchEmbeddings(layout);
  const { channels, image } = patches;
  const per = channels * image.height * image.width;
  if (pixelValues.length !== batch * per) {
    throw new Error(`${batch} image(s) of ${pixelValues.length / batch} pixel values; ${layout.modelType} takes ${channels}×${image.height}×${image.width} = ${per} each (the image processor's size must equal the config's image_size)`);
  }
  return { kind: 'pixels', batch, seq: patches.position.rows, pixelValues };
}

/** The patch embeddings of an image model; a clear error for a text model. */
export function patchEmbeddings(layout: ModelLayout): PatchEmbeddingsLayout {
  const { embeddings } = layout;
  switch (embeddings.kind) {
    case 'patches':
      return embeddings;
    case 'tokens':
      throw new Error(`${layout.modelType} reads tokens, not images`);
    default:
      return unreachable(embeddings, 'embeddings kind');
  }
}

/** The batch as token ids; a clear error for pixel values (`what` names who needs tokens). */
export function tokenBatch(batch: ModelBatch, what: string): TokenBatch {
  switch (batch.kind) {
    case undefined:
    case 'tokens':
      return batch;
    case 'pixels':
      throw new Error(`${what} takes token ids, not pixel values`);
    default:
      return unreachable(batch, 'batch kind');
  }
}

/** 1 for every real token: the tokenizer's mask, or all ones for images (no padding). */
export function attentionMaskOf(batch: ModelBatch): Uint32Array {
  switch (batch.kind) {
    case undefined:
    case 'tokens':
      return batch.attentionMask;
    case 'pixels':
      return new Uint32Array(batch.batch * batch.seq).fill(1);
    default:
      return unreachable(batch, 'batch kind');
  }
}

/** Checks that the batch is what the model reads (token ids for a text model, pixel values of
 * the right size for an image model). */
export function checkBatchKind(layout: ModelLayout, batch: ModelBatch): void {
  const reads = layout.embeddings.kind === 'patches' ? 'pixels' : 'tokens';
  const given = batch.kind ?? 'tokens';
  if (reads !== given) throw new Error(`${layout.modelType} reads ${reads === 'pixels' ? 'pixel values' : 'token ids'}, the batch holds ${given === 'pixels' ? 'pixel values' : 'token ids'}`);
  if (batch.kind === 'pixels') pixelBatch(layout, batch.pixelValues, batch.batch);
}

export function positionIds(layout: ModelLayout, batch: TokenBatch): Uint32Array {
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
  const limit = (layout.embeddings.kind === 'tokens' ? layout.embeddings.position?.rows : undefined) ?? layout.maxSequence;
  if (max >= limit) throw new Error(`sequence length ${seq} needs position ${max}, but the model has ${limit} positions`);
  return ids;
}
