// The whole model in float64 on the CPU, built from the kernels' float64 references: forward and
// backward as named pairs (llm.c's train_gpt2.c shape) per block — embeddings, layer, head — as
// the GPU model is built, every linear of a layer factored as U·diag(Σ)·Vᵀ. The layout decides
// post- or pre-norm, LayerNorm or RMSNorm, absolute or rotary positions, grouped KV heads, plain
// or gated MLP, and the task's head input and loss. Evaluation mode: no dropout. It is the ground
// truth the GPU model is tested against, and is itself tested against gradients that transformers
// computed.
import { activationBackward, activationForward, gatedBackward, gatedForward } from '../kernels/activation.ref.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ref.ts';
import { add } from '../kernels/elementwise.ref.ts';
import { causalLmLoss } from '../kernels/causal_lm_loss.ref.ts';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.ref.ts';
import { kvBroadcastBackward, kvBroadcastForward } from '../kernels/kv_broadcast.ref.ts';
import { rmsNormBackward, rmsNormForward } from '../kernels/rmsnorm.ref.ts';
import { ropeBackward, ropeForward, ropeTable } from '../kernels/rope.ref.ts';
import { columnSum, factoredLinearBackward, factoredLinearForward } from '../kernels/factored_linear.ref.ts';
import { layerNormBackward, layerNormForward } from '../kernels/layernorm.ref.ts';
import { mseLoss, softmaxCrossEntropy } from '../kernels/loss.ref.ts';
import { matmul } from '../kernels/matmul.ref.ts';
import { patchTokens, unfoldPatches } from '../kernels/patch_embedding.ref.ts';
import { svd } from '../kernels/svd.ref.ts';
import { unreachable } from '../util/unreachable.ts';
import { tokenEmbeddings, type LayerLayout, type LinearLayout, type ModelLayout, type ModuleLayout, type NormLayout, type PatchEmbeddingsLayout, type TokenEmbeddingsLayout } from './architectures.ts';
import type { ModelConfig } from './config.ts';
import type { ModelWeights } from './weights.ts';
import { attentionMaskOf, checkBatchKind, positionIds, tokenBatch, type ModelBatch, type PixelBatch, type TokenBatch } from './batch.ts';
import { headRows } from './task.ts';
import type { ModuleKind } from './types.ts';

export interface FactoredModule {
  layout: ModuleLayout;
  /** The checkpoint's dense weight [dOut, dIn], for the unfactored comparison forward only. */
  weight: Float64Array;
  /** [dOut, r] */
  u: Float64Array;
  /** [r], descending at build time. */
  sigma: Float64Array;
  /** [dIn, r] */
  v: Float64Array;
  /** [dOut], or null where the linear has no bias. */
  bias: Float64Array | null;
}

export interface ReferenceModel {
  config: ModelConfig;
  layout: ModelLayout;
  /** Float64 copies of every tensor except the factored modules' weights and biases (HF names). */
  tensors: Map<string, Float64Array>;
  /** Factored modules by module path. */
  modules: Map<string, FactoredModule>;
  /** Rotary (cos, sin) table [maxSequence, headDim/2, 2] in float64 (rotary positions only). */
  rope: Float64Array | null;
}

/** Factors every linear of every layer by thin SVD (Σ descending) and widens all else to float64. */
export function buildReferenceModel(config: ModelConfig, weights: ModelWeights): ReferenceModel {
  const { layout } = weights;
  const get = (key: string): Float64Array => {
    const t = weights.tensors.get(key);
    if (!t) throw new Error(`reference model: no tensor ${key}`);
    return Float64Array.from(t.data);
  };
  const moduleKeys = new Set(layout.layers.flatMap((l) => l.modules.flatMap((m) => [m.weight, m.bias])));
  const tensors = new Map<string, Float64Array>();
  for (const key of weights.tensors.keys()) if (!moduleKeys.has(key)) tensors.set(key, get(key));
  const modules = new Map<string, FactoredModule>();
  for (const m of layout.layers.flatMap((l) => l.modules)) {
    const weight = get(m.weight);
    const { u, s, v } = svd(weight, m.dOut, m.dIn);
    modules.set(m.path, { layout: m, weight, u, sigma: s, v, bias: m.bias ? get(m.bias) : null });
  }
  const { rotary } = layout;
  const scaling = rotary?.scaling;
  const rope = rotary && ropeTable({
    headDim: layout.headDim,
    theta: rotary.theta,
    scaling: scaling ? { type: 'llama3', factor: scaling.factor, lowFreqFactor: scaling.lowFreqFactor, highFreqFactor: scaling.highFreqFactor, originalMaxPositionEmbeddings: scaling.originalMaxPositions } : undefined,
  }, layout.maxSequence);
  return { config, layout, tensors, modules, rope };
}

