// Generation on the GPU with a KV cache (Llama family): the prompt is prefilled in passes of up to
// `chunk` tokens (all through every layer, causal), each layer appending its K and V to the cache;
// then one token a pass. attention_decode reads the cache, so the training forward's square
// attention (queries = keys) and its activations are not involved: generation keeps its own.
//
// The cache holds K and V per KV head ([capacity, kvHeads·headDim], K after rotary), i.e. before
// the KV broadcast: heads/kvHeads times smaller (3× for SmolLM2, 4× for Llama-3.2-1B), and the
// decode kernel maps query head h to KV head h / (heads/kvHeads) by index, so no broadcast copy
// runs per token.
//
// Base and fine-tuned: the model keeps the trained Σ/biases in `paramsTensor` and their values at
// load time in `initialTensor`, at the same offsets; U, V, norms and embeddings are shared. A
// decoder built for 'base' binds the same views with the buffer swapped to the initial one, so
// both generate from one copy of the weights and nothing is copied when training moves on.
//
// A word table or LM head larger than one binding is read in row chunks (split-table.ts), as the
// training forward reads it.
import { GpuBuffers } from '../gpu/buffers.ts';
import { prefix, createTensor, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { encodePlan, type PlanOp } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { activationForward, gatedForward } from '../kernels/activation.ts';
import { attentionDecode } from '../kernels/attention_decode.ts';
import { add } from '../kernels/elementwise.ts';
import { factoredLinearForward } from '../kernels/factored_linear.ts';
import { createRopeTable, ropeInPlace } from '../kernels/rope.ts';
import { unreachable } from '../util/unreachable.ts';
import { tokenEmbeddings, type ModelLayout } from './architectures.ts';
import type { GpuModel } from './gpu-model.ts';
import type { GenerationMemory } from './memory.ts';
import type { GpuModule, LayerBlock } from './gpu-layer.ts';
import { normForward, type GpuNorm, type NormActivations } from './gpu-norm.ts';
import { gatherRows, onBuffer, tableLogits, type SplitTable } from './split-table.ts';
import type { ModuleKind } from './types.ts';

/** Tokens of one pass when the caller does not say (bounds the scores scratch). */
export const DEFAULT_DECODE_CHUNK = 64;

/** Longest prompt + generation the playground's caches hold (the model's limit if smaller). */
export const PLAYGROUND_CAPACITY = 512;

/** The playground's decoders (worker/generation.ts): base and fine-tuned side by side, each with
 * its own cache; what the memory estimate counts beside a causal LM's training run. */
export function playgroundDecoders(layout: ModelLayout): GenerationMemory {
  return { decoders: 2, capacity: Math.min(PLAYGROUND_CAPACITY, layout.maxSequence), chunk: DEFAULT_DECODE_CHUNK };
}

/** Which trainable values generation reads: the trained ones, or those at load time. */
export type DecodeWeightsChoice = 'tuned' | 'base';

export interface GpuDecoderOptions {
  /** Longest prompt + generation (the cache's rows). */
  capacity: number;
  /** Most tokens run in one pass (a longer prompt is prefilled in chunks): bounds the scores
   * scratch at chunk·heads·capacity. Default min(capacity, DEFAULT_DECODE_CHUNK). */
  chunk?: number;
  weights: DecodeWeightsChoice;
}

interface DecodeLayer {
  block: LayerBlock;
  modules: Map<ModuleKind, GpuModule>;
  k: Tensor;
  v: Tensor;
}

/** One activation set for up to `capacity` new tokens, shared by all layers (they run in turn). */
interface Activations {
  x: Tensor;
  normed: Tensor;
  stats: NormActivations;
  q: Tensor;
  kNew: Tensor;
  vNew: Tensor;
  context: Tensor;
  attentionOut: Tensor;
  sum: Tensor;
  ffnPre: Tensor;
  ffnUp: Tensor;
  ffnAct: Tensor;
  ffnOut: Tensor;
  t: Tensor;
  scores: Tensor;
  last: Tensor;
  lastNormed: Tensor;
  logits: Tensor;
}

interface StepPlan {
  /** Embeddings. */
  head: PlanOp[];
  /** Per layer: up to the new K, V rows (then copied into the cache), and the rest. */
  before: PlanOp[][];
  after: PlanOp[][];
  /** Final norm and LM head on the last row (after it is copied out). */
  tail: PlanOp[];
}

export class GpuDecoder {
  /** Tokens in the cache. */
  private length = 0;
  private readonly device: GPUDevice;
  private readonly layers: DecodeLayer[];
  private readonly word: SplitTable;
  private readonly lmHead: SplitTable;
  private readonly finalNorm: GpuNorm | null;
  private readonly rope: Tensor | null;
  private readonly ids: Tensor;
  private readonly positions: Tensor;
  private readonly start: Tensor;
  private readonly acts: Activations;
  private readonly plans = new Map<number, StepPlan>();
  /** The cache, activations and plans' uniforms (the model's weights are the model's). */
  private readonly buffers: GpuBuffers;
  /** Rows of one pass. */
  private readonly chunk: number;
  /** The ids the cache holds, to check that nextLogits is called on a growing sequence. */
  private cached: number[] = [];

  constructor(readonly model: GpuModel, readonly options: GpuDecoderOptions) {
    const { layout } = model;
    const d = (this.device = model.device);
    this.buffers = new GpuBuffers(d);
    const own = <T>(build: () => T): T => this.buffers.collect(build);
    const cap = options.capacity;
    if (!(Number.isInteger(cap) && cap > 0)) throw new Error(`decoder capacity must be a positive integer, got ${cap}`);
    const rowsMax = (this.chunk = Math.min(options.chunk ?? DEFAULT_DECODE_CHUNK, cap));
    if (!(Number.isInteger(rowsMax) && rowsMax > 0)) throw new Error(`decoder chunk must be a positive integer, got ${options.chunk}`);
    if (layout.task.loss !== 'causal-lm') throw new Error(`${layout.modelType}: generation needs a causal LM, this model's task is ${layout.task.loss}`);
    if (layout.normPlacement !== 'pre') throw new Error(`${layout.modelType}: generation is implemented for pre-norm decoders`);
    const embeddings = tokenEmbeddings(layout, 'generation');
    if (embeddings.norm || embeddings.tokenType) throw new Error(`${layout.modelType}: generation does not implement an embedding norm or token types`);
    if (embeddings.position) throw new Error(`${layout.modelType}: generation is implemented for rotary positions, not a position table`);
    const w = model.decodeWeights();
    // The trained tensors are views into paramsTensor; 'base' reads the same offsets of initialTensor.
    const pick = (t: Tensor): Tensor => (options.weights === 'base' && t.buffer === model.paramsTensor.buffer ? { ...t, buffer: model.initialTensor.buffer } : t);
    const pickTable = (table: SplitTable): SplitTable => (options.weights === 'base' ? onBuffer(table, model.paramsTensor.buffer, model.initialTensor.buffer) : table);
    this.word = pickTable(w.word);
    this.lmHead = pickTable(w.lmHead);
    this.finalNorm = w.finalNorm;
    const { hidden: H, intermediate: I, heads, kvHeads, headDim } = layout;
    const KV = kvHeads * headDim;
    const A = heads * headDim;
    const t = (shape: number[], label: string) => own(() => createTensor(d, shape, 'f32', `decode ${label}`));
    this.layers = w.layers.map((block, l) => ({
      block,
      modules: new Map([...block.modules].map(([kind, m]) => [kind, { ...m, sigma: pick(m.sigma), bias: m.bias && pick(m.bias) }])),
      k: t([cap, KV], `layer ${l} K cache`),
      v: t([cap, KV], `layer ${l} V cache`),
    }));
    const { rotary } = layout;
    const scaling = rotary?.scaling;
    this.rope = rotary && own(() => createRopeTable(d, {
      headDim,
      theta: rotary.theta,
      scaling: scaling ? { type: 'llama3', factor: scaling.factor, lowFreqFactor: scaling.lowFreqFactor, highFreqFactor: scaling.highFreqFactor, originalMaxPositionEmbeddings: scaling.originalMaxPositions } : undefined,
    }, cap));
    this.ids = own(() => createTensor(d, [cap], 'u32', 'decode ids'));
    this.positions = own(() => createTensor(d, [cap], 'u32', 'decode positions'));
    this.start = own(() => createTensor(d, [1], 'u32', 'decode start'));
    const maxRank = Math.max(...layout.layers.flatMap((l) => l.modules.map((m) => m.rank)));
    const vocab = layout.head[0].linear.dOut;
    this.acts = {
      x: t([rowsMax, H], 'x'),
      normed: t([rowsMax, H], 'normed'),
      stats: { mean: t([rowsMax], 'mean'), rstd: t([rowsMax], 'rstd') },
      q: t([rowsMax, A], 'q'),
      kNew: t([rowsMax, KV], 'k'),
      vNew: t([rowsMax, KV], 'v'),
      context: t([rowsMax, A], 'context'),
      attentionOut: t([rowsMax, H], 'attention out'),
      sum: t([rowsMax, H], 'residual'),
      ffnPre: t([rowsMax, I], 'ffn pre'),
      ffnUp: t([rowsMax, I], 'ffn up'),
      ffnAct: t([rowsMax, I], 'ffn act'),
      ffnOut: t([rowsMax, H], 'ffn out'),
      t: t([rowsMax, maxRank], 'x·V'),
      scores: t([rowsMax * heads * cap], 'scores'),
      last: t([1, H], 'last'),
      lastNormed: t([1, H], 'last normed'),
      logits: t([1, vocab], 'logits'),
    };
  }

  /** Tokens in the cache. */
  get cachedTokens(): number {
    return this.length;
  }

  /** Empties the cache (a new prompt). */
  reset(): void {
    this.length = 0;
    this.cached = [];
  }

  /**
   * The logits of the token after `tokens`, for sampling.ts's generate(): the tokens past the
   * cache are run (the whole prompt on the first call, one token after), the earlier ones must be
   * what the cache holds.
   */
  async nextLogits(tokens: readonly number[]): Promise<Float32Array> {
    const n = this.length;
    if (tokens.length <= n || tokens.slice(0, n).some((id, i) => id !== this.cached[i])) {
      throw new Error('nextLogits: the tokens do not extend what the cache holds (reset() for a new prompt)');
    }
    return this.feed(tokens.slice(n));
  }

  /** Runs `ids` at positions length … length + ids.length − 1, appends their K, V to the cache,
   * and returns the logits after the last of them. */
  async feed(ids: readonly number[]): Promise<Float32Array> {
    const { capacity } = this.options;
    if (ids.length === 0) throw new Error('feed: no tokens');
    if (this.length + ids.length > capacity) throw new Error(`the sequence would reach ${this.length + ids.length} tokens; this decoder's cache holds ${capacity}`);
    const bad = ids.find((id) => !(Number.isInteger(id) && id >= 0 && id < this.word.rows));
    if (bad !== undefined) throw new Error(`token id ${bad} is outside the vocabulary (${this.word.rows})`);
    for (let i = 0; i + this.chunk < ids.length; i += this.chunk) this.submit(ids.slice(i, i + this.chunk));
    this.submit(ids.slice(Math.floor((ids.length - 1) / this.chunk) * this.chunk));
    const logits = await readTensor(this.device, this.acts.logits);
    const vocab = this.acts.logits.shape[1];
    if (logits.length !== vocab) throw new Error(`decoder read ${logits.length} logits, expected ${vocab}`);
    return logits;
  }

  /** Encodes and submits one pass of ≤ chunk tokens (the queue orders the passes). */
  private submit(ids: readonly number[]): void {
    const n = ids.length;
    const start = this.length;
    const d = this.device;
    writeTensor(d, this.ids, ids);
    writeTensor(d, this.positions, Array.from({ length: n }, (_, i) => start + i));
    writeTensor(d, this.start, [start]);
    const plan = this.plan(n);
    const KV = this.model.layout.kvHeads * this.model.layout.headDim;
    const H = this.model.layout.hidden;
    const encoder = d.createCommandEncoder();
    encodePlan(encoder, plan.head);
    this.layers.forEach((layer, l) => {
      encodePlan(encoder, plan.before[l]);
      encoder.copyBufferToBuffer(this.acts.kNew.buffer, 0, layer.k.buffer, start * KV * 4, n * KV * 4);
      encoder.copyBufferToBuffer(this.acts.vNew.buffer, 0, layer.v.buffer, start * KV * 4, n * KV * 4);
      encodePlan(encoder, plan.after[l]);
    });
    encoder.copyBufferToBuffer(this.acts.x.buffer, (n - 1) * H * 4, this.acts.last.buffer, 0, H * 4);
    encodePlan(encoder, plan.tail);
    d.queue.submit([encoder.finish()]);
    this.length += n;
    this.cached.push(...ids);
  }

  private plan(n: number): StepPlan {
    let plan = this.plans.get(n);
    if (!plan) this.plans.set(n, (plan = this.buffers.collect(() => this.buildPlan(n))));
    return plan;
  }

  private buildPlan(n: number): StepPlan {
    const d = this.device;
    const { layout } = this.model;
    const { hidden: H, intermediate: I, heads, kvHeads, headDim } = layout;
    const A = heads * headDim;
    const KV = kvHeads * headDim;
    const a = this.acts;
    const rows = (t: Tensor, cols: number) => prefix(t, [n, cols]);
    const head = gatherRows(d, { table: this.word, ids: prefix(this.ids, [n]), out: rows(a.x, H), rows: n });
    const before: PlanOp[][] = [];
    const after: PlanOp[][] = [];
    for (const layer of this.layers) {
      const linear = (kind: ModuleKind, input: Tensor, output: Tensor): PlanOp[] => {
        const m = layer.modules.get(kind);
        if (!m) throw new Error(`layer ${layer.block.layout.index} has no ${kind} linear`);
        const { dIn, dOut, rank } = m.layout;
        return factoredLinearForward(d, {
          x: rows(input, dIn), u: m.u, sigma: m.sigma, v: m.v, bias: m.bias ?? undefined,
          t: rows(a.t, rank), y: rows(output, dOut), n, dIn, dOut, r: rank,
        });
      };
      // x → N(x) → q, k, v (rotary at each token's position); K, V rows then go to the cache.
      const ops: PlanOp[] = [normForward(d, layer.block.attentionNorm, rows(a.x, H), rows(a.normed, H), a.stats, n)];
      ops.push(...linear('q', a.normed, a.q), ...linear('k', a.normed, a.kNew), ...linear('v', a.normed, a.vNew));
      if (this.rope) {
        const shape = { table: this.rope, tokens: n, seq: n, headDim, positions: prefix(this.positions, [n]) };
        ops.push(ropeInPlace(d, { ...shape, heads, data: rows(a.q, A) }), ropeInPlace(d, { ...shape, heads: kvHeads, data: rows(a.kNew, KV) }));
      }
      before.push(ops);
      // attention over the cache, o, residual; N(h) → MLP, residual back into x.
      const rest: PlanOp[] = [...attentionDecode(d, {
        queries: n, heads, kvHeads, headDim, capacity: this.options.capacity, scale: 1 / Math.sqrt(headDim),
        q: rows(a.q, A), kCache: layer.k, vCache: layer.v, start: this.start, scores: prefix(a.scores, [n, heads, this.options.capacity]), out: rows(a.context, A),
      })];
      rest.push(...linear('o', a.context, a.attentionOut));
      rest.push(add(d, { a: rows(a.attentionOut, H), b: rows(a.x, H), out: rows(a.sum, H), n: n * H }));
      rest.push(normForward(d, layer.block.ffnNorm, rows(a.sum, H), rows(a.normed, H), a.stats, n));
      const m = n * I;
      switch (layout.mlp) {
        case 'plain':
          rest.push(...linear('f1', a.normed, a.ffnPre), activationForward(d, { x: prefix(a.ffnPre, [m]), y: prefix(a.ffnAct, [m]), n: m, kind: layout.activation }), ...linear('f2', a.ffnAct, a.ffnOut));
          break;
        case 'gated':
          rest.push(...linear('gate', a.normed, a.ffnPre), ...linear('up', a.normed, a.ffnUp));
          rest.push(gatedForward(d, { gate: prefix(a.ffnPre, [m]), up: prefix(a.ffnUp, [m]), h: prefix(a.ffnAct, [m]), n: m, kind: layout.activation }));
          rest.push(...linear('down', a.ffnAct, a.ffnOut));
          break;
        default:
          unreachable(layout.mlp, 'MLP shape');
      }
      rest.push(add(d, { a: rows(a.ffnOut, H), b: rows(a.sum, H), out: rows(a.x, H), n: n * H }));
      after.push(rest);
    }
    const tail: PlanOp[] = [];
    let last = a.last;
    if (this.finalNorm) {
      tail.push(normForward(d, this.finalNorm, a.last, a.lastNormed, { mean: prefix(a.stats.mean, [1]), rstd: prefix(a.stats.rstd, [1]) }, 1));
      last = a.lastNormed;
    }
    tail.push(...tableLogits(d, { x: last, table: this.lmHead, out: a.logits, m: 1 }));
    return { head, before, after, tail };
  }

  /** Frees the cache, activations and plans (the model's weights stay). */
  destroy(): void {
    this.plans.clear();
    this.buffers.destroy();
  }
}
