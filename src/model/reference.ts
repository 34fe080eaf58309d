// The whole model in float64 on the CPU, built from the kernels' float64 references: forward and
// backward as named pairs (llm.c's train_gpt2.c shape), every q, k, v, o, f1, f2 linear factored
// as U·diag(Σ)·Vᵀ. Evaluation mode: no dropout. It is the ground truth the GPU model is tested
// against, and is itself tested against gradients that transformers computed.
import { activationBackward, activationForward } from '../kernels/activation.ref.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ref.ts';
import { add } from '../kernels/elementwise.ref.ts';
import { embeddingForward } from '../kernels/embedding.ref.ts';
import { columnSum, factoredLinearBackward, factoredLinearForward } from '../kernels/factored_linear.ref.ts';
import { layerNormBackward, layerNormForward } from '../kernels/layernorm.ref.ts';
import { mseLoss, softmaxCrossEntropy } from '../kernels/loss.ref.ts';
import { matmul } from '../kernels/matmul.ref.ts';
import { svd } from '../kernels/svd.ref.ts';
import { unreachable } from '../util/unreachable.ts';
import { kernelActivation } from './activation-kind.ts';
import type { LayerLayout, LinearLayout, ModelLayout, ModuleLayout, NormLayout } from './architectures.ts';
import type { ModelConfig } from './config.ts';
import type { ModelWeights } from './weights.ts';
import { positionIds, type ModelBatch } from './batch.ts';

/** Token ids of a padded batch, row-major [batch, seq]. */

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
}