/** The live array behind an export name (Σ or bias of a module, or a head tensor): edit it to perturb the model. */
export function parameter(model: ReferenceModel, exportName: string): Float64Array {
  const match = /^(.*)\.(sigma|bias)$/.exec(exportName);
  const module = match ? model.modules.get(match[1]) : undefined;
  if (module && match![2] === 'sigma') return module.sigma;
  if (module?.bias) return module.bias;
  const tensor = model.tensors.get(exportName);
  if (!tensor) throw new Error(`reference model: no parameter ${exportName}`);
  return tensor;
}

function tensor(model: ReferenceModel, key: string): Float64Array {
  const t = model.tensors.get(key);
  if (!t) throw new Error(`reference model: no tensor ${key}`);
  return t;
}

/** 'dense' runs the checkpoint's unfactored weights: the check that factoring changed nothing. */
export type LinearMode = 'factored' | 'dense';

// ---- Factored module: forward / backward ----

interface ModuleCache {
  /** x·V [n, r]: dΣ needs it. */
  t: Float64Array;
}

function moduleForward(m: FactoredModule, x: Float64Array, n: number, mode: LinearMode): { y: Float64Array; cache: ModuleCache } {
  const { dIn, dOut, rank: r } = m.layout;
  if (mode === 'dense') {
    return { y: matmul({ a: x, b: m.weight, m: n, n: dOut, k: dIn, transB: true, bias: m.bias ?? undefined }), cache: { t: new Float64Array(0) } };
  }
  const { t, y } = factoredLinearForward({ x, u: m.u, sigma: m.sigma, v: m.v, bias: m.bias ?? undefined, n, dIn, dOut, r });
  return { y, cache: { t } };
}

function moduleBackward(m: FactoredModule, cache: ModuleCache, g: Float64Array, n: number, grads: Map<string, Float64Array>): Float64Array {
  const { dIn, dOut, rank: r } = m.layout;
  const { dSigma, dBias, dx } = factoredLinearBackward({ g, t: cache.t, u: m.u, sigma: m.sigma, v: m.v, n, dIn, dOut, r });
  grads.set(m.layout.sigmaName, dSigma);
  if (m.layout.biasName) grads.set(m.layout.biasName, dBias);
  return dx;
}

// ---- Plain linear (head): forward / backward ----

function linearForward(model: ReferenceModel, l: LinearLayout, x: Float64Array, n: number): Float64Array {
  return matmul({ a: x, b: tensor(model, l.weight), m: n, n: l.dOut, k: l.dIn, transB: true, bias: l.bias ? tensor(model, l.bias) : undefined });
}

/** dW = gᵀ·x (added to what a tied use already put there), db = Σ_rows g, dx = g·W. */
function linearBackward(model: ReferenceModel, l: LinearLayout, x: Float64Array, g: Float64Array, n: number, grads: Map<string, Float64Array>): Float64Array {
  accumulate(grads, l.weight, matmul({ a: g, b: x, m: l.dOut, n: l.dIn, k: n, transA: true }));
  if (l.bias) grads.set(l.bias, columnSum({ x: g, rows: n, cols: l.dOut }));
  return matmul({ a: g, b: tensor(model, l.weight), m: n, n: l.dIn, k: l.dOut });
}

function accumulate(grads: Map<string, Float64Array>, name: string, g: Float64Array): void {
  const prior = grads.get(name);
  grads.set(name, prior ? add({ a: prior, b: g, n: g.length }) : g);
}

