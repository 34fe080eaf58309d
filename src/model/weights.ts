// Checkpoint tensors → the tensors a model uses (HF names kept), with a missing task head
// initialised as Hugging Face initialises it, and a head of the wrong shape (another number of
// labels, a regression head for classes) re-initialised as `ignore_mismatched_sizes` does.
import { describeModel, type Architecture, type LinearLayout, type ModelLayout, type NormLayout } from './architectures.ts';
import type { ModelConfig } from './config.ts';
import { seededNormal } from '../util/random.ts';
import { unreachable } from '../util/unreachable.ts';

/** What io/ reads from safetensors (structurally: any dtype already widened to float). */
export interface SourceTensor {
  shape: readonly number[];
  data: Float32Array | Float64Array;
}

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export interface ModelWeights {
  layout: ModelLayout;
  /** Every tensor the model uses, under its Hugging Face name. */
  tensors: Map<string, WeightTensor>;
  /** Head tensors absent from the checkpoint and initialised here (the UI says so). */
  initialised: string[];
  /** Head tensors the checkpoint has in another shape, re-initialised here (the UI says so). Optional so
   * that weights built elsewhere (benchmarks' random models) need not say. */
  reinitialised?: { key: string; checkpoint: number[]; model: number[] }[];
}

export class MissingWeightsError extends Error {
  constructor(readonly keys: string[]) {
    super(`the checkpoint lacks ${keys.length} tensor(s) the model needs: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`);
    this.name = 'MissingWeightsError';
  }
}

export interface LoadOptions {
  /** Also load the masked-LM head (cls.predictions.*), which classification ignores. */
  maskedLm?: boolean;
}

/**
 * Picks the tensors the layout names out of a checkpoint. Everything else in the checkpoint
 * (cls.predictions.* unless asked for, an unused pooler, position_ids buffers) is ignored.
 * Head linears the checkpoint lacks get weights ~ normal(0, initializer_range) from `seed`
 * (truncated to [−2, 2] where the architecture's headInit says so: ViT) and zero biases, as
 * Hugging Face's _init_weights does.
 */
export function loadWeights(
  config: ModelConfig,
  arch: Architecture,
  source: ReadonlyMap<string, SourceTensor>,
  seed: number,
  options: LoadOptions = {},
): ModelWeights {
  const layout = describeModel(arch, config);
  const tensors = new Map<string, WeightTensor>();
  const missing: string[] = [];
  const mismatched: string[] = [];

  const take = (key: string, shape: number[]): boolean => {
    const found = lookup(source, key, arch.prefix);
    if (!found) return false;
    if (found.shape.length !== shape.length || found.shape.some((d, i) => d !== shape[i])) {
      mismatched.push(`${key} is [${found.shape.join(', ')}], expected [${shape.join(', ')}]`);
    } else {
      tensors.set(key, { shape, data: found.data instanceof Float32Array ? found.data : Float32Array.from(found.data) });
    }
    return true;
  };
  const need = (key: string, shape: number[]): void => {
    if (!take(key, shape)) missing.push(key);
  };
  const needLinear = (l: LinearLayout): void => {
    need(l.weight, [l.dOut, l.dIn]);
    if (l.bias) need(l.bias, [l.dOut]);
  };
  const needNorm = (n: NormLayout | null): void => {
    if (!n) return;
    need(n.weight, [n.dim]);
    if (n.bias) need(n.bias, [n.dim]);
  };

  const { embeddings } = layout;
  switch (embeddings.kind) {
    case 'tokens':
      for (const table of [embeddings.word, embeddings.position, embeddings.tokenType]) {
        if (table) need(table.key, [table.rows, table.dim]);
      }
      needNorm(embeddings.norm);
      break;
    case 'patches': {
      // Hugging Face's shapes: the Conv2d [hidden, C, p, p] and the raw [1, …, hidden] parameters.
      const { projection, channels, patch, cls, position } = embeddings;
      need(projection.weight, [projection.dOut, channels, patch, patch]);
      need(projection.bias!, [projection.dOut]);
      need(cls, [1, 1, config.hidden]);
      need(position.key, [1, position.rows, position.dim]);
      break;
    }
    default:
      unreachable(embeddings, 'embeddings kind');
  }
  for (const layer of layout.layers) {
    layer.modules.forEach(needLinear);
    needNorm(layer.attentionNorm);
    needNorm(layer.ffnNorm);
  }
  needNorm(layout.finalNorm);
  if (options.maskedLm) {
    if (!layout.maskedLm) throw new Error(`${arch.modelType}: no masked-LM head is described for this architecture`);
    needLinear(layout.maskedLm.dense);
    needNorm(layout.maskedLm.norm);
    need(layout.maskedLm.bias, [config.vocabSize]);
  }

  const initialised: string[] = [];
  const reinitialised: NonNullable<ModelWeights['reinitialised']> = [];
  /** Takes a head tensor of the right shape; one of another shape is left to be re-initialised. */
  const takeHead = (key: string, shape: number[]): boolean => {
    const found = lookup(source, key, arch.prefix);
    if (found && (found.shape.length !== shape.length || found.shape.some((d, i) => d !== shape[i]))) {
      reinitialised.push({ key, checkpoint: [...found.shape], model: shape });
      return false;
    }
    return take(key, shape);
  };
  const normal = seededNormal(seed);
  // torch's trunc_normal_(std=r) redraws values outside [−2, 2] (absolute bounds, not in σ).
  const truncated = () => {
    for (;;) {
      const x = normal() * config.initializerRange;
      if (Math.abs(x) <= 2) return x;
    }
  };
  const draw = (): number => {
    switch (arch.headInit) {
      case 'normal':
        return normal() * config.initializerRange;
      case 'truncated-normal':
        return truncated();
      default:
        return unreachable(arch.headInit, 'head initialisation');
    }
  };
  for (const { linear } of layout.head) {
    // A tied LM head is the word embedding matrix, already taken above.
    const hasWeight = tensors.has(linear.weight) || takeHead(linear.weight, [linear.dOut, linear.dIn]);
    const hasBias = linear.bias === null || takeHead(linear.bias, [linear.dOut]);
    if (!hasWeight) {
      const data = new Float32Array(linear.dOut * linear.dIn);
      for (let i = 0; i < data.length; i++) data[i] = draw();
      tensors.set(linear.weight, { shape: [linear.dOut, linear.dIn], data });
      if (!reinitialised.some((r) => r.key === linear.weight)) initialised.push(linear.weight);
    }
    if (!hasBias) {
      tensors.set(linear.bias!, { shape: [linear.dOut], data: new Float32Array(linear.dOut) });
      if (!reinitialised.some((r) => r.key === linear.bias)) initialised.push(linear.bias!);
    }
  }

  if (mismatched.length) throw new Error(`checkpoint tensors have the wrong shape: ${mismatched.join('; ')}`);
  if (missing.length) throw new MissingWeightsError(missing);
  return { layout, tensors, initialised, reinitialised };
}

