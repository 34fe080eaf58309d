// The factored model on the GPU, as blocks — embeddings, layers, head — each owning its weights
// and activations with its forward and backward ops; this class joins them: weights factored once
// by SVD, every trainable tensor (Σ, biases, head) a view into one flat buffer, the residual
// stream between blocks, and per-shape plans of the forward, the loss and the backward.
import type { Gpu } from '../gpu/device.ts';
import { createTensor, prefix, uploadTensor, view, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { submitPlan, type PlanOp } from '../gpu/plan.ts';
import { GpuBuffers } from '../gpu/buffers.ts';
import { readTensor } from '../gpu/readback.ts';
import { activationForward } from '../kernels/activation.ts';
import { layerNormForward } from '../kernels/layernorm.ts';
import { groupRows } from '../kernels/embedding.ts';
import { matmul } from '../kernels/matmul.ts';
import { tuneMatmuls, type ProductTuning, type TuningOptions } from '../kernels/matmul_tuning.ts';
import { chooseLinearForm, type LinearForm } from '../kernels/linear_forms.ts';
import { linearShapeKey, measureLinearForms, type FormMeasurement, type LinearShape } from '../kernels/linear_form_tuning.ts';
import { svdBatch, svdReport, type SvdReport } from '../kernels/svd.ts';
import { svd as svdRef } from '../kernels/svd.ref.ts';
import { tokenEmbeddings, type ModelLayout, type ModuleLayout } from './architectures.ts';
import { attentionMaskOf, checkBatchKind, positionIds, tokenBatch, type ModelBatch } from './batch.ts';
import { BlockContext, type DropoutRates } from './gpu-context.ts';
import { EmbeddingsBlock, PatchEmbeddingsBlock, wordTableBackwardOps, type GpuEmbeddings } from './gpu-embeddings.ts';
import { ClassifierHeadBlock, type GpuHead } from './gpu-head.ts';
import { LmHeadBlock } from './gpu-lm-head.ts';
import { TokenHeadBlock } from './gpu-token-head.ts';
import { gpuNorm, normBackward, normForward, type GpuNorm, type NormActivations } from './gpu-norm.ts';
import { LayerBlock, type GpuModule } from './gpu-layer.ts';
import { buildParameterLayout, entryByName, type ParameterLayout, type TrainableSpec } from './parameter-layout.ts';
import { bindingLimit, splitView, tableLogits, type SplitTable } from './split-table.ts';
import { headRows, labelShape } from './task.ts';
import { unreachable } from '../util/unreachable.ts';
import { formatBytes, GpuMemoryError } from './memory.ts';
import type { ModuleKind } from './types.ts';
import type { ModelWeights } from './weights.ts';

export type { DropoutRates } from './gpu-context.ts';

export interface DecodeWeights {
  word: SplitTable;
  layers: readonly LayerBlock[];
  finalNorm: GpuNorm | null;
  lmHead: SplitTable;
}

export interface GpuModelOptions {
  maxBatch: number;
  maxSeq: number;
  /** Vectors that get gradients at all (the variant's trainable set). */
  trains: (kind: 'sigma' | 'bias', module: ModuleKind) => boolean;
  /** Train the causal-LM head too (default: no, it stays dense and frozen). A classifier's head
   * is always trained. */
  trainHead?: boolean;
  /** Where to run the SVD: the GPU, or float64 on the CPU. On a software adapter the GPU is
   * the CPU emulating one, and the float64 Jacobi is ~40× faster than the WGSL one there. */
  factorOn: 'gpu' | 'cpu';
  /** Called after each matrix is factored (progress for the UI). */
  onFactored?: (done: number, total: number, path: string, report: SvdReport) => void;
  /** A model of the same weights on this device (the engine's previous load, before new settings):
   * its U, V and initial Σ are copied instead of factoring every matrix again. Ignored unless it
   * has every module at the same shape. */
  factorsFrom?: GpuModel;
  /** Per-module form of the linears (linear_forms.ts): 'auto' (default) takes the fewer FLOPs
   * at maxBatch × maxSeq tokens; a map from GpuModel.measureLinearForms takes the form measured
   * faster on this GPU per module shape; the others force one form everywhere (tests, benchmarks). */
  linearForms?: 'auto' | LinearForm | ReadonlyMap<string, LinearForm>;
  /** Skip dΣ and db of modules whose Σ and bias are all frozen (default on; off only to check
   * that the skip changes nothing). */
  skipFrozenModules?: boolean;
  /** Rows per block of a causal LM's logits (default: as many as one storage binding holds; a
   * multiple of 64). */
  logitsBlockRows?: number;
  /** Most bytes per chunk of a table split by rows (word embedding, LM head: split-table.ts).
   * Default: what the adapter binds at once; lower only to force a split (tests). */
  tableChunkBytes?: number;
  /** Most bytes of DeBERTa's rel / dRel scratch, whose rows the relative terms run the batch in
   * chunks of (gpu-relative.ts). Default: what the adapter binds at once; lower only to force
   * chunks (tests). */
  relativeScratchBytes?: number;
}

export class GpuModel {
  readonly params: ParameterLayout;
  /** Flat trainable parameters, their values at load time (for the strength), and gradients. */
  readonly paramsTensor: Tensor;
  readonly initialTensor: Tensor;
  readonly gradsTensor: Tensor;
  /** u32 [1]: the dropout seed of the current step (written by the trainer). */
  readonly seedTensor: Tensor;
  readonly loss: Tensor;
  /** The head's outputs (a causal LM's logits [B·T, vocab]; split ones throw: see LmHeadBlock). */
  get logits(): Tensor {
    return this.head.logits;
  }
  readonly svdReports = new Map<string, SvdReport>();

  private readonly ctx: BlockContext;
  private readonly embeddings: GpuEmbeddings;
  /** A text model's word table (an LM head's or masked-LM head's weight when tied); null for an image model. */
  private readonly word: SplitTable | null;
  private readonly layers: LayerBlock[];
  private readonly head: GpuHead;
  /** The residual stream: hidden[0] the embeddings' output, hidden[l + 1] layer l's. */
  private readonly hidden: Tensor[];
  /** Pre-norm models' norm after the last layer, with its output and statistics. */
  private readonly finalNorm: { norm: GpuNorm; out: Tensor; stats: NormActivations } | null;
  /** The checkpoint's masked-LM head, when the weights carry it (decoder tied to the word table). */
  private readonly maskedLm?: { dense: Tensor; denseBias: Tensor; gamma: Tensor; beta: Tensor; eps: number; bias: Tensor };
  /** Plans by kind and shape, with the buffers their builders created (freed with the plan). */
  private readonly plans = new Map<string, { ops: PlanOp[]; buffers: GpuBuffers }>();
  private destroyed = false;
  /** Module paths whose dΣ and db the train plans skip (see setFrozenVectors). */
  private frozenKey = '';
  /** The LM head is tied to the word table and trained: the gradient reaches the embeddings. */
  private readonly tiedTrained: boolean;

  private constructor(
    readonly device: GPUDevice,
    readonly layout: ModelLayout,
    readonly options: GpuModelOptions,
    readonly dropout: DropoutRates,
    weights: ModelWeights,
    /** What the constructor created (weights, factors, parameters, activations, scratch). */
    private readonly buffers: GpuBuffers,
  ) {
    const trainHead = trainsHead(layout, options);
    this.params = buildParameterLayout(trainableSpecs(layout, trainHead));
    // AdamW, the strength and the health check bind the flat parameters whole (a trained LM head
    // is in them: its products read it in row chunks, but these do not).
    const limit = bindingLimit(device.limits);
    const bytes = this.params.size * 4;
    if (bytes > limit) {
      const lmHead = trainHead && layout.task.loss === 'causal-lm';
      throw new GpuMemoryError(
        `The trainable parameters (${formatBytes(bytes)}${lmHead ? ', the LM head included' : ''}) are bound whole by the optimizer: ` +
          `they exceed the adapter's ${formatBytes(limit)} per storage binding by ${formatBytes(bytes - limit)}${lmHead ? '; leave the LM head frozen' : ''}`,
      );
    }
    this.paramsTensor = createTensor(device, [this.params.size], 'f32', 'params');
    this.initialTensor = createTensor(device, [this.params.size], 'f32', 'initial params');
    this.gradsTensor = createTensor(device, [this.params.size], 'f32', 'grads');
    const param = (buffer: 'params' | 'grads', name: string) => {
      const entry = entryByName(this.params, name);
      return view(buffer === 'params' ? this.paramsTensor : this.gradsTensor, entry.offset, entry.shape);
    };
    const ctx = (this.ctx = new BlockContext(device, layout, weights, dropout, options.maxBatch, options.maxSeq, options.trains, options.tableChunkBytes ?? limit, options.relativeScratchBytes ?? limit));
    this.seedTensor = ctx.seed;
    // A trained tied head is the word table: both uses read (and AdamW updates) one view.
    this.tiedTrained = layout.tiedHead && trainHead;
    const { embeddings } = layout;
    switch (embeddings.kind) {
      case 'tokens': {
        let word: SplitTable | undefined;
        if (this.tiedTrained) {
          const { key, rows } = embeddings.word;
          const table = param('params', key);
          writeTensor(device, table, weights.tensors.get(key)!.data);
          word = splitView(table, rows, layout.hidden, ctx.tableChunkBytes);
        }
        const block = new EmbeddingsBlock(ctx, embeddings, word);
        this.embeddings = block;
        this.word = block.word;
        break;
      }
      case 'patches':
        this.embeddings = new PatchEmbeddingsBlock(ctx, embeddings);
        this.word = null;
        break;
      default:
        this.embeddings = unreachable(embeddings, 'embeddings kind');
        this.word = null;
    }
    const forms = options.linearForms ?? 'auto';
    const formOf = (m: ModuleLayout): LinearForm => {
      if (typeof forms === 'string' && forms !== 'auto') return forms;
      const shape = linearShape(m, ctx.maxTokens, options.trains);
      const measured = typeof forms === 'string' ? undefined : forms.get(linearShapeKey(shape));
      return measured ?? chooseLinearForm(shape.dIn, shape.dOut, shape.tokens, shape.needsSigmaGrad).form;
    };
    const recomposed = layout.layers.flatMap((l) => l.modules).filter((m) => formOf(m) === 'recomposed');
    const dense = {
      gradW: ctx.tensor([Math.max(1, ...recomposed.map((m) => m.dOut * m.dIn))], 'gᵀx scratch'),
      projected: ctx.tensor([Math.max(1, ...recomposed.map((m) => m.dOut * m.rank))], '(gᵀx)·V scratch'),
    };
    this.layers = layout.layers.map((l) => new LayerBlock(ctx, l, param, formOf, dense));
    const loss = layout.task.loss;
    switch (loss) {
      case 'classes':
      case 'regression':
        this.head = new ClassifierHeadBlock(ctx, param);
        break;
      case 'causal-lm':
        this.head = new LmHeadBlock(ctx, param, this.wordTable('a causal-LM head'), trainHead, options.logitsBlockRows);
        break;
      case 'span':
      case 'token-classes':
        this.head = new TokenHeadBlock(ctx, param);
        break;
      default:
        this.head = unreachable(loss, 'loss');
    }
    this.loss = this.head.loss;
    const N = ctx.maxTokens;
    this.hidden = [...layout.layers.map((_, l) => ctx.tensor([N, layout.hidden], `hidden ${l}`)), ctx.tensor([N, layout.hidden], 'last hidden')];
    this.finalNorm = layout.finalNorm && {
      norm: gpuNorm(ctx, layout.finalNorm),
      out: ctx.tensor([N, layout.hidden], 'final norm'),
      stats: { mean: ctx.tensor([N], 'final mean'), rstd: ctx.tensor([N], 'final rstd') },
    };
    const mlm = layout.maskedLm;
    if (mlm && weights.tensors.has(mlm.dense.weight)) {
      this.maskedLm = { dense: ctx.upload(mlm.dense.weight), denseBias: ctx.upload(mlm.dense.bias!), gamma: ctx.upload(mlm.norm.weight), beta: ctx.upload(mlm.norm.bias!), eps: mlm.norm.eps, bias: ctx.upload(mlm.bias) };
    }
  }

  /** The word table, for the uses that need one (LM heads); a clear error for an image model. */
  private wordTable(what: string): SplitTable {
    if (!this.word) throw new Error(`${this.layout.modelType} reads images: ${what} needs a word table`);
    return this.word;
  }

  private get modules(): GpuModule[] {
    return this.layers.flatMap((l) => [...l.modules.values()]);
  }

  /** Uploads the weights, factors every q, k, v, o, f1, f2 weight by SVD on the GPU, and keeps
   * a copy of the initial trainable values (the strength's v0). */
  static async create(device: GPUDevice, weights: ModelWeights, dropout: DropoutRates, options: GpuModelOptions): Promise<GpuModel> {
    const buffers = new GpuBuffers(device);
    let model: GpuModel;
    try {
      model = buffers.collect(() => new GpuModel(device, weights.layout, options, dropout, weights, buffers));
    } catch (error) {
      buffers.destroy();
      throw error;
    }
    try {
      const from = options.factorsFrom;
      if (!(from && (await model.copyFactors(from)))) await model.factor(weights);
    } catch (error) {
      model.destroy();
      throw error;
    }
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(model.paramsTensor.buffer, 0, model.initialTensor.buffer, 0, model.params.size * 4);
    device.queue.submit([encoder.finish()]);
    return model;
  }

  /** On a GPU, the form each distinct module shape runs faster in, measured at maxBatch × maxSeq
   * tokens (linear_form_tuning.ts), for `linearForms`; software adapters keep the FLOP count. */
  static async measureLinearForms(gpu: Gpu, layout: ModelLayout, options: Pick<GpuModelOptions, 'maxBatch' | 'maxSeq' | 'trains'>): Promise<FormMeasurement[]> {
    if (gpu.adapter.isSoftware) return [];
    const shapes = layout.layers.flatMap((l) => l.modules).map((m) => linearShape(m, options.maxBatch * options.maxSeq, options.trains));
    return [...(await measureLinearForms(gpu, shapes)).values()];
  }

  /** The form each module's products run in, by module path. */
  get linearForms(): Map<string, LinearForm> {
    return new Map(this.modules.map((m) => [m.layout.path, m.form]));
  }

  private async factor(weights: ModelWeights): Promise<void> {
    const total = this.modules.length;
    let done = 0;
    const upload = ({ layout: m }: GpuModule) => uploadTensor(this.device, weights.tensors.get(m.weight)!.data, [m.dOut, m.dIn], 'f32', m.weight);
    const place = async (module: GpuModule, w: Tensor, result: { u: Tensor; s: Tensor; v: Tensor; report: SvdReport }) => {
      const { layout: m } = module;
      const encoder = this.device.createCommandEncoder();
      encoder.copyBufferToBuffer(result.u.buffer, 0, module.u.buffer, 0, m.dOut * m.rank * 4);
      encoder.copyBufferToBuffer(result.v.buffer, 0, module.v.buffer, 0, m.dIn * m.rank * 4);
      encoder.copyBufferToBuffer(result.s.buffer, 0, module.sigma.buffer, module.sigma.byteOffset ?? 0, m.rank * 4);
      this.device.queue.submit([encoder.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      for (const t of [w, result.u, result.s, result.v]) t.buffer.destroy();
      this.svdReports.set(m.path, result.report);
      this.options.onFactored?.(++done, total, m.path, result.report);
    };
    if (this.options.factorOn === 'cpu') {
      for (const module of this.modules) {
        const w = upload(module);
        await place(module, w, await this.cpuSvd(w, weights.tensors.get(module.layout.weight)!.data, module.layout));
      }
      return;
    }
    // One layer at a time (its weights and factors are all the GPU holds for the SVD), its
    // same-shape matrices batched per Jacobi round.
    for (const layer of this.layers) {
      const modules = [...layer.modules.values()];
      const inputs = modules.map((module) => ({ w: upload(module), rows: module.layout.dOut, cols: module.layout.dIn }));
      const results = await svdBatch(this.device, inputs);
      for (const [i, module] of modules.entries()) await place(module, inputs[i].w, results[i]);
    }
  }

  /** U, V and the initial Σ of `from`'s modules (same paths and shapes, same device), with their
   * SVD reports; false, copying nothing, when the modules differ. */
  private async copyFactors(from: GpuModel): Promise<boolean> {
    if (from.destroyed) throw new Error('factorsFrom: that model was destroyed (destroy it only once the new one is created)');
    const old = new Map(from.modules.map((m) => [m.layout.path, m]));
    const same = (a: ModuleLayout, b: ModuleLayout | undefined) => !!b && a.dOut === b.dOut && a.dIn === b.dIn && a.rank === b.rank;
    if (from.device !== this.device || !this.modules.every((m) => same(m.layout, old.get(m.layout.path)?.layout))) return false;
    const encoder = this.device.createCommandEncoder();
    for (const module of this.modules) {
      const { layout: m } = module;
      const source = old.get(m.path)!;
      encoder.copyBufferToBuffer(source.u.buffer, 0, module.u.buffer, 0, m.dOut * m.rank * 4);
      encoder.copyBufferToBuffer(source.v.buffer, 0, module.v.buffer, 0, m.dIn * m.rank * 4);
      // Σ as factored: the old model's copy of its parameters at load time, at its own offset.
      encoder.copyBufferToBuffer(from.initialTensor.buffer, source.sigma.byteOffset ?? 0, module.sigma.buffer, module.sigma.byteOffset ?? 0, m.rank * 4);
      this.svdReports.set(m.path, from.svdReports.get(m.path)!);
    }
    this.device.queue.submit([encoder.finish()]);
    await this.device.queue.onSubmittedWorkDone();
    return true;
  }

  /** U, Σ, V of every factored module as they are on the GPU, by module path. */
  async readFactors(): Promise<Map<string, { u: Float32Array; sigma: Float32Array; v: Float32Array }>> {
    const factors = new Map<string, { u: Float32Array; sigma: Float32Array; v: Float32Array }>();
    for (const m of this.modules) {
      factors.set(m.layout.path, { u: await readTensor(this.device, m.u), sigma: await readTensor(this.device, m.sigma), v: await readTensor(this.device, m.v) });
    }
    return factors;
  }

  /** W' = U·diag(Σ)·Vᵀ of every factored module with the current Σ, under its HF weight name. */
  async mergedWeights(): Promise<Map<string, Float32Array>> {
    const merged = new Map<string, Float32Array>();
    for (const m of this.modules) {
      const { dIn, dOut, rank } = m.layout;
      // The product and its uniforms are scratch.
      const scratch = new GpuBuffers(this.device);
      const out = scratch.collect(() => {
        const out = createTensor(this.device, [dOut, dIn], 'f32', `${m.layout.weight} merged`);
        submitPlan(this.device, [matmul(this.device, { m: dOut, n: dIn, k: rank, a: m.u, b: m.v, transB: true, kScale: m.sigma, out })]);
        return out;
      });
      merged.set(m.layout.weight, await readTensor(this.device, out));
      scratch.destroy();
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

  /**
   * Writes one batch into the input buffers: a text model's token ids, masks, positions (and the
   * id groups of a trained tied head), or an image model's pixel values (every token real: the
   * mask is all ones); then the head's rows and the labels.
   */
  setBatch(batch: ModelBatch, labels?: readonly number[] | Float32Array | Uint32Array | Int32Array): void {
    const { batch: B, seq: T } = batch;
    if (B > this.options.maxBatch || T > this.options.maxSeq) throw new Error(`batch ${B}×${T} exceeds the plan's ${this.options.maxBatch}×${this.options.maxSeq}`);
    checkBatchKind(this.layout, batch);
    const { inputs } = this.ctx;
    const mask = attentionMaskOf(batch);
    writeTensor(this.device, inputs.mask, mask);
    switch (batch.kind) {
      case undefined:
      case 'tokens':
        writeTensor(this.device, inputs.ids, batch.inputIds);
        writeTensor(this.device, inputs.positions, positionIds(this.layout, batch));
        writeTensor(this.device, inputs.types, batch.tokenTypeIds ?? new Uint32Array(B * T));
        break;
      case 'pixels':
        writeTensor(this.device, inputs.pixels, batch.pixelValues);
        break;
      default:
        unreachable(batch, 'batch kind');
    }
    if (this.layout.task.input !== 'every-token') writeTensor(this.device, inputs.headRows, headRows(this.layout.task, mask, B, T));
    if (this.tiedTrained) {
      const groups = groupRows(tokenBatch(batch, 'a trained tied head').inputIds);
      writeTensor(this.device, inputs.tokenOrder, groups.order);
      writeTensor(this.device, inputs.tokenOffsets, groups.offsets);
      writeTensor(this.device, inputs.tokenGroups, groups.ids);
    }
    if (labels) {
      const expected = labelShape(this.layout.task, B, T).count;
      if (labels.length !== expected) throw new Error(`${labels.length} labels for a ${B}×${T} batch; the ${this.layout.task.loss} task takes ${expected}`);
      writeTensor(this.device, inputs.labels, labels);
    }
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
    const word = this.wordTable('the masked-LM head');
    const vocab = tokenEmbeddings(this.layout, 'the masked-LM head').word.rows;
    this.setBatch(batch);
    // A one-off plan: its activations and uniforms are scratch.
    const scratch = new GpuBuffers(d);
    const logits = scratch.collect(() => {
      const [dense, act, normed, mean, rstd, logits] = [createTensor(d, [N, H]), createTensor(d, [N, H]), createTensor(d, [N, H]), createTensor(d, [N]), createTensor(d, [N]), createTensor(d, [N, vocab])];
      const last = prefix(this.hidden[this.layers.length], [N, H]);
      submitPlan(d, [
        ...this.encoderOps(B, T, false),
        matmul(d, { m: N, n: H, k: H, a: last, b: mlm.dense, transB: true, bias: mlm.denseBias, out: dense }),
        activationForward(d, { x: dense, y: act, n: N * H, kind: this.layout.activation }),
        layerNormForward(d, { x: act, gamma: mlm.gamma, beta: mlm.beta, y: normed, mean, rstd, rows: N, d: H, eps: mlm.eps }),
        ...tableLogits(d, { x: normed, table: word, out: logits, m: N, bias: mlm.bias }),
      ]);
      return logits;
    });
    const values = await readTensor(d, logits);
    scratch.destroy();
    return values;
  }

  /** The forward, loss and backward of one training step (dropout on) for a B×T batch. */
  trainPlan(B: number, T: number): PlanOp[] {
    return this.cached(`train ${B}x${T} ${this.frozenKey}`, () => [...this.forwardOps(B, T, true), ...this.head.lossOps(B, T, true), ...this.backwardOps(B, T)]);
  }

  /** The forward only, without dropout: logits of a B×T batch. */
  evalPlan(B: number, T: number): PlanOp[] {
    return this.cached(`eval ${B}x${T}`, () => this.forwardOps(B, T, false));
  }

  /** The forward and the loss, with the training step's dropout masks (the current seed) or
   * without dropout: what trainPlan differentiates, for checking it. */
  lossPlan(B: number, T: number, training: boolean): PlanOp[] {
    return this.cached(`loss ${B}x${T} ${training}`, () => [...this.forwardOps(B, T, training), ...this.head.lossOps(B, T, false)]);
  }

  /**
   * The vectors (export names) AVF keeps frozen now. A module whose Σ and bias are then all
   * frozen — by AVF, or untrained by the variant — needs only dx from its backward: the train
   * plans are rebuilt without its dΣ and db (unless skipFrozenModules is off), and the plans
   * they supersede are freed with their buffers.
   */
  setFrozenVectors(names: Iterable<string>): void {
    if (this.options.skipFrozenModules === false) return;
    const avf = new Set(names);
    const { trains } = this.options;
    const paths: string[] = [];
    for (const layer of this.layers) {
      const frozen = new Set<ModuleKind>();
      for (const { layout: m } of layer.modules.values()) {
        const sigmaFrozen = !trains('sigma', m.kind) || avf.has(m.sigmaName);
        const biasFrozen = m.biasName === null || !trains('bias', m.kind) || avf.has(m.biasName);
        if (sigmaFrozen && biasFrozen) {
          frozen.add(m.kind);
          paths.push(m.path);
        }
      }
      layer.frozen = frozen;
    }
    const key = paths.join(',');
    if (key === this.frozenKey) return;
    this.frozenKey = key;
    this.dropTrainPlans();
  }

  /**
   * Measures the matmul kernel for every product the plans built so far use that has no
   * measurement on this device yet (matmul_tuning.ts), and rebuilds the train plans with the
   * winners. Results are unchanged bit for bit. Software adapters keep their one barrier-free
   * kernel and measure nothing unless `onSoftware` asks (tests do, to run the tiles in a model).
   */
  async tuneMatmuls(gpu: Gpu, options: TuningOptions & { onSoftware?: boolean } = {}): Promise<ProductTuning[]> {
    if (gpu.adapter.isSoftware && !options.onSoftware) return [];
    const tuned = await tuneMatmuls(gpu, options);
    if (tuned.length) this.dropTrainPlans();
    return tuned;
  }

  private dropTrainPlans(): void {
    for (const [name, plan] of this.plans) {
      if (!name.startsWith('train ')) continue;
      this.plans.delete(name);
      // Work already submitted keeps its buffers alive until it completes (destroy is deferred).
      plan.buffers.destroy();
    }
  }

  private cached(key: string, build: () => PlanOp[]): PlanOp[] {
    if (this.destroyed) throw new Error('this GPU model was destroyed');
    let plan = this.plans.get(key);
    if (!plan) {
      const buffers = new GpuBuffers(this.device);
      this.plans.set(key, (plan = { ops: buffers.collect(build), buffers }));
    }
    return plan.ops;
  }

  /** Bytes of GPU memory the model holds now: its own buffers and its plans'. */
  get allocatedBytes(): number {
    let bytes = this.buffers.bytes;
    for (const plan of this.plans.values()) bytes += plan.buffers.bytes;
    return bytes;
  }

  /**
   * Frees every buffer of the model and its plans. Nothing may use it afterwards: decoders over
   * its weights (gpu-decode.ts) go first; a model that copies its factors (factorsFrom) must have
   * been created. Work already submitted completes (WebGPU defers the destroy).
   */
  destroy(): void {
    this.destroyed = true;
    for (const plan of this.plans.values()) plan.buffers.destroy();
    this.plans.clear();
    this.buffers.destroy();
  }

  /** Embeddings and every layer: the last hidden state of all B·T tokens. */
  private encoderOps(B: number, T: number, training: boolean): PlanOp[] {
    const ops = this.embeddings.forwardOps(B, T, training, this.hidden[0]);
    this.layers.forEach((layer, l) => ops.push(...layer.forwardOps(B, T, training, this.hidden[l], this.hidden[l + 1])));
    return ops;
  }

  /** The head's input: the last layer's output, or its final norm. */
  private get last(): Tensor {
    return this.finalNorm?.out ?? this.hidden[this.layers.length];
  }

  private forwardOps(B: number, T: number, training: boolean): PlanOp[] {
    const ops = this.encoderOps(B, T, training);
    const N = B * T;
    const f = this.finalNorm;
    if (f) ops.push(normForward(this.device, f.norm, prefix(this.hidden[this.layers.length], [N, this.layout.hidden]), prefix(f.out, [N, this.layout.hidden]), f.stats, N));
    return [...ops, ...this.head.forwardOps(B, T, training, this.last)];
  }

  /** The blocks' weights, for generation with a KV cache (gpu-decode.ts), which keeps its own
   * activations: a causal LM's word table, layers, final norm and LM head weight. */
  decodeWeights(): DecodeWeights {
    if (!(this.head instanceof LmHeadBlock)) throw new Error(`${this.layout.modelType}: generation needs a causal-LM head, this model has a ${this.layout.task.loss} head`);
    return { word: this.wordTable('generation'), layers: this.layers, finalNorm: this.finalNorm?.norm ?? null, lmHead: this.head.weight };
  }

  private backwardOps(B: number, T: number): PlanOp[] {
    // The head-only baseline trains nothing below the head: the layers need no backward.
    const { trains } = this.options;
    const belowHead = this.layout.layers.some((l) => l.modules.some((m) => trains('sigma', m.kind) || (m.biasName !== null && trains('bias', m.kind))));
    const { dH, dS } = this.ctx.scratch;
    const f = this.finalNorm;
    const ops = this.head.backwardOps(B, T, this.last, belowHead ? (f ? dS : dH) : null);
    if (!belowHead) return ops;
    const N = B * T;
    const rows = (t: Tensor) => prefix(t, [N, this.layout.hidden]);
    if (f) ops.push(...normBackward(this.device, f.norm, rows(dS), rows(this.hidden[this.layers.length]), f.stats, rows(dH), N));
    for (let l = this.layers.length - 1; l >= 0; l--) ops.push(...this.layers[l].backwardOps(B, T, this.hidden[l], l > 0 || this.tiedTrained));
    if (this.tiedTrained) {
      const { key, rows } = tokenEmbeddings(this.layout, 'a trained tied head').word;
      const entry = entryByName(this.params, key);
      ops.push(...wordTableBackwardOps(this.ctx, B, T, splitView(view(this.gradsTensor, entry.offset, entry.shape), rows, this.layout.hidden, this.ctx.tableChunkBytes)));
    }
    return ops;
  }
}

/** Whether the head is trained: always for a classifier, on request for a causal LM. */
export function trainsHead(layout: ModelLayout, options: Pick<GpuModelOptions, 'trainHead'>): boolean {
  return layout.task.loss !== 'causal-lm' || options.trainHead === true;
}

/** Σ and bias (where the linear has one) of every module (layer-major, in linear order), then
 * the head's weights and biases when it is trained. */
export function trainableSpecs(layout: ModelLayout, trainHead = true): TrainableSpec[] {
  const specs: TrainableSpec[] = [];
  for (const layer of layout.layers) {
    for (const m of layer.modules) {
      specs.push({ name: m.sigmaName, shape: [m.rank], role: 'sigma', layer: layer.index, module: m.kind });
      if (m.biasName) specs.push({ name: m.biasName, shape: [m.dOut], role: 'bias', layer: layer.index, module: m.kind });
    }
  }
  for (const step of trainHead ? layout.head : []) {
    specs.push({ name: step.linear.weight, shape: [step.linear.dOut, step.linear.dIn], role: 'head' });
    if (step.linear.bias) specs.push({ name: step.linear.bias, shape: [step.linear.dOut], role: 'head' });
  }
  return specs;
}

function linearShape(m: ModuleLayout, tokens: number, trains: GpuModelOptions['trains']): LinearShape {
  return { dIn: m.dIn, dOut: m.dOut, tokens, needsSigmaGrad: trains('sigma', m.kind) };
}

/** The measured forms as GpuModelOptions.linearForms takes them. */
export function measuredForms(measurements: readonly FormMeasurement[]): Map<string, LinearForm> {
  return new Map(measurements.map((m) => [linearShapeKey(m.shape), m.form]));
}