/** Scatter-adds rows of dOut into a zero [tableRows, dim] table (the transpose of a gather). */
function scatterRows(dOut: Float64Array, ids: ArrayLike<number>, tableRows: number, dim: number): Float64Array {
  return embeddingBackward({ dOut, ids: Uint32Array.from(ids), dTable: new Float64Array(tableRows * dim), rows: ids.length, dim });
}

// ---- Norm (LayerNorm or RMSNorm; weights not trained) ----

interface NormCache {
  x: Float64Array;
  /** LayerNorm only. */
  mean: Float64Array;
  rstd: Float64Array;
}

function normForward(model: ReferenceModel, nl: NormLayout, x: Float64Array, rows: number): { y: Float64Array; cache: NormCache } {
  switch (nl.kind) {
    case 'layernorm': {
      const { y, mean, rstd } = layerNormForward({ x, gamma: tensor(model, nl.weight), beta: tensor(model, nl.bias!), rows, d: nl.dim, eps: nl.eps });
      return { y, cache: { x, mean, rstd } };
    }
    case 'rmsnorm': {
      const { y, rstd } = rmsNormForward({ x, weight: tensor(model, nl.weight), rows, d: nl.dim, eps: nl.eps });
      return { y, cache: { x, mean: new Float64Array(0), rstd } };
    }
    default:
      return unreachable(nl.kind, 'norm kind');
  }
}

function normBackward(model: ReferenceModel, nl: NormLayout, cache: NormCache, dy: Float64Array, rows: number): Float64Array {
  switch (nl.kind) {
    case 'layernorm':
      return layerNormBackward({ dy, x: cache.x, gamma: tensor(model, nl.weight), mean: cache.mean, rstd: cache.rstd, rows, d: nl.dim }).dx;
    case 'rmsnorm':
      return rmsNormBackward({ dy, x: cache.x, weight: tensor(model, nl.weight), rstd: cache.rstd, rows, d: nl.dim }).dx;
    default:
      return unreachable(nl.kind, 'norm kind');
  }
}

// ---- Embeddings (not trained, except as a tied LM head) ----

function embeddingsForward(model: ReferenceModel, batch: ModelBatch): Float64Array {
  const { embeddings } = model.layout;
  checkBatchKind(model.layout, batch);
  switch (embeddings.kind) {
    case 'tokens':
      return tokenEmbeddingsForward(model, embeddings, tokenBatch(batch, model.layout.modelType));
    case 'patches':
      if (batch.kind !== 'pixels') throw new Error(`${model.layout.modelType} reads pixel values`);
      return patchEmbeddingsForward(model, embeddings, batch);
    default:
      return unreachable(embeddings, 'embeddings kind');
  }
}

/** ViT: the Conv2d as unfolded patches times its weight, the CLS token first, positions added. */
function patchEmbeddingsForward(model: ReferenceModel, e: PatchEmbeddingsLayout, batch: PixelBatch): Float64Array {
  const { projection } = e;
  const patches = e.grid.rows * e.grid.cols;
  const rows = unfoldPatches({ batch: batch.batch, channels: e.channels, height: e.image.height, width: e.image.width, patch: e.patch, pixels: batch.pixelValues });
  const projected = linearForward(model, projection, rows, batch.batch * patches);
  return patchTokens({ projected, cls: tensor(model, e.cls), position: tensor(model, e.position.key), batch: batch.batch, patches, dim: projection.dOut });
}

function tokenEmbeddingsForward(model: ReferenceModel, embeddings: TokenEmbeddingsLayout, batch: TokenBatch): Float64Array {
  const { layout } = model;
  const { word, position, tokenType } = embeddings;
  const rows = batch.batch * batch.seq;
  const lookup = (table: typeof word, ids: Uint32Array, what: string): Float64Array => {
    const bad = ids.findIndex((id) => id >= table.rows);
    if (bad >= 0) throw new Error(`${what} ${ids[bad]} at token ${bad} is outside the table of ${table.rows}`);
    return embeddingForward({ table: tensor(model, table.key), ids, rows, dim: table.dim });
  };
  let x = lookup(word, batch.inputIds, 'token id');
  // Checked for every scheme: rotary models too have a longest sequence.
  const positions = positionIds(layout, batch);
  if (position) x = add({ a: x, b: lookup(position, positions, 'position id'), n: x.length });
  if (tokenType) x = add({ a: x, b: lookup(tokenType, batch.tokenTypeIds ?? new Uint32Array(rows), 'token type'), n: x.length });
  return embeddings.norm ? normForward(model, embeddings.norm, x, rows).y : x;
}

