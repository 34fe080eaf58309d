// Every trainable tensor (Σ and bias of each factored module, the head's weights and biases)
// lives in ONE flat f32 buffer, so AdamW and the strength are one dispatch each. Each tensor
// starts on a 64-element boundary (so kernels can bind it as a view); the gaps are padding
// pseudo-vectors that are always frozen and never reported.
import { VIEW_ALIGNMENT_ELEMENTS } from '../gpu/tensor.ts';
import type { ModuleKind } from './types.ts';

export interface TrainableSpec {
  /** Export name: `<module path>.sigma`, `<module path>.bias`, or the head tensor's HF name. */
  name: string;
  shape: number[];
  role: 'sigma' | 'bias' | 'head';
  layer?: number;
  module?: ModuleKind;
}

export interface TrainableEntry extends TrainableSpec {
  /** Element offset in the flat buffer (a multiple of 64). */
  offset: number;
  length: number;
  /** Index of this tensor's slot in the per-vector arrays (steps, frozen, strength). */
  slot: number;
}

export interface ParameterLayout {
  entries: TrainableEntry[];
  /** Total elements, padding included. */
  size: number;
  /** Vector slots: real tensors and padding gaps, in buffer order. */
  slotCount: number;
  /** slotCount + 1 prefix offsets: slot s spans [slotOffsets[s], slotOffsets[s + 1]). */
  slotOffsets: Uint32Array;
  /** Slot of every element. */
  vectorIndex: Uint32Array;
  /** 1 for padding slots. */
  paddingSlot: Uint8Array;
}

export function buildParameterLayout(specs: readonly TrainableSpec[]): ParameterLayout {
  const entries: TrainableEntry[] = [];
  const offsets: number[] = [];
  const padding: number[] = [];
  let size = 0;
  for (const spec of specs) {
    const length = spec.shape.reduce((a, b) => a * b, 1);
    entries.push({ ...spec, offset: size, length, slot: offsets.length });
    offsets.push(size);
    padding.push(0);
    const next = Math.ceil((size + length) / VIEW_ALIGNMENT_ELEMENTS) * VIEW_ALIGNMENT_ELEMENTS;
    if (next > size + length) {
      offsets.push(size + length);
      padding.push(1);
    }
    size = next;
  }
  offsets.push(size);
  const slotOffsets = Uint32Array.from(offsets);
  const vectorIndex = new Uint32Array(size);
  for (let s = 0; s + 1 < slotOffsets.length; s++) vectorIndex.fill(s, slotOffsets[s], slotOffsets[s + 1]);
  return { entries, size, slotCount: padding.length, slotOffsets, vectorIndex, paddingSlot: Uint8Array.from(padding) };
}

export function entryByName(layout: ParameterLayout, name: string): TrainableEntry {
  const entry = layout.entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no trainable tensor named ${name}`);
  return entry;
}
