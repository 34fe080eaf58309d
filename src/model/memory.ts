// What a training run will hold on the GPU, from the model's layout and the batch shape, against
// what the adapter allows. WebGPU tells no device memory size, only how large one buffer and one
// storage binding may be: the total is stated for the user, and a run is refused before loading
// when a tensor the engine binds whole is larger than the adapter allows. Tensors held in row
// chunks never are (the word table and LM head: split-table.ts; a causal LM's logits:
// gpu-lm-head.ts), unless the smallest chunk, 64 rows, is itself too large.
import type { GpuLimits } from '../gpu/device.ts';
import { relativeChunkRows, relativeScratchSize } from '../kernels/relative_attention.ts';
import { unreachable } from '../util/unreachable.ts';
import type { EmbeddingsLayout, ModelLayout, NormLayout } from './architectures.ts';
import { POSITION_KINDS } from './types.ts';

export interface MemoryItem {
  what: string;
  bytes: number;
  /** The largest tensor of the item bound whole by some kernel (null when every one is split). */
  largest: { name: string; bytes: number } | null;
  /** The largest tensor held in row chunks, and its smallest chunk (64 rows): null when none is. */
  split: { name: string; bytes: number; chunkBytes: number } | null;
}

export interface MemoryEstimate {
  items: MemoryItem[];
  total: number;
  /** Tokens per batch (batch × sequence length) the estimate is for. */
  tokens: number;
}

/** Generation decoders kept beside the training run (the playground's base and fine-tuned ones:
 * gpu-decode.ts), each with its own KV cache of `capacity` tokens and passes of `chunk` tokens. */
export interface GenerationMemory {
  decoders: number;
  capacity: number;
  chunk: number;
}

/** Rows a split tensor's chunks are a multiple of (aligned views: VIEW_ALIGNMENT_ELEMENTS). */
const CHUNK_ROW_MULTIPLE = 64;