// ---- Transformer layer: forward / backward ----

interface AttentionCache {
  /** q and k after the rotation, k and v broadcast to every query head: attention's inputs. */
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  probs: Float64Array;
}

interface MlpCache {
  /** plain: f1's output (the activation's input). gated: gate's and up's outputs. */
  pre: Float64Array[];
}

interface LayerCache {
  attention: AttentionCache;
  /** Each linear's cache, by kind. */
  modules: Map<ModuleKind, ModuleCache>;
  attentionNorm: NormCache;
  mlp: MlpCache;
  ffnNorm: NormCache;
}

function attentionShape(model: ReferenceModel, batch: ModelBatch) {
  const { heads, headDim, causal } = model.layout;
  return { batch: batch.batch, seq: batch.seq, heads, headDim, scale: 1 / Math.sqrt(headDim), causal };
}

/** The layer's factored linear of a kind. */
function linearOf(model: ReferenceModel, layer: LayerLayout, kind: ModuleKind): FactoredModule {
  const m = layer.modules.find((x) => x.kind === kind);
  if (!m) throw new Error(`layer ${layer.index} has no ${kind} linear`);
  return model.modules.get(m.path)!;
}

type Run = (kind: ModuleKind, input: Float64Array) => Float64Array;

/** Runs the layer's linears, keeping each one's cache. */
function runner(model: ReferenceModel, layer: LayerLayout, n: number, mode: LinearMode, modules: Map<ModuleKind, ModuleCache>): Run {
  return (kind, input) => {
    const r = moduleForward(linearOf(model, layer, kind), input, n, mode);
    modules.set(kind, r.cache);
    return r.y;
  };
}

type Back = (kind: ModuleKind, g: Float64Array) => Float64Array;

function backer(model: ReferenceModel, layer: LayerLayout, cache: LayerCache, n: number, grads: Map<string, Float64Array>): Back {
  return (kind, g) => moduleBackward(linearOf(model, layer, kind), cache.modules.get(kind)!, g, n, grads);
}

/** Self-attention with its output projection: rotary on q and k where the positions are rotary,
 * KV heads broadcast to their query heads, causal where the model is a decoder. */
function selfAttentionForward(model: ReferenceModel, run: Run, x: Float64Array, batch: ModelBatch): { y: Float64Array; cache: AttentionCache } {
  const { heads, kvHeads, headDim } = model.layout;
  const n = batch.batch * batch.seq;
  let q = run('q', x);
  let k = run('k', x);
  let v = run('v', x);
  if (model.rope) {
    const rope = { table: model.rope, tokens: n, seq: batch.seq, headDim };
    q = ropeForward({ ...rope, x: q, heads });
    k = ropeForward({ ...rope, x: k, heads: kvHeads });
  }
  if (kvHeads !== heads) {
    const shape = { tokens: n, heads, kvHeads, headDim };
    k = kvBroadcastForward({ ...shape, kv: k });
    v = kvBroadcastForward({ ...shape, kv: v });
  }
  const att = attentionForward({ q, k, v, mask: attentionMaskOf(batch), ...attentionShape(model, batch) });
  return { y: run('o', att.out), cache: { q, k, v, probs: att.probs } };
}

