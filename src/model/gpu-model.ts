// The factored model on the GPU: weights factored once by SVD, every trainable tensor (Σ, biases,
// head) a view into one flat buffer, and per-shape plans of the forward, the loss and the
// backward (gradients of Σ, biases and head only) built from the kernel wrappers.
import { prefix, createTensor, uploadTensor, view, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { submitPlan, type PlanOp } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import { activationBackward, activationForward } from '../kernels/activation.ts';
import { attentionBackward, attentionForward } from '../kernels/attention.ts';
import { dropoutBackward, dropoutForward } from '../kernels/dropout.ts';
import { add } from '../kernels/elementwise.ts';
import { embeddingBackward, embeddingForward } from '../kernels/embedding.ts';
import { columnSum, factoredLinearBackward, factoredLinearForward } from '../kernels/factored_linear.ts';
import { layerNormBackward, layerNormForward } from '../kernels/layernorm.ts';
import { mseLoss, softmaxCrossEntropy } from '../kernels/loss.ts';
import { matmul } from '../kernels/matmul.ts';
import { svd, svdReport, type SvdReport } from '../kernels/svd.ts';
import { svd as svdRef } from '../kernels/svd.ref.ts';
import type { ModuleKind } from '../worker/protocol.ts';
import type { LinearLayout, ModelLayout, ModuleLayout, NormLayout } from './architectures.ts';
import { positionIds, type ModelBatch } from './batch.ts';
import { buildParameterLayout, entryByName, type ParameterLayout, type TrainableSpec } from './parameter-layout.ts';
import type { ModelWeights } from './weights.ts';

export interface DropoutRates {
  hidden: number;
  attention: number;
  classifier: number;
}

export interface GpuModelOptions {
  maxBatch: number;
  maxSeq: number;
  task: 'classification' | 'regression';
  /** Vectors that get gradients at all (the variant's trainable set); the head always does. */
  trains: (kind: 'sigma' | 'bias', module: ModuleKind) => boolean;
  /** Where to run the SVD: the GPU, or float64 on the CPU. On a software adapter the GPU is
   * the CPU emulating one, and the float64 Jacobi is ~40× faster than the WGSL one there. */
  factorOn: 'gpu' | 'cpu';
  /** Called after each matrix is factored (progress for the UI). */
  onFactored?: (done: number, total: number, path: string, report: SvdReport) => void;
}

interface GpuNorm {
  gamma: Tensor;
  beta: Tensor;
  eps: number;
}

interface GpuModule {
  layout: ModuleLayout;
  u: Tensor;
  v: Tensor;
  sigma: Tensor;
  bias: Tensor;
  dSigma: Tensor;
  dBias: Tensor;
}

interface GpuLayer {
  modules: Record<ModuleKind, GpuModule>;
  attentionNorm: GpuNorm;
  ffnNorm: GpuNorm;
}

interface GpuHeadStep {
  linear: LinearLayout;
  weight: Tensor;
  bias: Tensor;
  dWeight: Tensor;
  dBias: Tensor;
}

/** Per-layer activations the backward needs, sized for maxBatch·maxSeq tokens. */
interface LayerActivations {
  t: Record<ModuleKind, Tensor>;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  probs: Tensor;
  context: Tensor;
  attentionOut: Tensor;
  sum1: Tensor;
  mean1: Tensor;
  rstd1: Tensor;
  hidden1: Tensor;
  ffnPre: Tensor;
  ffnAct: Tensor;
  ffnOut: Tensor;
  sum2: Tensor;
  mean2: Tensor;
  rstd2: Tensor;
}

/** Stream ids of the dropout sites, so every site of a step draws an independent mask. */
const STREAM = {
  embeddings: 1,
  attentionProbs: (layer: number) => 16 + 4 * layer,
  attentionOutput: (layer: number) => 17 + 4 * layer,
  ffnOutput: (layer: number) => 18 + 4 * layer,
  head: (step: number) => 8 + step,
};

export class GpuModel {
  readonly params: ParameterLayout;
  /** Flat trainable parameters, their values at load time (for the strength), and gradients. */
  readonly paramsTensor: Tensor;
  readonly initialTensor: Tensor;
  readonly gradsTensor: Tensor;
  /** u32 [1]: the dropout seed of the current step (written by the trainer). */
  readonly seedTensor: Tensor;
  readonly loss: Tensor;
  readonly logits: Tensor;
  readonly svdReports = new Map<string, SvdReport>();

  private readonly layers: GpuLayer[] = [];
  private readonly head: GpuHeadStep[] = [];
  private readonly word: Tensor;
  private readonly position: Tensor;
  private readonly tokenType: Tensor | null;
  private readonly embeddingNorm: GpuNorm;
  /** The checkpoint's masked-LM head, when the weights carry it (decoder tied to `word`). */
  private readonly maskedLm?: { dense: Tensor; denseBias: Tensor; norm: GpuNorm; bias: Tensor };
  private readonly inputs: { ids: Tensor; types: Tensor; positions: Tensor; mask: Tensor; clsRows: Tensor; labels: Tensor };
  private readonly acts: { embedSum: Tensor; embedMean: Tensor; embedRstd: Tensor; embedNorm: Tensor; hidden: Tensor[]; layers: LayerActivations[] };
  private readonly scratch: Record<'drop' | 'h' | 'dScores' | 'dH' | 'dS' | 'dAct' | 'dPre' | 'dContext' | 'dq' | 'dk' | 'dv', Tensor>;
  private readonly headActs: { input: Tensor[]; pre: Tensor[]; out: Tensor[]; grad: Tensor[]; dLogits: Tensor };
  private readonly plans = new Map<string, PlanOp[]>();

  private constructor(
    readonly device: GPUDevice,
    readonly layout: ModelLayout,
    readonly options: GpuModelOptions,
    readonly dropout: DropoutRates,
    weights: ModelWeights,
  ) {
    const { hidden: H, intermediate: I } = layout;
    const N = options.maxBatch * options.maxSeq;
    const numLabels = layout.head[layout.head.length - 1].linear.dOut;
    const tensor = (shape: number[], label: string, dtype: 'f32' | 'u32' = 'f32') => createTensor(device, shape, dtype, label);
    const upload = (name: string) => {
      const w = weights.tensors.get(name);
      if (!w) throw new Error(`weights lack ${name}`);
      return uploadTensor(device, w.data, w.shape, 'f32', name);
    };
    const norm = (n: NormLayout): GpuNorm => ({ gamma: upload(n.weight), beta: upload(n.bias), eps: n.eps });

    this.params = buildParameterLayout(trainableSpecs(layout));
    this.paramsTensor = tensor([this.params.size], 'params');
    this.initialTensor = tensor([this.params.size], 'initial params');
    this.gradsTensor = tensor([this.params.size], 'grads');
    const paramView = (base: Tensor, name: string) => {
      const entry = entryByName(this.params, name);
      return view(base, entry.offset, entry.shape);
    };

    this.word = upload(layout.embeddings.word.key);
    this.position = upload(layout.embeddings.position.key);
    this.tokenType = layout.embeddings.tokenType ? upload(layout.embeddings.tokenType.key) : null;
    this.embeddingNorm = norm(layout.embeddings.norm);
    const mlm = layout.maskedLm;
    if (mlm && weights.tensors.has(mlm.dense.weight)) {
      this.maskedLm = { dense: upload(mlm.dense.weight), denseBias: upload(mlm.dense.bias), norm: norm(mlm.norm), bias: upload(mlm.bias) };
    }

    for (const layer of layout.layers) {
      const modules = {} as Record<ModuleKind, GpuModule>;
      for (const m of layer.modules) {
        const bias = paramView(this.paramsTensor, m.biasName);
        writeTensor(device, bias, weights.tensors.get(m.bias)!.data);
        modules[m.kind] = {
          layout: m,
          // U and V are filled by factor(); Σ by factor() into the flat buffer.
          u: tensor([m.dOut, m.rank], `${m.path} U`),
          v: tensor([m.dIn, m.rank], `${m.path} V`),
          sigma: paramView(this.paramsTensor, m.sigmaName),
          bias,
          dSigma: paramView(this.gradsTensor, m.sigmaName),
          dBias: paramView(this.gradsTensor, m.biasName),
        };
      }
      this.layers.push({ modules, attentionNorm: norm(layer.attentionNorm), ffnNorm: norm(layer.ffnNorm) });
    }
    for (const step of layout.head) {
      const weight = paramView(this.paramsTensor, step.linear.weight);
      const bias = paramView(this.paramsTensor, step.linear.bias);
      writeTensor(device, weight, weights.tensors.get(step.linear.weight)!.data);
      writeTensor(device, bias, weights.tensors.get(step.linear.bias)!.data);
      this.head.push({ linear: step.linear, weight, bias, dWeight: paramView(this.gradsTensor, step.linear.weight), dBias: paramView(this.gradsTensor, step.linear.bias) });
    }

    this.inputs = {
      ids: tensor([N], 'input ids', 'u32'),
      types: tensor([N], 'token types', 'u32'),
      positions: tensor([N], 'position ids', 'u32'),
      mask: tensor([N], 'attention mask', 'u32'),
      clsRows: tensor([options.maxBatch], 'first-token rows', 'u32'),
      labels: tensor([options.maxBatch], 'labels', options.task === 'classification' ? 'u32' : 'f32'),
    };
    this.seedTensor = tensor([1], 'dropout seed', 'u32');
    const maxRank = Math.max(...layout.layers.flatMap((l) => l.modules.map((m) => m.rank)));
    const probsSize = options.maxBatch * layout.heads * options.maxSeq * options.maxSeq;
    this.acts = {
      embedSum: tensor([N, H], 'embedding sum'),
      embedMean: tensor([N], 'embedding mean'),
      embedRstd: tensor([N], 'embedding rstd'),
      embedNorm: tensor([N, H], 'embedding norm'),
      hidden: layout.layers.map((_, l) => tensor([N, H], `hidden ${l}`)).concat([tensor([N, H], 'last hidden')]),
      layers: layout.layers.map((layer, l) => ({
        t: Object.fromEntries(layer.modules.map((m) => [m.kind, tensor([N, m.rank], `layer ${l} t${m.kind}`)])) as Record<ModuleKind, Tensor>,
        q: tensor([N, H], `layer ${l} q`),
        k: tensor([N, H], `layer ${l} k`),
        v: tensor([N, H], `layer ${l} v`),
        probs: tensor([probsSize], `layer ${l} probs`),
        context: tensor([N, H], `layer ${l} context`),
        attentionOut: tensor([N, H], `layer ${l} attention out`),
        sum1: tensor([N, H], `layer ${l} residual 1`),
        mean1: tensor([N], `layer ${l} mean 1`),
        rstd1: tensor([N], `layer ${l} rstd 1`),
        hidden1: tensor([N, H], `layer ${l} hidden 1`),
        ffnPre: tensor([N, I], `layer ${l} ffn pre`),
        ffnAct: tensor([N, I], `layer ${l} ffn act`),
        ffnOut: tensor([N, H], `layer ${l} ffn out`),
        sum2: tensor([N, H], `layer ${l} residual 2`),
        mean2: tensor([N], `layer ${l} mean 2`),
        rstd2: tensor([N], `layer ${l} rstd 2`),
      })),
    };
    this.scratch = {
      drop: tensor([N, Math.max(H, I)], 'dropout scratch'),
      h: tensor([N, maxRank], 'g·U scratch'),
      dScores: tensor([probsSize], 'dScores'),
      dH: tensor([N, H], 'dHidden'),
      dS: tensor([N, H], 'dSum'),
      dAct: tensor([N, I], 'dFfnAct'),
      dPre: tensor([N, I], 'dFfnPre'),
      dContext: tensor([N, H], 'dContext'),
      dq: tensor([N, H], 'dq'),
      dk: tensor([N, H], 'dk'),
      dv: tensor([N, H], 'dv'),
    };
    const B = options.maxBatch;
    const width = Math.max(H, numLabels);
    this.headActs = {
      input: layout.head.map((s, i) => tensor([B, s.linear.dIn], `head ${i} input`)),
      pre: layout.head.map((s, i) => tensor([B, s.linear.dOut], `head ${i} pre`)),
      out: layout.head.map((s, i) => tensor([B, s.linear.dOut], `head ${i} out`)),
      grad: [0, 1, 2].map((i) => tensor([B, width], `head grad ${i}`)),
      dLogits: tensor([B, numLabels], 'dLogits'),
    };
    this.loss = tensor([1], 'loss');
    this.logits = this.headActs.pre[layout.head.length - 1];
  }

  /** Uploads the weights, factors every q, k, v, o, f1, f2 weight by SVD on the GPU, and keeps
   * a copy of the initial trainable values (the strength's v0). */
  static async create(device: GPUDevice, weights: ModelWeights, dropout: DropoutRates, options: GpuModelOptions): Promise<GpuModel> {
    const model = new GpuModel(device, weights.layout, options, dropout, weights);
    await model.factor(weights);
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(model.paramsTensor.buffer, 0, model.initialTensor.buffer, 0, model.params.size * 4);
    device.queue.submit([encoder.finish()]);
    return model;
  }

  private async factor(weights: ModelWeights): Promise<void> {
    const all = this.layers.flatMap((l) => Object.values(l.modules));
    let done = 0;
    for (const module of all) {
      const { layout: m } = module;
      const w = weights.tensors.get(m.weight)!;
      const wTensor = uploadTensor(this.device, w.data, [m.dOut, m.dIn], 'f32', m.weight);
      const result = this.options.factorOn === 'gpu' ? await svd(this.device, { w: wTensor, rows: m.dOut, cols: m.dIn }) : await this.cpuSvd(wTensor, w.data, m);
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(result.u.buffer, 0, module.u.buffer, 0, m.dOut * m.rank * 4);
      encoder.copyBufferToBuffer(result.v.buffer, 0, module.v.buffer, 0, m.dIn * m.rank * 4);
      encoder.copyBufferToBuffer(result.s.buffer, 0, module.sigma.buffer, module.sigma.byteOffset ?? 0, m.rank * 4);
      this.device.queue.submit([encoder.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      for (const t of [wTensor, result.u, result.s, result.v]) t.buffer.destroy();
      this.svdReports.set(m.path, result.report);
      this.options.onFactored?.(++done, all.length, m.path, result.report);
    }
  }

  /** U, Σ, V of every factored module as they are on the GPU, by module path. */
  async readFactors(): Promise<Map<string, { u: Float32Array; sigma: Float32Array; v: Float32Array }>> {
    const factors = new Map<string, { u: Float32Array; sigma: Float32Array; v: Float32Array }>();
    for (const layer of this.layers) {
      for (const m of Object.values(layer.modules)) {
        factors.set(m.layout.path, { u: await readTensor(this.device, m.u), sigma: await readTensor(this.device, m.sigma), v: await readTensor(this.device, m.v) });
      }
    }
    return factors;
  }

  /** W' = U·diag(Σ)·Vᵀ of every factored module with the current Σ, under its HF weight name. */
  async mergedWeights(): Promise<Map<string, Float32Array>> {
    const merged = new Map<string, Float32Array>();
    for (const layer of this.layers) {
      for (const m of Object.values(layer.modules)) {
        const { dIn, dOut, rank } = m.layout;
        const out = createTensor(this.device, [dOut, dIn], 'f32', `${m.layout.weight} merged`);
        submitPlan(this.device, [matmul(this.device, { m: dOut, n: dIn, k: rank, a: m.u, b: m.v, transB: true, kScale: m.sigma, out })]);
        merged.set(m.layout.weight, await readTensor(this.device, out));
        out.buffer.destroy();
      }
    }
    return merged;
  }

  /** Float64 SVD on the CPU, uploaded as fp32 factors, with the same report as the GPU's. */
  private async cpuSvd(wTensor: Tensor, w: Float32Array, m: ModuleLayout) {
    const { u, s, v } = svdRef(Float64Array.from(w), m.dOut, m.dIn);
    const factors = {
      u: uploadTensor(this.device, u, [m.dOut, m.rank]),
      s: uploadTensor(this.device, s, [m.rank]),
      v: uploadTensor(this.device, v, [m.dIn, m.rank]),
    };
    const report = await svdReport(this.device, { w: wTensor, ...factors, rows: m.dOut, cols: m.dIn });
    return { ...factors, report };
  }

  /** Writes one batch's token ids, masks, positions and labels into the input buffers. */
  setBatch(batch: ModelBatch, labels?: readonly number[] | Float32Array | Uint32Array): void {
    const { batch: B, seq: T } = batch;
    if (B > this.options.maxBatch || T > this.options.maxSeq) throw new Error(`batch ${B}×${T} exceeds the plan's ${this.options.maxBatch}×${this.options.maxSeq}`);
    const positions = positionIds(this.layout, batch);
    writeTensor(this.device, this.inputs.ids, batch.inputIds);
    writeTensor(this.device, this.inputs.mask, batch.attentionMask);
    writeTensor(this.device, this.inputs.positions, positions);
    writeTensor(this.device, this.inputs.types, batch.tokenTypeIds ?? new Uint32Array(B * T));
    writeTensor(this.device, this.inputs.clsRows, Uint32Array.from({ length: B }, (_, b) => b * T));
    if (labels) writeTensor(this.device, this.inputs.labels, labels);
  }

  /** Masked-LM logits [B·T, vocab] under the current Σ and biases, without dropout (a check of
   * the whole forward on real pre-trained weights: the fill-mask of the model's card). */
  async maskedLmLogits(batch: ModelBatch): Promise<Float32Array> {
    const mlm = this.maskedLm;
    if (!mlm) throw new Error('the model was loaded without its masked-LM head');
    const d = this.device;
    const { batch: B, seq: T } = batch;
    const N = B * T;
    const H = this.layout.hidden;
    const vocab = this.layout.embeddings.word.rows;
    this.setBatch(batch);
    const temp = [createTensor(d, [N, H]), createTensor(d, [N, H]), createTensor(d, [N, H]), createTensor(d, [N]), createTensor(d, [N]), createTensor(d, [N, vocab])];
    const [dense, act, normed, mean, rstd, logits] = temp;
    const last = prefix(this.acts.hidden[this.layers.length], [N, H]);
    submitPlan(d, [
      ...this.encoderOps(B, T, false),
      matmul(d, { m: N, n: H, k: H, a: last, b: mlm.dense, transB: true, bias: mlm.denseBias, out: dense }),
      activationForward(d, { x: dense, y: act, n: N * H, kind: this.layout.activation }),
      layerNormForward(d, { x: act, gamma: mlm.norm.gamma, beta: mlm.norm.beta, y: normed, mean, rstd, rows: N, d: H, eps: mlm.norm.eps }),
      matmul(d, { m: N, n: vocab, k: H, a: normed, b: this.word, transB: true, bias: mlm.bias, out: logits }),
    ]);
    const values = await readTensor(d, logits);
    for (const t of temp) t.buffer.destroy();
    return values;
  }

  /** The forward, loss and backward of one training step (dropout on) for a B×T batch. */
  trainPlan(B: number, T: number): PlanOp[] {
    return this.cached(`train ${B}x${T}`, () => {
      const ops = this.forwardOps(B, T, true);
      ops.push(...this.lossOps(B));
      ops.push(...this.backwardOps(B, T));
      return ops;
    });
  }

  /** The forward only, without dropout: logits of a B×T batch. */
  evalPlan(B: number, T: number): PlanOp[] {
    return this.cached(`eval ${B}x${T}`, () => this.forwardOps(B, T, false));
  }

  /** The forward and the loss, with the training step's dropout masks (the current seed) or
   * without dropout: what trainPlan differentiates, for checking it. */
  lossPlan(B: number, T: number, training: boolean): PlanOp[] {
    return this.cached(`loss ${B}x${T} ${training}`, () => [...this.forwardOps(B, T, training), ...this.lossOps(B)]);
  }

  private cached(key: string, build: () => PlanOp[]): PlanOp[] {
    let plan = this.plans.get(key);
    if (!plan) this.plans.set(key, (plan = build()));
    return plan;
  }

  private forwardOps(B: number, T: number, training: boolean): PlanOp[] {
    return [...this.encoderOps(B, T, training), ...this.headOps(B, T, training)];
  }

  /** Embeddings and every layer: the last hidden state of all B·T tokens. */
  private encoderOps(B: number, T: number, training: boolean): PlanOp[] {
    const d = this.device;
    const { hidden: H, intermediate: I, heads, headDim } = this.layout;
    const N = B * T;
    const rows = (t: Tensor, cols: number) => prefix(t, [N, cols]);
    const vec = (t: Tensor) => prefix(t, [N]);
    const drop = (p: number) => (training ? p : 0);
    const ops: PlanOp[] = [];
    const ids = vec(this.inputs.ids);

    // Embeddings: word + position (+ token type), LayerNorm, dropout.
    const embedSum = rows(this.acts.embedSum, H);
    ops.push(embeddingForward(d, { table: this.word, ids, out: embedSum, rows: N, dim: H }));
    ops.push(embeddingForward(d, { table: this.position, ids: vec(this.inputs.positions), out: embedSum, rows: N, dim: H, accumulate: true }));
    if (this.tokenType) ops.push(embeddingForward(d, { table: this.tokenType, ids: vec(this.inputs.types), out: embedSum, rows: N, dim: H, accumulate: true }));
    const pEmbed = drop(this.dropout.hidden);
    const normOut = pEmbed > 0 ? rows(this.acts.embedNorm, H) : rows(this.acts.hidden[0], H);
    const n0 = this.embeddingNorm;
    ops.push(layerNormForward(d, { x: embedSum, gamma: n0.gamma, beta: n0.beta, y: normOut, mean: vec(this.acts.embedMean), rstd: vec(this.acts.embedRstd), rows: N, d: H, eps: n0.eps }));
    if (pEmbed > 0) ops.push(dropoutForward(d, { x: normOut, out: rows(this.acts.hidden[0], H), n: N * H, p: pEmbed, seedBuffer: this.seedTensor, stream: STREAM.embeddings }));

    this.layers.forEach((layer, l) => {
      const a = this.acts.layers[l];
      const x = rows(this.acts.hidden[l], H);
      const linear = (kind: ModuleKind, input: Tensor, output: Tensor) => {
        const m = layer.modules[kind];
        const { dIn, dOut, rank } = m.layout;
        return factoredLinearForward(d, { x: input, u: m.u, sigma: m.sigma, v: m.v, bias: m.bias, t: rows(a.t[kind], rank), y: output, n: N, dIn, dOut, r: rank });
      };
      const q = rows(a.q, H), k = rows(a.k, H), v = rows(a.v, H);
      ops.push(...linear('q', x, q), ...linear('k', x, k), ...linear('v', x, v));
      const pAttn = drop(this.dropout.attention);
      const context = rows(a.context, H);
      ops.push(...attentionForward(d, {
        q, k, v, mask: vec(this.inputs.mask), out: context, probs: prefix(a.probs, [B, heads, T, T]),
        batch: B, seq: T, heads, headDim, scale: 1 / Math.sqrt(headDim),
        dropout: pAttn > 0 ? { p: pAttn, stream: STREAM.attentionProbs(l), seed: this.seedTensor } : undefined,
      }));
      const attentionOut = rows(a.attentionOut, H);
      ops.push(...linear('o', context, attentionOut));
      const pOut = this.layout.attentionOutputDropout ? drop(this.dropout.hidden) : 0;
      ops.push(...this.dropoutThenAdd(attentionOut, x, rows(a.sum1, H), N * H, pOut, STREAM.attentionOutput(l)));
      const an = layer.attentionNorm;
      const hidden1 = rows(a.hidden1, H);
      ops.push(layerNormForward(d, { x: rows(a.sum1, H), gamma: an.gamma, beta: an.beta, y: hidden1, mean: vec(a.mean1), rstd: vec(a.rstd1), rows: N, d: H, eps: an.eps }));
      const ffnPre = rows(a.ffnPre, I), ffnAct = rows(a.ffnAct, I), ffnOut = rows(a.ffnOut, H);
      ops.push(...linear('f1', hidden1, ffnPre));
      ops.push(activationForward(d, { x: ffnPre, y: ffnAct, n: N * I, kind: this.layout.activation }));
      ops.push(...linear('f2', ffnAct, ffnOut));
      ops.push(...this.dropoutThenAdd(ffnOut, hidden1, rows(a.sum2, H), N * H, drop(this.dropout.hidden), STREAM.ffnOutput(l)));
      const fn = layer.ffnNorm;
      ops.push(layerNormForward(d, { x: rows(a.sum2, H), gamma: fn.gamma, beta: fn.beta, y: rows(this.acts.hidden[l + 1], H), mean: vec(a.mean2), rstd: vec(a.rstd2), rows: N, d: H, eps: fn.eps }));
    });
    return ops;
  }

  /** The task head on the first token of each sequence: logits [B, labels]. */
  private headOps(B: number, T: number, training: boolean): PlanOp[] {
    const d = this.device;
    const H = this.layout.hidden;
    const drop = (p: number) => (training ? p : 0);
    const ops: PlanOp[] = [];
    const last = prefix(this.acts.hidden[this.layers.length], [B * T, H]);
    let current = prefix(this.headActs.input[0], [B, H]);
    ops.push(embeddingForward(d, { table: last, ids: prefix(this.inputs.clsRows, [B]), out: current, rows: B, dim: H }));
    this.head.forEach((step, s) => {
      const { dIn, dOut } = step.linear;
      const p = this.layout.head[s].dropoutBefore ? drop(this.dropout.classifier) : 0;
      let input = current;
      if (p > 0) {
        input = prefix(this.scratch.drop, [B, dIn]);
        ops.push(dropoutForward(d, { x: current, out: input, n: B * dIn, p, seedBuffer: this.seedTensor, stream: STREAM.head(s) }));
      }
      const pre = prefix(this.headActs.pre[s], [B, dOut]);
      ops.push(matmul(d, { m: B, n: dOut, k: dIn, a: input, b: step.weight, transB: true, bias: step.bias, out: pre }));
      const act = this.layout.head[s].activation;
      current = pre;
      if (act) {
        current = s + 1 < this.head.length ? prefix(this.headActs.input[s + 1], [B, dOut]) : prefix(this.headActs.out[s], [B, dOut]);
        ops.push(activationForward(d, { x: pre, y: current, n: B * dOut, kind: act }));
      } else if (s + 1 < this.head.length) {
        throw new Error('a head linear without activation must be the last');
      }
    });
    return ops;
  }

  /** out = dropout(a) + b (plain a + b when p = 0). */
  private dropoutThenAdd(a: Tensor, b: Tensor, out: Tensor, n: number, p: number, stream: number): PlanOp[] {
    if (p <= 0) return [add(this.device, { a, b, out, n })];
    const dropped = prefix(this.scratch.drop, [n]);
    return [dropoutForward(this.device, { x: a, out: dropped, n, p, seedBuffer: this.seedTensor, stream }), add(this.device, { a: dropped, b, out, n })];
  }

  private lossOps(B: number): PlanOp[] {
    const numLabels = this.head[this.head.length - 1].linear.dOut;
    const logits = prefix(this.logits, [B, numLabels]);
    const dLogits = prefix(this.headActs.dLogits, [B, numLabels]);
    const labels = prefix(this.inputs.labels, [B]);
    if (this.options.task === 'regression') {
      return [mseLoss(this.device, { pred: logits, target: labels, loss: this.loss, dPred: dLogits, rows: B })];
    }
    return [softmaxCrossEntropy(this.device, { logits, labels, loss: this.loss, dLogits, rows: B, classes: numLabels })];
  }

  private backwardOps(B: number, T: number): PlanOp[] {
    const d = this.device;
    const { hidden: H, intermediate: I, heads, headDim } = this.layout;
    const N = B * T;
    const rows = (t: Tensor, cols: number) => prefix(t, [N, cols]);
    const vec = (t: Tensor) => prefix(t, [N]);
    const s = this.scratch;
    const ops: PlanOp[] = [];

    // Head, last step first. Gradients rotate through three [B, width] buffers: a dispatch
    // never writes the buffer it reads (WebGPU forbids aliasing a written binding).
    let g = prefix(this.headActs.dLogits, [B, this.head[this.head.length - 1].linear.dOut]);
    const other = (shape: number[], ...busy: Tensor[]) =>
      prefix(this.headActs.grad.find((t) => busy.every((b) => b.buffer !== t.buffer))!, shape);
    for (let i = this.head.length - 1; i >= 0; i--) {
      const step = this.head[i];
      const { dIn, dOut } = step.linear;
      const act = this.layout.head[i].activation;
      let dPre = g;
      if (act) {
        dPre = other([B, dOut], g);
        ops.push(activationBackward(d, { dy: g, x: prefix(this.headActs.pre[i], [B, dOut]), dx: dPre, n: B * dOut, kind: act }));
      }
      const p = this.layout.head[i].dropoutBefore ? this.dropout.classifier : 0;
      const input = p > 0 ? prefix(s.drop, [B, dIn]) : prefix(this.headActs.input[i], [B, dIn]);
      if (p > 0) {
        // The dropped input was overwritten by later dropouts: regenerate it.
        ops.push(dropoutForward(d, { x: prefix(this.headActs.input[i], [B, dIn]), out: input, n: B * dIn, p, seedBuffer: this.seedTensor, stream: STREAM.head(i) }));
      }
      ops.push(matmul(d, { m: dOut, n: dIn, k: B, a: dPre, b: input, transA: true, out: step.dWeight }));
      ops.push(...columnSum(d, { x: dPre, out: step.dBias, rows: B, cols: dOut }));
      g = other([B, dIn], dPre);
      ops.push(matmul(d, { m: B, n: dIn, k: dOut, a: dPre, b: step.weight, out: g }));
      if (p > 0) {
        const undropped = other([B, dIn], g);
        ops.push(dropoutBackward(d, { dy: g, dx: undropped, n: B * dIn, p, seedBuffer: this.seedTensor, stream: STREAM.head(i) }));
        g = undropped;
      }
    }
    // The head-only baseline trains nothing below the head: the encoder needs no backward.
    const { trains } = this.options;
    if (!this.layout.layers.some((l) => l.modules.some((m) => trains('sigma', m.kind) || trains('bias', m.kind)))) return ops;
    // Route the first-token gradient back into the [N, H] gradient of the last hidden state.
    const dH = rows(s.dH, H);
    ops.push({ clear: dH });
    ops.push(embeddingBackward(d, { dOut: g, ids: prefix(this.inputs.clsRows, [B]), dTable: dH, rows: B, dim: H }));

    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l];
      const a = this.acts.layers[l];
      const dS = rows(s.dS, H);
      const moduleBackward = (kind: ModuleKind, grad: Tensor, dx: Tensor | undefined, accumulateDx: boolean) => {
        const m = layer.modules[kind];
        const { dIn, dOut, rank } = m.layout;
        return factoredLinearBackward(d, {
          g: grad, t: rows(a.t[kind], rank), u: m.u, sigma: m.sigma, v: m.v, h: rows(s.h, rank),
          dSigma: this.options.trains('sigma', kind) ? m.dSigma : undefined,
          dBias: this.options.trains('bias', kind) ? m.dBias : undefined,
          dx, accumulateDx, n: N, dIn, dOut, r: rank,
        });
      };
      const fn = layer.ffnNorm;
      ops.push(...layerNormBackward(d, { dy: dH, x: rows(a.sum2, H), gamma: fn.gamma, mean: vec(a.mean2), rstd: vec(a.rstd2), dx: dS, rows: N, d: H }));
      const dFfnOut = this.dropoutGrad(dS, N * H, this.dropout.hidden, STREAM.ffnOutput(l), ops);
      const dAct = rows(s.dAct, I), dPre = rows(s.dPre, I);
      ops.push(...moduleBackward('f2', dFfnOut, dAct, false));
      ops.push(activationBackward(d, { dy: dAct, x: rows(a.ffnPre, I), dx: dPre, n: N * I, kind: this.layout.activation }));
      // dS becomes d(hidden1): the residual's ds2 plus f1's dx.
      ops.push(...moduleBackward('f1', dPre, dS, true));
      const an = layer.attentionNorm;
      ops.push(...layerNormBackward(d, { dy: dS, x: rows(a.sum1, H), gamma: an.gamma, mean: vec(a.mean1), rstd: vec(a.rstd1), dx: dH, rows: N, d: H }));
      const pOut = this.layout.attentionOutputDropout ? this.dropout.hidden : 0;
      const dAttentionOut = this.dropoutGrad(dH, N * H, pOut, STREAM.attentionOutput(l), ops);
      const dContext = rows(s.dContext, H);
      ops.push(...moduleBackward('o', dAttentionOut, dContext, false));
      const dq = rows(s.dq, H), dk = rows(s.dk, H), dv = rows(s.dv, H);
      ops.push(...attentionBackward(d, {
        dOut: dContext, q: rows(a.q, H), k: rows(a.k, H), v: rows(a.v, H), probs: prefix(a.probs, [B, heads, T, T]),
        dScores: prefix(s.dScores, [B, heads, T, T]), dq, dk, dv,
        batch: B, seq: T, heads, headDim, scale: 1 / Math.sqrt(headDim),
        dropout: this.dropout.attention > 0 ? { p: this.dropout.attention, stream: STREAM.attentionProbs(l), seed: this.seedTensor } : undefined,
      }));
      // dH holds ds1 (the residual path); q, k, v add their dx unless this is the first layer.
      const dx = l > 0 ? dH : undefined;
      ops.push(...moduleBackward('q', dq, dx, true), ...moduleBackward('k', dk, dx, true), ...moduleBackward('v', dv, dx, true));
    }
    return ops;
  }

  /** The gradient through a dropout site: `g` itself when p = 0, else the masked copy. */
  private dropoutGrad(g: Tensor, n: number, p: number, stream: number, ops: PlanOp[]): Tensor {
    if (p <= 0) return g;
    const out = prefix(this.scratch.drop, [n]);
    ops.push(dropoutBackward(this.device, { dy: g, dx: out, n, p, seedBuffer: this.seedTensor, stream }));
    return out;
  }
}

/** Σ and bias of every module (layer-major, q k v o f1 f2), then the head's weights and biases. */
export function trainableSpecs(layout: ModelLayout): TrainableSpec[] {
  const specs: TrainableSpec[] = [];
  for (const layer of layout.layers) {
    for (const m of layer.modules) {
      specs.push({ name: m.sigmaName, shape: [m.rank], role: 'sigma', layer: layer.index, module: m.kind });
      specs.push({ name: m.biasName, shape: [m.dOut], role: 'bias', layer: layer.index, module: m.kind });
    }
  }
  for (const step of layout.head) {
    specs.push({ name: step.linear.weight, shape: [step.linear.dOut, step.linear.dIn], role: 'head' });
    specs.push({ name: step.linear.bias, shape: [step.linear.dOut], role: 'head' });
  }
  return specs;
}