interface TensorSize {
  name: string;
  elements: number;
  /** Elements per row of a tensor held in row chunks. */
  splitRow?: number;
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
 * gradients, shared by all. With `generation`, the decoders' KV caches and activations too.
 * Scratch the engine runs in batch chunks (DeBERTa's rel / dRel) is counted for the chunk that
 * fits in `bindingBytes` (the adapter's binding limit; unbounded: one chunk).
 */
export function estimateTrainingMemory(layout: ModelLayout, batch: number, seq: number, generation?: GenerationMemory, bindingBytes = Infinity): MemoryEstimate {
  const tokens = batch * seq;
  const H = layout.hidden;
  const item = (what: string, tensors: TensorSize[]): MemoryItem => {
    let bytes = 0;
    let largest: MemoryItem['largest'] = null;
    let split: MemoryItem['split'] = null;
    for (const t of tensors) {
      const size = t.elements * F32;
      bytes += size;
      if (t.splitRow !== undefined) {
        if (size > (split?.bytes ?? 0)) split = { name: t.name, bytes: size, chunkBytes: Math.min(size, CHUNK_ROW_MULTIPLE * t.splitRow * F32) };
      } else if (size > (largest?.bytes ?? 0)) {
        largest = { name: t.name, bytes: size };
      }
    }
    return { what, bytes, largest, split };
  };
  const embedding = embeddingMemory(layout.embeddings, batch, tokens);
  const relative = relativeTensors(layout, batch, seq, bindingBytes);
  const norms = [embedding.norm, layout.finalNorm, ...layout.layers.flatMap((l) => [l.attentionNorm, l.ffnNorm])].filter((n) => n !== null);
  const modules = layout.layers.flatMap((l) => l.modules);
  const lmHead = layout.task.loss === 'causal-lm';
  const frozen: TensorSize[] = [
    ...embedding.weights,
    ...norms.map((n) => ({ name: n.weight, elements: n.dim * (n.bias ? 2 : 1) })),
    ...(lmHead && !layout.tiedHead ? layout.head.map((h) => ({ name: h.linear.weight, elements: h.linear.dIn * h.linear.dOut, splitRow: h.linear.dIn })) : []),
    ...relative.frozen,
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
      // DeBERTa's pk and pq act on the relative embeddings only (counted with them).
      ...l.modules.filter((m) => !POSITION_KINDS.includes(m.kind)).map((m) => ({ name: `layer ${l.index} ${m.kind} x·V`, elements: tokens * m.rank })),
      ...relative.perLayer(l.index),
    ]),
  ];
  // The backward reuses one layer's gradient tensors for every layer: the MLP's (and a dropout
  // mask of its width), the attention's, the scores', and a few of the hidden width.
  const scratch = [
    ...each('MLP gradient or dropout scratch', 4, tokens * I),
    ...each('attention gradient (context, q, k, v)', 4, tokens * A),
    { name: 'score gradients', elements: batch * layout.heads * seq * seq },
    ...each('hidden gradient', 3, tokens * H),
    ...relative.scratch,
  ];
  // A causal LM's logits are held in blocks of token rows (gpu-lm-head.ts).
  const vocab = layout.head[0].linear.dOut;
  const outputs: TensorSize[] = lmHead
    ? [{ name: 'logits [tokens × vocab]', elements: tokens * vocab, splitRow: vocab }]
    : layout.task.input === 'every-token'
      ? [
          // A span head or token classifier on every token: its logits and the span loss's dLogits
          // (gpu-token-head.ts).
          ...each('head outputs and gradient', 2, tokens * layout.head.reduce((n, h) => n + h.linear.dOut, 0)),
        ]
      : [{ name: 'head outputs', elements: batch * layout.head.reduce((n, h) => n + h.linear.dOut, 0) }];
  const items = [
    item('frozen weights', frozen),
    item('U and V', factors),
    item('trainable vectors ×5', trainable),
    item('activations', activations),
    item('backward scratch', scratch),
    item(lmHead ? 'logits' : 'head outputs', outputs),
  ];
  if (generation && generation.decoders > 0) items.push(item(`generation (${generation.decoders} decoders, ${generation.capacity} tokens each)`, decoderTensors(layout, generation)));
  return { items, total: items.reduce((n, i) => n + i.bytes, 0), tokens };
}

/**
 * What the generation decoders allocate, as gpu-decode.ts does: per layer a K and a V cache of
 * [capacity, kvHeads·headDim] (before the KV broadcast), one set of activations for a pass of
 * `chunk` tokens shared by all layers (the norm's output and statistics, q, the new k and v, the
 * context, the attention and MLP outputs, the residual, the MLP's intermediates, x·V, the scores
 * [chunk, heads, capacity]), the last row and its logits, the ids, positions and rotary table.
 * The weights are the training model's, shared.
 */
function decoderTensors(layout: ModelLayout, { decoders, capacity, chunk: chunkTokens }: GenerationMemory): TensorSize[] {
  const chunk = Math.min(chunkTokens, capacity);
  const { hidden: H, intermediate: I, heads, kvHeads, headDim } = layout;
  const A = heads * headDim;
  const KV = kvHeads * headDim;
  const maxRank = Math.max(...layout.layers.flatMap((l) => l.modules.map((m) => m.rank)));
  const vocab = layout.head[0].linear.dOut;
  return Array.from({ length: decoders }, (_, d) => {
    const at = (name: string) => `decoder ${d + 1} ${name}`;
    return [
      ...layout.layers.flatMap((l) => [
        { name: at(`layer ${l.index} K cache`), elements: capacity * KV },
        { name: at(`layer ${l.index} V cache`), elements: capacity * KV },
      ]),
      { name: at('x, norm, attention and MLP outputs, residual'), elements: 5 * chunk * H },
      { name: at('norm statistics'), elements: 2 * chunk },
      { name: at('q, context'), elements: 2 * chunk * A },
      { name: at('new k, v'), elements: 2 * chunk * KV },
      { name: at('MLP intermediates'), elements: 3 * chunk * I },
      { name: at('x·V'), elements: chunk * maxRank },
      { name: at('attention scores'), elements: chunk * heads * capacity },
      { name: at('last row, logits'), elements: 2 * H + vocab },
      { name: at('ids, positions, rotary table'), elements: 2 * capacity + 1 + (layout.rotary ? capacity * headDim : 0) },
    ];
  }).flat();
}

/** The embeddings' frozen tensors, the inputs and intermediates they keep, and their norm. */
function embeddingMemory(embeddings: EmbeddingsLayout, batch: number, tokens: number): { weights: Tensors; activations: Tensors; norm: NormLayout | null } {
  switch (embeddings.kind) {
    case 'tokens': {
      const { word, position, tokenType, norm } = embeddings;
      return {
        // The word table is held in row chunks (split-table.ts); the others are small.
        weights: [
          { name: word.key, elements: word.rows * word.dim, splitRow: word.dim },
          ...[position, tokenType].filter((e) => e !== null).map((e) => ({ name: e.key, elements: e.rows * e.dim })),
        ],
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

type Tensors = TensorSize[];

/** DeBERTa's relative attention (gpu-relative.ts) at `batch` × `seq`: the relative embeddings
 * (and their normalised copy) and their norm; per layer the projections by c2p's key and p2c's
 * query linears with their x·V; the dropout copy, the terms' rel / dRel for the batch rows that
 * fit in `bindingBytes`, and the backward's projection gradients and g·U, shared. */
export function relativeTensors(layout: ModelLayout, batch: number, seq: number, bindingBytes = Infinity) {
  const attention = layout.attention;
  if (attention.kind !== 'disentangled') return { frozen: [], perLayer: () => [], scratch: [] };
  const { rows, dim, key } = attention.embeddings;
  const shape = { batch, seq, heads: layout.heads, positions: attention.positions };
  const A = layout.heads * layout.headDim;
  const maxRank = Math.max(...layout.layers.flatMap((l) => l.modules.map((m) => m.rank)));
  const rank = (kind: string) => layout.layers[0].modules.find((m) => m.kind === kind)?.rank ?? 0;
  const projections = [attention.keyModule, attention.queryModule].filter((k) => k !== null);
  return {
    frozen: [
      { name: key, elements: rows * dim },
      ...(attention.norm ? [{ name: `${key} (normalised)`, elements: rows * dim }, { name: attention.norm.weight, elements: 2 * dim }] : []),
    ],
    perLayer: (l: number) => projections.flatMap((kind) => [
      { name: `layer ${l} relative embeddings through ${kind}`, elements: rows * A },
      { name: `layer ${l} relative ${kind} x·V`, elements: rows * rank(kind) },
    ]),
    scratch: [
      { name: 'relative embeddings dropout copy', elements: rows * dim },
      // Each term's products of the tokens with the rows the sequence reads, in the forward (rel)
      // and their gradient in the backward (dRel): one [heads, rows, seq, columns] for all
      // layers, both terms and each chunk of the batch, in turn (kernels/relative_attention.ts).
      // Bound whole: refused only when one batch row outgrows a binding.
      { name: 'relative rel / dRel', elements: relativeScratchSize(shape, relativeChunkRows(shape, bindingBytes)) },
      ...projections.map((kind) => ({ name: `relative ${kind} projection gradient`, elements: rows * A })),
      { name: 'relative g·U', elements: rows * maxRank },
    ],
  };
}

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

/** Throws GpuMemoryError naming each tensor larger than one binding (or buffer), or split tensor
 * whose smallest chunk is, and by how much. */
export function assertFitsAdapter(estimate: MemoryEstimate, limits: GpuLimits): void {
  const limit = Math.min(limits.maxBufferSize, limits.maxStorageBufferBindingSize);
  const problems: string[] = [];
  for (const i of estimate.items) {
    const hint = BATCH_SIZED.has(i.what) ? ` (at ${estimate.tokens} tokens per batch: lower the batch size, with gradient accumulation to keep the effective batch, or the max length)` : '';
    if (i.largest && i.largest.bytes > limit) {
      problems.push(`${i.largest.name} needs ${formatBytes(i.largest.bytes)} in one binding, ${formatBytes(i.largest.bytes - limit)} more than the adapter's ${formatBytes(limit)}${hint}`);
    }
    if (i.split && i.split.chunkBytes > limit) {
      problems.push(`${i.split.name} is split into chunks of ${CHUNK_ROW_MULTIPLE} rows or more, and ${CHUNK_ROW_MULTIPLE} rows need ${formatBytes(i.split.chunkBytes)} in one binding, ${formatBytes(i.split.chunkBytes - limit)} more than the adapter's ${formatBytes(limit)}`);
    }
  }
  if (problems.length) throw new GpuMemoryError(`This model does not fit the GPU adapter: ${problems.join('; ')}. ${describeMemory(estimate, limits)}.`);
}