/** The gradient of the attention block's input (the sum over q, k and v). */
function selfAttentionBackward(model: ReferenceModel, back: Back, cache: AttentionCache, dy: Float64Array, batch: ModelBatch): Float64Array {
  const { heads, kvHeads, headDim } = model.layout;
  const n = batch.batch * batch.seq;
  const dContext = back('o', dy);
  let { dq, dk, dv } = attentionBackward({ dOut: dContext, q: cache.q, k: cache.k, v: cache.v, probs: cache.probs, ...attentionShape(model, batch) });
  if (kvHeads !== heads) {
    const shape = { tokens: n, heads, kvHeads, headDim };
    dk = kvBroadcastBackward({ ...shape, dOut: dk });
    dv = kvBroadcastBackward({ ...shape, dOut: dv });
  }
  if (model.rope) {
    const rope = { table: model.rope, tokens: n, seq: batch.seq, headDim };
    dq = ropeBackward({ ...rope, dy: dq, heads });
    dk = ropeBackward({ ...rope, dy: dk, heads: kvHeads });
  }
  let dx = back('q', dq);
  dx = add({ a: dx, b: back('k', dk), n: dx.length });
  return add({ a: dx, b: back('v', dv), n: dx.length });
}

function mlpForward(model: ReferenceModel, run: Run, x: Float64Array): { y: Float64Array; cache: MlpCache } {
  const kind = model.layout.activation;
  switch (model.layout.mlp) {
    case 'plain': {
      const pre = run('f1', x);
      return { y: run('f2', activationForward({ x: pre, n: pre.length, kind })), cache: { pre: [pre] } };
    }
    case 'gated': {
      const gate = run('gate', x);
      const up = run('up', x);
      return { y: run('down', gatedForward({ gate, up, n: gate.length, kind })), cache: { pre: [gate, up] } };
    }
    default:
      return unreachable(model.layout.mlp, 'MLP shape');
  }
}

function mlpBackward(model: ReferenceModel, back: Back, cache: MlpCache, dy: Float64Array): Float64Array {
  const kind = model.layout.activation;
  switch (model.layout.mlp) {
    case 'plain': {
      const dAct = back('f2', dy);
      return back('f1', activationBackward({ dy: dAct, x: cache.pre[0], n: dAct.length, kind }));
    }
    case 'gated': {
      const [gate, up] = cache.pre;
      const dh = back('down', dy);
      const { dGate, dUp } = gatedBackward({ dh, gate, up, n: dh.length, kind });
      return add({ a: back('gate', dGate), b: back('up', dUp), n: dh.length });
    }
    default:
      return unreachable(model.layout.mlp, 'MLP shape');
  }
}

function layerForward(model: ReferenceModel, layer: LayerLayout, x: Float64Array, batch: ModelBatch, mode: LinearMode): { y: Float64Array; cache: LayerCache } {
  const n = batch.batch * batch.seq;
  const modules = new Map<ModuleKind, ModuleCache>();
  const run = runner(model, layer, n, mode, modules);
  const placement = model.layout.normPlacement;
  switch (placement) {
    case 'post': {
      // h = N(attn(x) + x), out = N(mlp(h) + h)
      const att = selfAttentionForward(model, run, x, batch);
      const h = normForward(model, layer.attentionNorm, add({ a: att.y, b: x, n: att.y.length }), n);
      const mlp = mlpForward(model, run, h.y);
      const out = normForward(model, layer.ffnNorm, add({ a: mlp.y, b: h.y, n: mlp.y.length }), n);
      return { y: out.y, cache: { attention: att.cache, modules, attentionNorm: h.cache, mlp: mlp.cache, ffnNorm: out.cache } };
    }
    case 'pre': {
      // h = x + attn(N(x)), out = h + mlp(N(h))
      const n1 = normForward(model, layer.attentionNorm, x, n);
      const att = selfAttentionForward(model, run, n1.y, batch);
      const h = add({ a: x, b: att.y, n: x.length });
      const n2 = normForward(model, layer.ffnNorm, h, n);
      const mlp = mlpForward(model, run, n2.y);
      return { y: add({ a: h, b: mlp.y, n: h.length }), cache: { attention: att.cache, modules, attentionNorm: n1.cache, mlp: mlp.cache, ffnNorm: n2.cache } };
    }
    default:
      return unreachable(placement, 'norm placement');
  }
}

