// What a training run will hold on the GPU, from the model's layout and the batch shape, against
// what the adapter allows. WebGPU tells no device memory size, only how large one buffer and one
// storage binding may be: the total is stated for the user, and a run is refused before loading
// when a tensor the engine binds whole is larger than the adapter allows (a causal LM's logits
// are split into row blocks instead: gpu-lm-head.ts).
import type { GpuLimits } from '../gpu/device.ts';
import { unreachable } from '../util/unreachable.ts';
import type { EmbeddingsLayout, ModelLayout, NormLayout } from './architectures.ts';

export interface MemoryItem {
  what: string;
  bytes: number;
  /** The largest tensor of the item, bound whole by some kernel. */
  largest: { name: string; bytes: number };
  /** Held as row blocks of at most one binding each (a causal LM's logits): never too large. */
  split: boolean;
}

export interface MemoryEstimate {
  items: MemoryItem[];
  total: number;
  /** Tokens per batch (batch × sequence length) the estimate is for. */
  tokens: number;
}

const F32 = 4;

/**
 * The GPU memory of a training step at `batch` × `seq`: frozen weights (embeddings, norms, an
 * untied head), U and V of every factored linear, the trainable vectors five times (parameters,
 * initial values, gradients, AdamW's two moments), the activations kept for the backward and its
 * scratch, and
 * the head's outputs (a causal LM's logits [tokens, vocab]). Activations are counted per layer
 * as gpu-layer.ts allocates them: the norm output, attention output and residuals, q/k/v and the
 * context, the probabilities [batch, heads, seq, seq], the MLP's intermediates, each linear's x·V
 * [tokens, r], and the residual stream between layers; the backward's scratch is one layer's
 * gradients, shared by all.
 */
export function estimateTrainingMemory(layout: ModelLayout, batch: number, seq: number): MemoryEstimate {
  const tokens = batch * seq;
  const H = layout.hidden;
  const item = (what: string, tensors: { name: string; elements: number }[], split = false): MemoryItem => {
    let bytes = 0;
    let largest = { name: '', bytes: 0 };
    for (const t of tensors) {
      bytes += t.elements * F32;
      if (t.elements * F32 > largest.bytes) largest = { name: t.name, bytes: t.elements * F32 };
    }
    return { what, bytes, largest, split };
  };
  const embedding = embeddingMemory(layout.embeddings, batch, tokens);
  const norms = [embedding.norm, layout.finalNorm, ...layout.layers.flatMap((l) => [l.attentionNorm, l.ffnNorm])].filter((n) => n !== null);
  const modules = layout.layers.flatMap((l) => l.modules);
  const lmHead = layout.task.loss === 'causal-lm';
  const frozen = [
    ...embedding.weights,
    ...norms.map((n) => ({ name: n.weight, elements: n.dim * (n.bias ? 2 : 1) })),
    ...(lmHead && !layout.tiedHead ? layout.head.map((h) => ({ name: h.linear.weight, elements: h.linear.dIn * h.linear.dOut })) : []),
  ];
  const factors = modules.flatMap((m) => [
    { name: `${m.path} U`, elements: m.dOut * m.rank },
    { name: `${m.path} V`, elements: m.dIn * m.rank },
  ]);
  // Every Σ and bias, and a classifier's head: an upper bound of what a variant trains.
  let vectors = modules.reduce((n, m) => n + m.rank + (m.bias ? m.dOut : 0), 0);
  if (!lmHead) vectors += layout.head.reduce((n, h) => n + h.linear.dIn * h.linear.dOut + (h.linear.bias ? h.linear.dOut : 0), 0);
  const trainable = ['parameters', 'initial values', 'gradients', 'AdamW m', 'AdamW v'].map((name) => ({ name, elements: vectors }));
  const A = layout.heads * layout.headDim;
  const kv = layout.kvHeads !== layout.heads ? 2 * tokens * layout.kvHeads * layout.headDim : 0;
  const I = layout.intermediate;
  // One entry per tensor (the binding check reads the largest).
  const each = (name: string, count: number, elements: number) => Array.from({ length: count }, (_, i) => ({ name: count > 1 ? `${name} ${i + 1}` : name, elements }));
  const activations = [
    ...each('hidden state', layout.layers.length + 1, tokens * H),
    ...embedding.activations,
    ...layout.layers.flatMap((l) => [
      // Pre-norm keeps the first norm's output, post-norm a second residual: five [tokens, H]
      // either way, and two norms' mean and rstd.
      ...each(`layer ${l.index} norm, attention and MLP outputs, residuals`, 5, tokens * H),
      { name: `layer ${l.index} norm statistics`, elements: 4 * tokens },
      ...each(`layer ${l.index} q, k, v, context`, 4, tokens * A),
      ...each(`layer ${l.index} grouped k, v`, kv ? 2 : 0, kv / 2),
      { name: `layer ${l.index} attention probabilities`, elements: batch * layout.heads * seq * seq },
      ...each(`layer ${l.index} MLP intermediate`, layout.mlp === 'gated' ? 3 : 2, tokens * I),
      ...l.modules.map((m) => ({ name: `layer ${l.index} ${m.kind} x·V`, elements: tokens * m.rank })),
    ]),
  ];
  // The backward reuses one layer's gradient tensors for every layer: the MLP's (and a dropout
  // mask of its width), the attention's, the scores', and a few of the hidden width.
  const scratch = [
    ...each('MLP gradient or dropout scratch', 4, tokens * I),
    ...each('attention gradient (context, q, k, v)', 4, tokens * A),
    { name: 'score gradients', elements: batch * layout.heads * seq * seq },
    ...each('hidden gradient', 3, tokens * H),
  ];
  const outputs = lmHead
    ? [{ name: 'logits [tokens × vocab]', elements: tokens * layout.head[0].linear.dOut }]
    : [{ name: 'head outputs', elements: batch * layout.head.reduce((n, h) => n + h.linear.dOut, 0) }];
  const items = [
    item('frozen weights', frozen),
    item('U and V', factors),
    item('trainable vectors ×5', trainable),
    item('activations', activations),
    item('backward scratch', scratch),
    item(lmHead ? 'logits' : 'head outputs', outputs, lmHead),
  ];
  return { items, total: items.reduce((n, i) => n + i.bytes, 0), tokens };
}