/**
 * The checkpoint's tensor for an HF name, accepting what Hugging Face accepts on load: keys
 * without the base-model prefix (a bare BertModel checkpoint) and the old LayerNorm names
 * gamma/beta for weight/bias.
 */
/**
 * The one visible line for a re-initialised head, e.g. "Head re-initialised: the checkpoint's
 * classifier has 3 labels, the dataset 2 (classifier.weight [3, 32] → [2, 32], classifier.bias
 * [3] → [2]), as Hugging Face does with ignore_mismatched_sizes." Undefined when the head was kept.
 */
export function headNote(weights: Pick<ModelWeights, 'reinitialised'>, checkpoint: { numLabels: number; regression: boolean }, dataset: { numLabels: number; regression: boolean }): string | undefined {
  if (!weights.reinitialised?.length) return undefined;
  const head = (h: { numLabels: number; regression: boolean }) => (h.regression ? 'a regression head (1 output)' : `${h.numLabels} label${h.numLabels === 1 ? '' : 's'}`);
  const shapes = weights.reinitialised.map((r) => `${r.key} [${r.checkpoint.join(', ')}] → [${r.model.join(', ')}]`).join(', ');
  return `Head re-initialised: the checkpoint's classifier has ${head(checkpoint)}, the dataset ${dataset.regression ? 'is regression (1 output)' : `has ${dataset.numLabels} classes`} (${shapes}), as Hugging Face does with ignore_mismatched_sizes.`;
}

function lookup(source: ReadonlyMap<string, SourceTensor>, key: string, prefix: string): SourceTensor | undefined {
  const bare = key.startsWith(`${prefix}.`) ? key.slice(prefix.length + 1) : null;
  const legacy = key.replace(/\.weight$/, '.gamma').replace(/\.bias$/, '.beta');
  const isNorm = /norm\.(weight|bias)$/i.test(key);
  const candidates = [key, bare, isNorm ? legacy : null, bare && isNorm ? legacy.slice(prefix.length + 1) : null];
  for (const name of candidates) {
    const found = name === null ? undefined : source.get(name);
    if (found) return found;
  }
  return undefined;
}