function layerBackward(model: ReferenceModel, layer: LayerLayout, cache: LayerCache, dy: Float64Array, batch: ModelBatch, grads: Map<string, Float64Array>): Float64Array {
  const n = batch.batch * batch.seq;
  const back = backer(model, layer, cache, n, grads);
  const placement = model.layout.normPlacement;
  switch (placement) {
    case 'post': {
      // The residuals send each norm's input gradient straight to the block's input as well.
      const dSum2 = normBackward(model, layer.ffnNorm, cache.ffnNorm, dy, n);
      const dh = add({ a: mlpBackward(model, back, cache.mlp, dSum2), b: dSum2, n: dSum2.length });
      const dSum1 = normBackward(model, layer.attentionNorm, cache.attentionNorm, dh, n);
      return add({ a: selfAttentionBackward(model, back, cache.attention, dSum1, batch), b: dSum1, n: dSum1.length });
    }
    case 'pre': {
      const dMlp = normBackward(model, layer.ffnNorm, cache.ffnNorm, mlpBackward(model, back, cache.mlp, dy), n);
      const dh = add({ a: dy, b: dMlp, n: dy.length });
      const dAttention = normBackward(model, layer.attentionNorm, cache.attentionNorm, selfAttentionBackward(model, back, cache.attention, dh, batch), n);
      return add({ a: dh, b: dAttention, n: dh.length });
    }
    default:
      return unreachable(placement, 'norm placement');
  }
}

// ---- Head (the task's rows, its linears, its loss): forward / backward ----

interface HeadCache {
  /** Token rows that feed the head. */
  rows: Uint32Array;
  /** Each step's input and pre-activation output. */
  inputs: Float64Array[];
  pre: Float64Array[];
}

function headForward(model: ReferenceModel, hidden: Float64Array, batch: ModelBatch): { logits: Float64Array; cache: HeadCache } {
  const rows = headRows(model.layout.task, attentionMaskOf(batch), batch.batch, batch.seq);
  const cache: HeadCache = { rows, inputs: [], pre: [] };
  let x = embeddingForward({ table: hidden, ids: rows, rows: rows.length, dim: model.layout.hidden });
  for (const step of model.layout.head) {
    cache.inputs.push(x);
    const pre = linearForward(model, step.linear, x, rows.length);
    cache.pre.push(pre);
    x = step.activation ? activationForward({ x: pre, n: pre.length, kind: step.activation }) : pre;
  }
  return { logits: x, cache };
}

/** The gradient of the last hidden state [B·T, H] (zero on rows the head does not read). */
function headBackward(model: ReferenceModel, cache: HeadCache, dLogits: Float64Array, batch: ModelBatch, grads: Map<string, Float64Array>): Float64Array {
  let g = dLogits;
  for (let i = model.layout.head.length - 1; i >= 0; i--) {
    const step = model.layout.head[i];
    if (step.activation) g = activationBackward({ dy: g, x: cache.pre[i], n: g.length, kind: step.activation });
    g = linearBackward(model, step.linear, cache.inputs[i], g, cache.rows.length, grads);
  }
  return scatterRows(g, cache.rows, batch.batch * batch.seq, model.layout.hidden);
}

function loss(model: ReferenceModel, logits: Float64Array, labels: ArrayLike<number>, batch: ModelBatch): { loss: number; dLogits: Float64Array } {
  const { task } = model.layout;
  const rows = batch.batch;
  switch (task.loss) {
    case 'regression': {
      if (labels.length !== rows) throw new Error(`${labels.length} labels for a batch of ${rows}`);
      const { loss: value, dPred } = mseLoss({ pred: logits, target: Float64Array.from(labels), rows });
      return { loss: value, dLogits: dPred };
    }
    case 'classes': {
      if (labels.length !== rows) throw new Error(`${labels.length} labels for a batch of ${rows}`);
      const classes = model.config.numLabels;
      const ids = Uint32Array.from(labels);
      ids.forEach((id, i) => {
        if (id !== labels[i] || id >= classes) throw new Error(`label ${labels[i]} of row ${i} is not a class id below ${classes}`);
      });
      return softmaxCrossEntropy({ logits, labels: ids, rows, classes });
    }
    case 'causal-lm': {
      const tokens = batch.batch * batch.seq;
      if (labels.length !== tokens) throw new Error(`${labels.length} labels for a batch of ${tokens} tokens`);
      const { loss: value, dLogits } = causalLmLoss({ logits, labels, batch: batch.batch, seq: batch.seq, vocab: model.layout.head[0].linear.dOut });
      return { loss: value, dLogits };
    }
    default:
      return unreachable(task.loss, 'loss');
  }
}