/** Factors every q, k, v, o, f1, f2 weight by thin SVD (Σ descending) and widens all else to float64. */
export function buildReferenceModel(config: ModelConfig, weights: ModelWeights): ReferenceModel {
  const { layout } = weights;
  const get = (key: string): Float64Array => {
    const t = weights.tensors.get(key);
    if (!t) throw new Error(`reference model: no tensor ${key}`);
    return Float64Array.from(t.data);
  };
  checkSupported(layout);
  const moduleKeys = new Set(layout.layers.flatMap((l) => l.modules.flatMap((m) => [m.weight, m.bias])));
  const tensors = new Map<string, Float64Array>();
  for (const key of weights.tensors.keys()) if (!moduleKeys.has(key)) tensors.set(key, get(key));
  const modules = new Map<string, FactoredModule>();
  for (const m of layout.layers.flatMap((l) => l.modules)) {
    const weight = get(m.weight);
    const { u, s, v } = svd(weight, m.dOut, m.dIn);
    modules.set(m.path, { layout: m, weight, u, sigma: s, v, bias: m.bias ? get(m.bias) : null });
  }
  return { config, layout, tensors, modules };
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

/** Refuses, by name, every layout choice the reference cannot compute yet, instead of running it
 * as the BERT family. */
function checkSupported(layout: ModelLayout): void {
  const where = `${layout.modelType} (float64 reference)`;
  for (const n of [layout.embeddings.norm, layout.layers[0]?.attentionNorm].filter((x) => x !== null && x !== undefined)) {
    switch (n!.kind) {
      case 'layernorm':
        break;
      case 'rmsnorm':
        throw new Error(`${where}: RMSNorm is not implemented yet`);
      default:
        unreachable(n!.kind, 'norm kind');
    }
  }
  switch (layout.normPlacement) {
    case 'post':
      break;
    case 'pre':
      throw new Error(`${where}: pre-norm layers are not implemented yet`);
    default:
      unreachable(layout.normPlacement, 'norm placement');
  }
  switch (layout.mlp) {
    case 'plain':
      break;
    case 'gated':
      throw new Error(`${where}: the gated MLP is not implemented yet`);
    default:
      unreachable(layout.mlp, 'MLP shape');
  }
  switch (layout.task.input) {
    case 'first-token':
      break;
    case 'last-token':
    case 'every-token':
      throw new Error(`${where}: a head on the ${layout.task.input} is not implemented yet`);
    default:
      unreachable(layout.task.input, 'head input');
  }
  if (layout.positions === 'rotary') throw new Error(`${where}: rotary positions are not implemented yet`);
  if (layout.kvHeads !== layout.heads || layout.heads * layout.headDim !== layout.hidden) throw new Error(`${where}: grouped or resized attention heads are not implemented yet`);
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

/** dW = gᵀ·x, db = Σ_rows g, dx = g·W. */
function linearBackward(model: ReferenceModel, l: LinearLayout, x: Float64Array, g: Float64Array, n: number, grads: Map<string, Float64Array>): Float64Array {
  grads.set(l.weight, matmul({ a: g, b: x, m: l.dOut, n: l.dIn, k: n, transA: true }));
  if (l.bias) grads.set(l.bias, columnSum({ x: g, rows: n, cols: l.dOut }));
  return matmul({ a: g, b: tensor(model, l.weight), m: n, n: l.dIn, k: l.dOut });
}

// ---- Norm ----

interface NormCache {
  x: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

function normForward(model: ReferenceModel, nl: NormLayout, x: Float64Array, rows: number): { y: Float64Array; cache: NormCache } {
  const { y, mean, rstd } = layerNormForward({ x, gamma: tensor(model, nl.weight), beta: tensor(model, nl.bias!), rows, d: nl.dim, eps: nl.eps });
  return { y, cache: { x, mean, rstd } };
}

function normBackward(model: ReferenceModel, nl: NormLayout, cache: NormCache, dy: Float64Array, rows: number): Float64Array {
  return layerNormBackward({ dy, x: cache.x, gamma: tensor(model, nl.weight), mean: cache.mean, rstd: cache.rstd, rows, d: nl.dim }).dx;
}

// ---- Embeddings (forward only: embeddings are not trained) ----

/** Position ids under the layout's scheme, checked against the position table. */

function embeddingsForward(model: ReferenceModel, batch: ModelBatch): Float64Array {
  const { layout } = model;
  const { word, position, tokenType } = layout.embeddings;
  const rows = batch.batch * batch.seq;
  const lookup = (table: typeof word, ids: Uint32Array, what: string): Float64Array => {
    const bad = ids.findIndex((id) => id >= table.rows);
    if (bad >= 0) throw new Error(`${what} ${ids[bad]} at token ${bad} is outside the table of ${table.rows}`);
    return embeddingForward({ table: tensor(model, table.key), ids, rows, dim: table.dim });
  };
  let x = lookup(word, batch.inputIds, 'token id');
  const positions = positionIds(layout, batch);
  if (position) x = add({ a: x, b: lookup(position, positions, 'position id'), n: x.length });
  if (tokenType) x = add({ a: x, b: lookup(tokenType, batch.tokenTypeIds ?? new Uint32Array(rows), 'token type'), n: x.length });
  return layout.embeddings.norm ? normForward(model, layout.embeddings.norm, x, rows).y : x;
}

// ---- Transformer layer (post-LN): forward / backward ----

interface LayerCache {
  x: Float64Array;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  probs: Float64Array;
  modules: ModuleCache[];
  attentionNorm: NormCache;
  /** f1's output, the activation's input. */
  preActivation: Float64Array;
  ffnNorm: NormCache;
}

function attentionShape(model: ReferenceModel, batch: ModelBatch) {
  const { heads, headDim } = model.layout;
  return { batch: batch.batch, seq: batch.seq, heads, headDim, scale: 1 / Math.sqrt(headDim) };
}

function layerForward(model: ReferenceModel, layer: LayerLayout, x: Float64Array, batch: ModelBatch, mode: LinearMode): { y: Float64Array; cache: LayerCache } {
  const n = batch.batch * batch.seq;
  const [mq, mk, mv, mo, mf1, mf2] = layer.modules.map((m) => model.modules.get(m.path)!);
  const q = moduleForward(mq, x, n, mode);
  const k = moduleForward(mk, x, n, mode);
  const v = moduleForward(mv, x, n, mode);
  const att = attentionForward({ q: q.y, k: k.y, v: v.y, mask: batch.attentionMask, causal: false, ...attentionShape(model, batch) });
  const o = moduleForward(mo, att.out, n, mode);
  const h = normForward(model, layer.attentionNorm, add({ a: o.y, b: x, n: o.y.length }), n);
  const f1 = moduleForward(mf1, h.y, n, mode);
  const act = activationForward({ x: f1.y, n: f1.y.length, kind: kernelActivation(model.layout.activation, model.layout.modelType) });
  const f2 = moduleForward(mf2, act, n, mode);
  const out = normForward(model, layer.ffnNorm, add({ a: f2.y, b: h.y, n: f2.y.length }), n);
  return {
    y: out.y,
    cache: {
      x, q: q.y, k: k.y, v: v.y, probs: att.probs,
      modules: [q, k, v, o, f1, f2].map((r) => r.cache),
      attentionNorm: h.cache, preActivation: f1.y, ffnNorm: out.cache,
    },
  };
}

function layerBackward(model: ReferenceModel, layer: LayerLayout, cache: LayerCache, dy: Float64Array, batch: ModelBatch, grads: Map<string, Float64Array>): Float64Array {
  const n = batch.batch * batch.seq;
  const [mq, mk, mv, mo, mf1, mf2] = layer.modules.map((m) => model.modules.get(m.path)!);
  const [cq, ck, cv, co, cf1, cf2] = cache.modules;
  // out = LN(f2(act(f1(h))) + h): the residual sends dOut straight to h as well.
  const dSum2 = normBackward(model, layer.ffnNorm, cache.ffnNorm, dy, n);
  const dAct = moduleBackward(mf2, cf2, dSum2, n, grads);
  const dPre = activationBackward({ dy: dAct, x: cache.preActivation, n: dAct.length, kind: kernelActivation(model.layout.activation, model.layout.modelType) });
  const dh = add({ a: moduleBackward(mf1, cf1, dPre, n, grads), b: dSum2, n: dSum2.length });
  // h = LN(o(attention(q, k, v)) + x)
  const dSum1 = normBackward(model, layer.attentionNorm, cache.attentionNorm, dh, n);
  const dContext = moduleBackward(mo, co, dSum1, n, grads);
  const { dq, dk, dv } = attentionBackward({ dOut: dContext, q: cache.q, k: cache.k, v: cache.v, probs: cache.probs, ...attentionShape(model, batch) });
  let dx = dSum1;
  for (const [m, c, g] of [[mq, cq, dq], [mk, ck, dk], [mv, cv, dv]] as const) {
    dx = add({ a: dx, b: moduleBackward(m, c, g, n, grads), n: dx.length });
  }
  return dx;
}

// ---- Classification head (first token): forward / backward ----

interface HeadCache {
  /** Each step's input and pre-activation output. */
  inputs: Float64Array[];
  pre: Float64Array[];
}

function firstTokens(x: Float64Array, batch: ModelBatch, hidden: number): Float64Array {
  const out = new Float64Array(batch.batch * hidden);
  for (let b = 0; b < batch.batch; b++) out.set(x.subarray(b * batch.seq * hidden, (b * batch.seq + 1) * hidden), b * hidden);
  return out;
}

function headForward(model: ReferenceModel, pooled: Float64Array, rows: number): { logits: Float64Array; cache: HeadCache } {
  const cache: HeadCache = { inputs: [], pre: [] };
  let x = pooled;
  for (const step of model.layout.head) {
    cache.inputs.push(x);
    const pre = linearForward(model, step.linear, x, rows);
    cache.pre.push(pre);
    x = step.activation ? activationForward({ x: pre, n: pre.length, kind: kernelActivation(step.activation, step.linear.path) }) : pre;
  }
  return { logits: x, cache };
}

function headBackward(model: ReferenceModel, cache: HeadCache, dLogits: Float64Array, rows: number, grads: Map<string, Float64Array>): Float64Array {
  let g = dLogits;
  for (let i = model.layout.head.length - 1; i >= 0; i--) {
    const step = model.layout.head[i];
    if (step.activation) g = activationBackward({ dy: g, x: cache.pre[i], n: g.length, kind: kernelActivation(step.activation, step.linear.path) });
    g = linearBackward(model, step.linear, cache.inputs[i], g, rows, grads);
  }
  return g;
}

// ---- Whole model ----

function encoderForward(model: ReferenceModel, batch: ModelBatch, mode: LinearMode): { hidden: Float64Array; caches: LayerCache[] } {
  let x = embeddingsForward(model, batch);
  const caches: LayerCache[] = [];
  for (const layer of model.layout.layers) {
    const { y, cache } = layerForward(model, layer, x, batch, mode);
    caches.push(cache);
    x = y;
  }
  return { hidden: x, caches };
}

function forward(model: ReferenceModel, batch: ModelBatch, mode: LinearMode) {
  const encoded = encoderForward(model, batch, mode);
  const head = headForward(model, firstTokens(encoded.hidden, batch, model.layout.hidden), batch.batch);
  return { ...encoded, ...head };
}

function loss(model: ReferenceModel, logits: Float64Array, labels: ArrayLike<number>, rows: number): { loss: number; dLogits: Float64Array } {
  if (labels.length !== rows) throw new Error(`${labels.length} labels for a batch of ${rows}`);
  if (model.config.problemType === 'regression') {
    const { loss: value, dPred } = mseLoss({ pred: logits, target: Float64Array.from(labels), rows });
    return { loss: value, dLogits: dPred };
  }
  const classes = model.config.numLabels;
  const ids = Uint32Array.from(labels);
  ids.forEach((id, i) => {
    if (id !== labels[i] || id >= classes) throw new Error(`label ${labels[i]} of row ${i} is not a class id below ${classes}`);
  });
  return softmaxCrossEntropy({ logits, labels: ids, rows, classes });
}

/** Logits [batch, numLabels]. */
export function referenceLogits(model: ReferenceModel, batch: ModelBatch, mode: LinearMode = 'factored'): Float64Array {
  return forward(model, batch, mode).logits;
}

/** Mean loss over the batch (cross-entropy, or MSE for regression) and the logits. */
export function referenceLoss(model: ReferenceModel, batch: ModelBatch, labels: ArrayLike<number>): { loss: number; logits: Float64Array } {
  const { logits } = forward(model, batch, 'factored');
  return { loss: loss(model, logits, labels, batch.batch).loss, logits };
}

/** Also the gradient of every trainable tensor, under its export name (Σ and bias of each module, head tensors). */
export function referenceGradients(
  model: ReferenceModel,
  batch: ModelBatch,
  labels: ArrayLike<number>,
): { loss: number; logits: Float64Array; grads: Map<string, Float64Array> } {
  const { hidden } = model.layout;
  const f = forward(model, batch, 'factored');
  const { loss: value, dLogits } = loss(model, f.logits, labels, batch.batch);
  const grads = new Map<string, Float64Array>();
  const dPooled = headBackward(model, f.cache, dLogits, batch.batch, grads);
  // Only the first token of each row feeds the head.
  let dx: Float64Array = new Float64Array(batch.batch * batch.seq * hidden);
  for (let b = 0; b < batch.batch; b++) dx.set(dPooled.subarray(b * hidden, (b + 1) * hidden), b * batch.seq * hidden);
  for (let i = model.layout.layers.length - 1; i >= 0; i--) {
    dx = layerBackward(model, model.layout.layers[i], f.caches[i], dx, batch, grads);
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
  const h = normForward(model, mlm.norm, activationForward({ x: dense, n: dense.length, kind: kernelActivation(model.layout.activation, model.layout.modelType) }), rows).y;
  const word = model.layout.embeddings.word;
  return matmul({ a: h, b: tensor(model, word.key), m: rows, n: word.rows, k: word.dim, transB: true, bias: tensor(model, mlm.bias) });
}
