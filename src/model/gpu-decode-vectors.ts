// Trained vectors (a run's vectors export: Σ, biases, and the LM head when it was trained) written
// into a freshly loaded model's live parameters, so generation reads the fine-tuned model while
// initialTensor keeps the base. The run's Σ belong to the SVD of the same base weights, which
// loading recomputes (singular values are unique up to rounding; U and V signs do not affect Σ).
import { view, writeTensor } from '../gpu/tensor.ts';
import type { GpuModel } from './gpu-model.ts';

/** Writes every vector into `model.paramsTensor`; a name the model lacks or a wrong length is an
 * error naming `fileName`. Returns how many tensors were written. */
export function applyVectors(model: GpuModel, vectors: ReadonlyMap<string, Float32Array>, fileName: string): number {
  const entries = new Map(model.params.entries.map((e) => [e.name, e]));
  for (const [name, data] of vectors) {
    const entry = entries.get(name);
    if (!entry) {
      const hint = name === model.layout.head[0]?.linear.weight || (model.layout.embeddings.kind === 'tokens' && name === model.layout.embeddings.word.key) ? ' (the LM head: load the model with trainHead)' : '';
      throw new Error(`${fileName}: ${name} is not a trainable tensor of this ${model.layout.modelType} model${hint}; are these vectors from another base model?`);
    }
    if (data.length !== entry.length) throw new Error(`${fileName}: ${name} has ${data.length} values, the model's has ${entry.length}`);
    const bad = data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`${fileName}: ${name}[${bad}] is ${data[bad]}`);
  }
  for (const [name, data] of vectors) {
    const entry = entries.get(name)!;
    writeTensor(model.device, view(model.paramsTensor, entry.offset, entry.shape), data);
  }
  return vectors.size;
}