/** The embeddings' frozen tensors, the inputs and intermediates they keep, and their norm. */
function embeddingMemory(embeddings: EmbeddingsLayout, batch: number, tokens: number): { weights: Tensors; activations: Tensors; norm: NormLayout | null } {
  switch (embeddings.kind) {
    case 'tokens': {
      const { word, position, tokenType, norm } = embeddings;
      return {
        weights: [word, position, tokenType].filter((e) => e !== null).map((e) => ({ name: e.key, elements: e.rows * e.dim })),
        activations: [1, 2].map((i) => ({ name: `embedding sum and norm ${i}`, elements: tokens * word.dim })),
        norm,
      };
    }
    case 'patches': {
      const { projection: p, position, channels, image, grid } = embeddings;
      const patches = batch * grid.rows * grid.cols;
      return {
        weights: [{ name: p.weight, elements: p.dIn * p.dOut + p.dOut }, { name: position.key, elements: (position.rows + 1) * position.dim }],
        activations: [
          { name: 'pixel values', elements: batch * channels * image.height * image.width },
          { name: 'unfolded patches', elements: patches * p.dIn },
          { name: 'projected patches', elements: patches * p.dOut },
          { name: 'patch tokens', elements: tokens * p.dOut },
        ],
        norm: null,
      };
    }
    default:
      return unreachable(embeddings, 'embeddings kind');
  }
}

type Tensors = { name: string; elements: number }[];

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}

/** One line: the total, its parts, and the adapter's limits. */
export function describeMemory(estimate: MemoryEstimate, limits: GpuLimits): string {
  const parts = estimate.items.map((i) => `${i.what} ${formatBytes(i.bytes)}`).join(', ');
  return (
    `The run needs about ${formatBytes(estimate.total)} of GPU memory at ${estimate.tokens} tokens per batch (${parts}); ` +
    `the adapter allows ${formatBytes(limits.maxBufferSize)} per buffer and ${formatBytes(limits.maxStorageBufferBindingSize)} per storage binding`
  );
}

export class GpuMemoryError extends Error {
  override name = 'GpuMemoryError';
}

/** Activations grow with the batch: a smaller one may fit where the weights never will. */
const BATCH_SIZED = new Set(['activations', 'backward scratch']);

/** Throws GpuMemoryError naming each tensor larger than one binding (or buffer) and by how much. */
export function assertFitsAdapter(estimate: MemoryEstimate, limits: GpuLimits): void {
  const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const tooLarge = estimate.items.filter((i) => !i.split && i.largest.bytes > limit);
  if (!tooLarge.length) return;
  const problems = tooLarge.map((i) => {
    const over = `${i.largest.name} needs ${formatBytes(i.largest.bytes)} in one binding, ${formatBytes(i.largest.bytes - limit)} more than the adapter's ${formatBytes(limit)}`;
    return BATCH_SIZED.has(i.what) ? `${over} (at ${estimate.tokens} tokens per batch: lower the batch size or max length)` : over;
  });
  throw new GpuMemoryError(`This model does not fit the GPU adapter: ${problems.join('; ')}. ${describeMemory(estimate, limits)}.`);
}