// ---- Whole model ----

function encoderForward(model: ReferenceModel, batch: ModelBatch, mode: LinearMode): { hidden: Float64Array; caches: LayerCache[]; final: NormCache | null } {
  let x = embeddingsForward(model, batch);
  const caches: LayerCache[] = [];
  for (const layer of model.layout.layers) {
    const { y, cache } = layerForward(model, layer, x, batch, mode);
    caches.push(cache);
    x = y;
  }
  const { finalNorm } = model.layout;
  if (!finalNorm) return { hidden: x, caches, final: null };
  const f = normForward(model, finalNorm, x, batch.batch * batch.seq);
  return { hidden: f.y, caches, final: f.cache };
}

function forward(model: ReferenceModel, batch: ModelBatch, mode: LinearMode) {
  const encoded = encoderForward(model, batch, mode);
  return { ...encoded, ...headForward(model, encoded.hidden, batch) };
}

/** Logits: [batch, numLabels] for a classifier, [batch·seq, vocab] for a causal LM. */
export function referenceLogits(model: ReferenceModel, batch: ModelBatch, mode: LinearMode = 'factored'): Float64Array {
  return forward(model, batch, mode).logits;
}

/** Labels follow the task: one per row (class id or target), or for a causal LM one per token
 * (the ids with padding set to −100, unshifted: the loss shifts them). */
export function referenceLoss(model: ReferenceModel, batch: ModelBatch, labels: ArrayLike<number>): { loss: number; logits: Float64Array } {
  const { logits } = forward(model, batch, 'factored');
  return { loss: loss(model, logits, labels, batch).loss, logits };
}

/** Also the gradient of every trainable tensor, under its export name (Σ and the biases of each
 * module, head tensors; a tied LM head's through both its uses, under the embedding's name). */
export function referenceGradients(
  model: ReferenceModel,
  batch: ModelBatch,
  labels: ArrayLike<number>,
): { loss: number; logits: Float64Array; grads: Map<string, Float64Array> } {
  const { layout } = model;
  const n = batch.batch * batch.seq;
  const f = forward(model, batch, 'factored');
  const { loss: value, dLogits } = loss(model, f.logits, labels, batch);
  const grads = new Map<string, Float64Array>();
  let dx = headBackward(model, f.cache, dLogits, batch, grads);
  if (layout.finalNorm) dx = normBackward(model, layout.finalNorm, f.final!, dx, n);
  for (let i = layout.layers.length - 1; i >= 0; i--) dx = layerBackward(model, layout.layers[i], f.caches[i], dx, batch, grads);
  if (layout.tiedHead) {
    // The embedding lookup is the tied matrix's second use (decoders have no embedding norm).
    const word = tokenEmbeddings(layout, 'a tied LM head').word;
    accumulate(grads, word.key, scatterRows(dx, tokenBatch(batch, 'a tied LM head').inputIds, word.rows, word.dim));
  }
  return { loss: value, logits: f.logits, grads };
}

/**
 * Masked-LM logits [batch·seq, vocab]: transform (dense, activation, LayerNorm), then the decoder
 * tied to the word embeddings plus its own bias. Needs weights loaded with `maskedLm: true`.
 */
export function referenceMaskedLm(model: ReferenceModel, batch: ModelBatch): Float64Array {
  const mlm = model.layout.maskedLm;
  if (!mlm) throw new Error(`${model.layout.modelType}: no masked-LM head is described`);
  const rows = batch.batch * batch.seq;
  const { hidden } = encoderForward(model, batch, 'factored');
  const dense = linearForward(model, mlm.dense, hidden, rows);
  const h = normForward(model, mlm.norm, activationForward({ x: dense, n: dense.length, kind: model.layout.activation }), rows).y;
  const word = tokenEmbeddings(model.layout, 'the masked-LM head').word;
  return matmul({ a: h, b: tensor(model, word.key), m: rows, n: word.rows, k: word.dim, transB: true, bias: tensor(model, mlm.bias) });
}
