// The VectorFit training loop, read top to bottom: batches in a seeded order, one GPU submission
// per step (forward, loss, backward, AdamW), strength and AVF at AVF steps, evaluation per epoch,
// and events for whoever watches (the worker forwards them to the studio; the CLI prints them).
import { createBuffer, GpuBuffers } from '../gpu/buffers.ts';
import type { Gpu } from '../gpu/device.ts';
import { encodePlan, submitPlan } from '../gpu/plan.ts';
import { readBuffer, readTensor } from '../gpu/readback.ts';
import { encodeDispatches, type Dispatch } from '../gpu/dispatch.ts';
import { createTensor, writeTensor, type Tensor } from '../gpu/tensor.ts';
import { scaleAdd } from '../kernels/elementwise.ts';
import { finite, firstNonFinite } from '../kernels/finite.ts';
import { finite as firstNonFiniteOnCpu } from '../kernels/finite.ref.ts';
import type { ImageDecoder } from '../io/images/decode.ts';
import { collateCausalLm } from '../io/causal-lm-data.ts';
import { collateTokenRows } from '../io/token-task-data.ts';
import { attentionMaskOf, pixelBatch, type ModelBatch } from '../model/batch.ts';
import { unreachable } from '../util/unreachable.ts';
import { GpuModel, measuredForms, type GpuModelOptions } from '../model/gpu-model.ts';
import { assertFitsAdapter, describeMemory, estimateTrainingMemory, GpuMemoryError } from '../model/memory.ts';
import { playgroundDecoders } from '../model/gpu-decode.ts';
import { bindingLimit } from '../model/split-table.ts';
import type { TrainableEntry } from '../model/parameter-layout.ts';
import { vectorRows } from '../model/architectures.ts';
import { lossItems } from '../model/task.ts';
import type { ModuleKind, VectorId, VectorRow } from '../model/types.ts';
import type { Dataset, EncodedImage, Example, ModelFiles } from '../io/types.ts';
import type { EngineEvent, ModelSummary, Prediction } from '../worker/protocol.ts';
import type { TrainConfig } from './types.ts';
import { applyAvfStep, createAvfState, isAvfStep, type AvfState } from './avf.ts';
import { BatchSampler } from './batches.ts';
import { effectiveBatch } from './defaults.ts';
import { deltaSpectrum, type DeltaSpectrum, type SigmaPair } from './delta-spectrum.ts';
import { pooledLoss, perplexity } from './lm-metrics.ts';
import { ImagePixels } from './image-pixels.ts';
import { loadModel, textModel, type LoadedModel } from './load.ts';
import { defaultWatchedMetric, improves, TASK_METRICS, taskMetrics, validationLoss } from './metrics.ts';
import { Optimizer } from './optimizer.ts';
import { learningRate } from './schedule.ts';
import { variantTrains, variantUsesAvf } from './variants.ts';
import { evaluateNer, evaluateQa } from './token-task-eval.ts';

export type Emit = (event: EngineEvent) => void;

/** One line of the training log (exported as JSONL). */
export type LogRecord =
  /** gradNorm: the global L2 norm of the step's gradients before clipping (absent in logs saved
   * before it was kept). */
  | { type: 'step'; step: number; epoch: number; loss: number; lr: number; gradNorm?: number; seconds: number }
  | { type: 'avf'; step: number; frozen: string[]; released: string[] }
  | { type: 'eval'; step: number; epoch: number; metrics: Record<string, number> }
  | { type: 'early-stop'; step: number; metric: string; bestStep: number; best: number };

/** Sequences are padded up to a multiple of this, so a run compiles only a few plan shapes. */
const SEQ_BUCKET = 8;
/** The studio's heatmap needs no more than this many updates per second. */
const STRENGTH_INTERVAL_MS = 100;
/** ΔW's spectrum changes slowly and costs a readback of every Σ and a sort per module (≈5 ms at
 * BERT-base on the CPU): once a second is live enough. */
const DELTA_SPECTRUM_INTERVAL_MS = 1000;

export interface TrainerOptions {
  gpu: Gpu;
  files: ModelFiles;
  dataset: Dataset;
  config: TrainConfig;
  emit: Emit;
  /** The engine's own choices (linear forms, the frozen-module skip); defaults otherwise. */
  engine?: Pick<GpuModelOptions, 'linearForms' | 'skipFrozenModules'>;
  /** The trainer of the previous load of the same model files: its factors are reused. */
  previous?: Trainer;
  /** How this platform decodes image files (an image model's rows): decodeImageBrowser in the
   * worker, decodeImageNode in Node. Required for an image model. */
  decodeImage?: ImageDecoder;
}

export class Trainer {
  /** Optimizer steps completed. */
  step = 0;
  readonly totalSteps: number;
  readonly log: LogRecord[] = [];
  readonly strengthHistory: { step: number; values: number[] }[] = [];
  lastMetrics: Record<string, number> = {};
  /** The validation metric the best checkpoint and early stopping follow. */
  readonly watchedMetric: string;
  /** Best checkpoint so far and evaluations since it improved (part of every snapshot). */
  private watch: WatchState = { stale: 0, stopped: false };
  /** Wall-clock seconds spent training (evaluations excluded) and real tokens seen, all runs. */
  trainingSeconds = 0;
  trainingTokens = 0;
  private evalSeconds = 0;

  private readonly sampler: BatchSampler;
  private readonly avf: AvfState;
  private readonly avfCandidate: Uint8Array;
  private readonly vectorEntries: TrainableEntry[];
  /** Per step, read back in one piece: the first non-finite element (finite.wgsl's code) of
   * the loss, the parameters, and AdamW's two moments, then the f32 bits of the gradient norm
   * and of each micro-batch's loss. */
  private readonly health: Tensor;
  private readonly healthChecks: Dispatch[];
  /** Micro-batches of a step (gradient accumulation), and how each one's gradient is added, by
   * its weight, into the sum the optimizer reads (null: one batch, read as it is). */
  private readonly microBatches: number;
  /** The device's uncaptured errors when the trainer was made: any later one stops the run. */
  private readonly gpuErrorsBefore: number;
  private readonly accumulate: { weight: Tensor; first: Dispatch; rest: Dispatch } | null;
  /** Σ entries of the parameter buffer, and the bytes from its start that cover them all. */
  private readonly sigmaEntries: TrainableEntry[];
  private readonly sigmaBytes: number;
  /** Σ₀ (and whatever lies between) from the start of the initial buffer; read once. */
  private initialSigmas?: Promise<Float32Array>;
  /** The heatmap's rows: this model's vectors (Σ of each linear, then the biases it has). */
  private readonly rows: VectorRow[];
  private lastStrengthAt = 0;
  private lastSpectrumAt = -Infinity;
  private training = false;
  private readonly betweenSteps: (() => Promise<void>)[] = [];
  /** Exclusive tasks not settled yet (predictions, exports, generation), and whether new ones
   * are refused (the trainer is being destroyed). */
  private readonly tasks = new Set<Promise<unknown>>();
  private closed = false;
  private startedAt = 0;
  private stepsAtStart = 0;
  private tokensSinceStart = 0;

  private constructor(
    readonly gpu: Gpu,
    readonly loaded: LoadedModel,
    readonly model: GpuModel,
    readonly optimizer: Optimizer,
    readonly dataset: Dataset,
    readonly config: TrainConfig,
    private readonly emit: Emit,
    /** The trainer's own buffers (the health check's); the model and optimizer own theirs. */
    private readonly buffers: GpuBuffers,
    /** An image model's pixel values of rows (undefined for a text model). */
    private readonly pixels?: ImagePixels,
  ) {
    this.gpuErrorsBefore = gpu.errors.length;
    this.microBatches = config.gradientAccumulation ?? 1;
    this.sampler = new BatchSampler(dataset.train.length, effectiveBatch(config), config.seed);
    this.totalSteps = this.sampler.stepsPerEpoch * config.epochs;
    this.avf = createAvfState(model.params.slotCount);
    this.vectorEntries = model.params.entries.filter((e) => e.role !== 'head');
    this.rows = vectorRows(model.layout);
    this.avfCandidate = new Uint8Array(model.params.slotCount);
    this.watchedMetric = config.metric ?? defaultWatchedMetric(dataset.task);
    this.sigmaEntries = this.vectorEntries.filter((e) => e.role === 'sigma');
    this.sigmaBytes = 4 * Math.max(0, ...this.sigmaEntries.map((e) => e.offset + e.length));
    this.health = createTensor(gpu.device, [HEALTH_CHECKS.length + 1 + this.microBatches], 'u32', 'step health');
    if (optimizer.grads === model.gradsTensor) this.accumulate = null;
    else {
      const weight = createTensor(gpu.device, [1], 'f32', 'micro-batch weight');
      const sum = { x: model.gradsTensor, weight, out: optimizer.grads, n: model.params.size };
      this.accumulate = { weight, first: scaleAdd(gpu.device, sum), rest: scaleAdd(gpu.device, { ...sum, accumulate: true }) };
    }
    const checked = { loss: model.loss, params: model.paramsTensor, m: optimizer.m, v: optimizer.v };
    this.healthChecks = HEALTH_CHECKS.map(({ tensor }, slot) => finite(gpu.device, { input: checked[tensor], out: this.health, slot }));
    if (variantUsesAvf(config.variant)) {
      for (const e of this.vectorEntries) this.avfCandidate[e.slot] = variantTrains(config.variant, e.role as 'sigma' | 'bias', e.module!) ? 1 : 0;
    }
  }

  static async create({ gpu, files, dataset, config, emit, engine, decodeImage, previous }: TrainerOptions): Promise<Trainer> {
    if (!dataset.train.length) throw new Error(`${dataset.name}: the training split is empty`);
    if (config.metric !== undefined) {
      const known = TASK_METRICS[dataset.task];
      if (!known.includes(config.metric)) throw new Error(`metric ${config.metric} is not a ${dataset.task} metric: choose one of ${known.join(', ')}`);
    }
    const micro = config.gradientAccumulation ?? 1;
    if (!Number.isInteger(micro) || micro < 1) throw new Error(`gradient accumulation must be a whole number of micro-batches (1 or more), not ${micro}`);
    if ((config.patience ?? 0) > 0 && !dataset.validation.length) throw new Error(`${dataset.name}: early stopping (patience ${config.patience}) needs a validation split`);
    emit({ type: 'progress', phase: 'reading', done: 0, total: 1, message: `Reading ${files.name}` });
    const loaded = await loadModel(files, dataset, config.seed);
    const layout = loaded.weights.layout;
    let pixels: ImagePixels | undefined;
    if (loaded.input === 'pixels') {
      if (!decodeImage) throw new Error(`${loaded.name} is an image model: the trainer needs an image decoder (TrainerOptions.decodeImage)`);
      pixels = new ImagePixels(decodeImage, loaded.imageProcessor);
    }
    const maxSeq = planSequence(loaded, config.maxLength);
    // State what the run needs against what the adapter allows, and refuse before allocating.
    // A causal LM's playground generates beside the run (base and fine-tuned): its decoders are
    // counted too (an upper bound for the CLI, which has no playground).
    const generation = layout.task.loss === 'causal-lm' ? playgroundDecoders(layout) : undefined;
    const memory = estimateTrainingMemory(layout, config.batchSize, maxSeq, generation, bindingLimit(gpu.limits));
    emit({ type: 'progress', phase: 'reading', done: 1, total: 1, message: describeMemory(memory, gpu.limits) });
    assertFitsAdapter(memory, gpu.limits);
    const trains = (kind: 'sigma' | 'bias', module: ModuleKind) => variantTrains(config.variant, kind, module);
    const shape = { maxBatch: config.batchSize, maxSeq, trains };
    // On a GPU each module shape takes the linear form measured faster there (none on software).
    const linearForms = engine?.linearForms ?? measuredForms(await GpuModel.measureLinearForms(gpu, layout, shape));
    // A GPU too small for the run shows here, as WebGPU reports it: an error event, not an
    // exception, and buffers it could not make are invalid (every dispatch on them silently does
    // nothing). Caught in an error scope over everything the run allocates, it refuses the run.
    const build = async (): Promise<Trainer> => {
      const model = await GpuModel.create(gpu.device, loaded.weights, loaded.config.dropout, {
        ...shape,
        linearForms,
        factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu',
        onFactored: (done, total, path) => emit({ type: 'progress', phase: 'factoring', done, total, message: `SVD of ${path}` }),
        factorsFrom: previous && previous.gpu === gpu ? previous.model : undefined,
        ...engine,
      });
      const trainsSlot = (slot: number) => {
        const entry = model.params.entries.find((e) => e.slot === slot);
        return !!entry && (entry.role === 'head' || variantTrains(config.variant, entry.role, entry.module!));
      };
      const buffers = new GpuBuffers(gpu.device);
      let optimizer: Optimizer | undefined;
      let trainer: Trainer;
      try {
        // Accumulated micro-batches sum their gradients into a buffer of their own, which the
        // optimizer reads; a step of one batch reads the model's gradients as they are.
        const accumulated = micro > 1 ? buffers.collect(() => createTensor(gpu.device, [model.params.size], 'f32', 'accumulated grads')) : undefined;
        optimizer = new Optimizer(model, hyperAt(config, 1, 1), trainsSlot, { maxGradNorm: config.maxGradNorm || undefined, grads: accumulated });
        const made = optimizer;
        trainer = buffers.collect(() => new Trainer(gpu, loaded, model, made, dataset, config, emit, buffers, pixels));
      } catch (error) {
        buffers.destroy();
        optimizer?.destroy();
        model.destroy();
        throw error;
      }
      return trainer;
    };
    gpu.device.pushErrorScope('out-of-memory');
    let trainer: Trainer | undefined;
    let failure: unknown;
    try {
      trainer = await build();
    } catch (error) {
      failure = error;
    }
    const outOfMemory = await gpu.device.popErrorScope();
    if (outOfMemory) {
      await trainer?.destroy();
      throw new GpuMemoryError(
        `The GPU ran out of memory setting up the run (${outOfMemory.message.trim() || 'no details'}). ${describeMemory(memory, gpu.limits)}. ` +
          'Lower the batch size (gradient accumulation keeps the effective batch) or the max length.',
      );
    }
    if (!trainer) throw failure;
    emit({ type: 'model', summary: trainer.summary(), totalSteps: trainer.totalSteps });
    return trainer;
  }

  summary(): ModelSummary {
    const { config } = this.loaded;
    let trainable = 0;
    for (const e of this.model.params.entries) if (!this.optimizer.alwaysFrozen[e.slot]) trainable += e.length;
    return {
      name: this.loaded.name,
      modelType: config.modelType,
      input: this.loaded.input,
      layers: config.layers,
      hidden: config.hidden,
      totalParameters: this.loaded.totalParameters,
      trainableParameters: trainable,
      numLabels: config.numLabels,
      vectorRows: this.rows,
      headNote: this.loaded.headNote,
      gpuBytes: this.allocatedBytes,
    };
  }

  get stepsPerEpoch(): number {
    return this.sampler.stepsPerEpoch;
  }

  /** The last step, or early stopping, ended the run. */
  get finished(): boolean {
    return this.step >= this.totalSteps || this.watch.stopped;
  }

  /** The best checkpoint by the watched metric (undefined before the first evaluation). */
  get best(): BestCheckpoint | undefined {
    return this.watch.best;
  }

  get stoppedEarly(): boolean {
    return this.watch.stopped;
  }

  /** Trains until the last step or until `interrupted()` says so (checked between steps). */
  async train(interrupted: () => boolean): Promise<void> {
    this.startedAt = performance.now();
    this.stepsAtStart = this.step;
    this.tokensSinceStart = 0;
    this.evalSeconds = 0;
    this.training = true;
    try {
      while (!this.finished && !interrupted()) {
        const { loss, after } = await this.runStep();
        await Promise.all([loss, after]);
        for (const task of this.betweenSteps.splice(0)) await task();
      }
    } finally {
      this.training = false;
      this.trainingSeconds += (performance.now() - this.startedAt) / 1000 - this.evalSeconds;
      this.trainingTokens += this.tokensSinceStart;
      for (const task of this.betweenSteps.splice(0)) await task();
    }
  }

  /** Runs `task` when no step is in flight: at once when idle, else between two steps
   * (a prediction swaps the parameters; an export wants a consistent snapshot). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error('This model was unloaded: load it again.'));
    const run = this.training
      ? new Promise<T>((resolve, reject) => {
          this.betweenSteps.push(() => task().then(resolve, reject));
        })
      : task();
    this.tasks.add(run);
    const settled = () => this.tasks.delete(run);
    run.then(settled, settled);
    return run;
  }

  /** Refuses new exclusive tasks and waits for those in flight: after it, nothing of the
   * trainer's own runs on the GPU (whoever holds decoders over its model frees them now). */
  async close(): Promise<void> {
    if (this.training) throw new Error('Trainer.close: the run is still training; stop it first');
    this.closed = true;
    while (this.tasks.size) await Promise.allSettled([...this.tasks]);
  }

  /** Closes the trainer and frees every GPU buffer it owns: the model's (weights, factors,
   * activations, plans), the optimizer's and its own. A model created from this one's factors
   * (TrainerOptions.previous) must have been created first. */
  async destroy(): Promise<void> {
    await this.close();
    this.optimizer.destroy();
    this.model.destroy();
    this.buffers.destroy();
  }

  /** Bytes of GPU memory the trainer holds now (model, plans, optimizer and its own). */
  get allocatedBytes(): number {
    return this.model.allocatedBytes + this.optimizer.allocatedBytes + this.buffers.bytes;
  }

  /** Submits one step; returns its loss reading and its end-of-step bookkeeping (AVF,
   * strength, evaluation), which wait on the GPU concurrently. */
  private async runStep(): Promise<{ loss: Promise<void>; after: Promise<void> }> {
    const t = this.step + 1;
    const { epoch, indices } = this.sampler.batch(t);
    // Read (and for images decode) every micro-batch before counting the step: a bad row stops
    // the run with the step count still that of the last step taken.
    const micro: { batch: ModelBatch; labels: readonly number[] | Int32Array }[] = [];
    for (let start = 0; start < indices.length; start += this.config.batchSize) {
      micro.push(await this.batchOf(Array.from(indices.subarray(start, start + this.config.batchSize), (i) => this.dataset.train[i])));
    }
    this.step = t;
    const hyper = hyperAt(this.config, t, this.totalSteps);
    this.optimizer.setHyper(hyper);
    // Each micro-batch's mean loss counts by its share of the step's loss items, so the summed
    // gradient is that of the mean over the whole effective batch.
    const items = micro.map(({ batch, labels }) => lossItems(this.model.layout.task, labels, batch.batch, batch.seq));
    const total = items.reduce((a, b) => a + b, 0);
    const weights = items.map((n) => (micro.length === 1 ? 1 : total > 0 ? n / total : 0));
    const { device } = this.gpu;
    const lossSlot = (i: number) => 4 * (HEALTH_CHECKS.length + 1 + i);
    for (const [i, { batch, labels }] of micro.entries()) {
      // Micro-batches share the model's input buffers: each is written, then submitted, in queue order.
      this.model.setBatch(batch, labels);
      device.queue.writeBuffer(this.model.seedTensor.buffer, 0, Uint32Array.of(i === 0 ? stepSeed(this.config.seed, t) : stepSeed(stepSeed(this.config.seed, t), i)));
      // A plan of new shapes may hold products not yet measured on this GPU: measure them before
      // its first step (the plan is rebuilt with the faster kernels; the numbers do not change).
      let plan = this.model.trainPlan(batch.batch, batch.seq);
      const onProduct = (done: number, total: number) =>
        this.emit({ type: 'progress', phase: 'tuning', done, total, message: `timing matmul kernels on this GPU (once per shape): ${done} of ${total} products` });
      if ((await this.model.tuneMatmuls(this.gpu, { onProduct })).length) plan = this.model.trainPlan(batch.batch, batch.seq);
      const encoder = device.createCommandEncoder();
      encodePlan(encoder, plan);
      const last = i === micro.length - 1;
      if (this.accumulate) writeTensor(device, this.accumulate.weight, [weights[i]]);
      // The updated parameters and the loss are checked for NaN/±Inf on the GPU, and the losses
      // and gradient norm are copied beside the verdicts, so the one small readback per step
      // carries all: a diverging run can hide NaN Σ behind a finite loss (frozen or saturated
      // paths), and must stop anyway.
      if (last) encoder.clearBuffer(this.health.buffer, 0, 4 * HEALTH_CHECKS.length);
      const pass = encoder.beginComputePass();
      if (this.accumulate) encodeDispatches(pass, [i === 0 ? this.accumulate.first : this.accumulate.rest]);
      if (last) {
        encodeDispatches(pass, this.optimizer.update);
        encodeDispatches(pass, this.healthChecks);
      }
      pass.end();
      encoder.copyBufferToBuffer(this.model.loss.buffer, this.model.loss.byteOffset ?? 0, this.health.buffer, lossSlot(i), 4);
      if (last) encoder.copyBufferToBuffer(this.optimizer.clip.buffer, 4, this.health.buffer, 4 * HEALTH_CHECKS.length, 4);
      device.queue.submit([encoder.finish()]);
      this.tokensSinceStart += attentionMaskOf(batch).reduce((a, b) => a + b, 0);
    }

    const loss = readBuffer(device, this.health.buffer, lossSlot(micro.length)).then((bytes) => {
      const verdicts = new Uint32Array(bytes, 0, HEALTH_CHECKS.length);
      const [gradNorm, ...losses] = new Float32Array(bytes, 4 * HEALTH_CHECKS.length, 1 + micro.length);
      const value = losses.reduce((sum, l, i) => sum + weights[i] * l, 0);
      // WebGPU reports a failed call (out of memory mid-run, an invalid dispatch) as an event and
      // carries on without it: a step after one computed nothing trustworthy.
      const reported = this.gpu.errors.slice(this.gpuErrorsBefore);
      if (reported.length) throw new Error(`WebGPU reported ${reported.length === 1 ? 'an error' : `${reported.length} errors`} by step ${t}, so the run stopped: ${reported.join('; ')}`);
      const seconds = (performance.now() - this.startedAt) / 1000 - this.evalSeconds;
      const done = t - this.stepsAtStart;
      this.log.push({ type: 'step', step: t, epoch, loss: value, lr: hyper.lr, gradNorm, seconds });
      this.emit({
        type: 'step', step: t, totalSteps: this.totalSteps, epoch, loss: value, lr: hyper.lr, gradNorm,
        stepsPerSecond: done / seconds, tokensPerSecond: this.tokensSinceStart / seconds,
      });
      if (!Number.isFinite(value)) throw new DivergenceError(t, `the loss became ${value}`);
      HEALTH_CHECKS.forEach(({ what }, slot) => {
        const bad = firstNonFinite(verdicts[slot]);
        if (bad >= 0) throw new DivergenceError(t, slot === 0 ? `the loss became ${value}` : `${what}${this.elementName(bad)} became NaN or infinite in the update`);
      });
    });
    return { loss, after: this.afterStep(t, epoch, loss) };
  }

  /** AVF, strength and evaluation of step t, once `healthy` says its parameters are finite. */
  private async afterStep(t: number, epoch: number, healthy: Promise<void>): Promise<void> {
    const avfNow = isAvfStep(t, this.config.avf) && variantUsesAvf(this.config.variant);
    const showStrength = avfNow || t === this.totalSteps || performance.now() - this.lastStrengthAt >= STRENGTH_INTERVAL_MS;
    if (showStrength) submitPlan(this.gpu.device, [this.optimizer.strength]);
    const reading = showStrength ? this.optimizer.readStrength() : undefined;
    const showSpectrum = showStrength && (t === this.totalSteps || performance.now() - this.lastSpectrumAt >= DELTA_SPECTRUM_INTERVAL_MS);
    const spectrum = showSpectrum ? this.deltaSpectrum() : undefined;
    // When the step fails, these readings are left unawaited: a failure of theirs (a lost device)
    // must not surface again as an unhandled rejection.
    for (const pending of [reading, spectrum]) pending?.catch(() => {});
    await healthy;
    if (reading) {
      const strength = await reading;
      if (avfNow) {
        const change = applyAvfStep(this.avf, strength, this.avfCandidate, this.config.avf);
        this.optimizer.setAvfFrozen(this.avf.frozen);
        this.model.setFrozenVectors(this.frozenVectorNames());
        const frozen = change.frozen.map((s) => this.vectorId(s));
        const released = change.released.map((s) => this.vectorId(s));
        this.log.push({ type: 'avf', step: t, frozen: change.frozen.map((s) => this.slotName(s)), released: change.released.map((s) => this.slotName(s)) });
        this.emit({ type: 'avf', step: t, frozen, released });
      }
      this.emitStrength(t, strength);
      if (spectrum) {
        this.lastSpectrumAt = performance.now();
        this.emit({ type: 'deltaSpectrum', step: t, ...(await spectrum) });
      }
    }
    const endOfEpoch = t % this.sampler.stepsPerEpoch === 0 || t === this.totalSteps;
    const periodic = this.config.evalEvery > 0 && t % this.config.evalEvery === 0;
    if ((endOfEpoch || periodic) && this.dataset.validation.length) {
      const start = performance.now();
      this.lastMetrics = await this.evaluate();
      this.log.push({ type: 'eval', step: t, epoch, metrics: this.lastMetrics });
      this.emit({ type: 'eval', step: t, epoch, metrics: this.lastMetrics });
      await this.watchMetric(t);
      this.evalSeconds += (performance.now() - start) / 1000;
    }
  }

  /** Keeps the best checkpoint (parameters and optimizer state, as an epoch checkpoint) and stops
   * the run after `patience` evaluations without a strict improvement. */
  private async watchMetric(t: number): Promise<void> {
    const metric = this.watchedMetric;
    const value = this.lastMetrics[metric];
    if (improves(metric, value, this.watch.best?.value)) {
      const s = await this.snapshot();
      const best = { step: t, value, metrics: { ...this.lastMetrics }, params: s.params, m: s.m, v: s.v, steps: s.steps, avfEma: s.avfEma, avfFrozen: s.avfFrozen };
      this.watch = { stale: 0, stopped: false, best };
      this.emit({ type: 'best', step: t, metric, value });
      return;
    }
    this.watch.stale++;
    const patience = this.config.patience ?? 0;
    if (patience > 0 && this.watch.stale >= patience && this.watch.best) {
      this.watch.stopped = true;
      const { step: bestStep, value: best } = this.watch.best;
      this.log.push({ type: 'early-stop', step: t, metric, bestStep, best });
      this.emit({ type: 'earlyStop', step: t, metric, bestStep, best });
    }
  }

  /** Runs `task` with the best checkpoint's parameters on the GPU, then puts the current ones back
   * (call through `exclusive`). */
  async withBestParameters<T>(task: () => Promise<T>): Promise<T> {
    const best = this.watch.best;
    if (!best) throw new Error('there is no best checkpoint yet: it is taken at the first evaluation on validation data');
    return this.withParameters(best.params, task);
  }

  /** Runs `task` with the given flat trainable parameters on the GPU, then puts the current ones
   * back (call through `exclusive`). */
  async withParameters<T>(params: ArrayLike<number>, task: () => Promise<T>): Promise<T> {
    if (params.length !== this.model.params.size) throw new Error(`withParameters: ${params.length} values for ${this.model.params.size}`);
    const current = await readTensor(this.gpu.device, this.model.paramsTensor);
    this.gpu.device.queue.writeBuffer(this.model.paramsTensor.buffer, 0, Float32Array.from(params));
    try {
      return await task();
    } finally {
      this.gpu.device.queue.writeBuffer(this.model.paramsTensor.buffer, 0, current);
    }
  }

  /** ΔW's spectrum of every factored module now (see delta-spectrum.ts). */
  async deltaSpectrum(): Promise<DeltaSpectrum> {
    return deltaSpectrum(await this.sigmaPairs());
  }

  /** Σ and Σ₀ of every factored module, by module path: one readback of the Σs. */
  async sigmaPairs(): Promise<SigmaPair[]> {
    const device = this.gpu.device;
    this.initialSigmas ??= readBuffer(device, this.model.initialTensor.buffer, this.sigmaBytes).then((b) => new Float32Array(b));
    const params = new Float32Array(await readBuffer(device, this.model.paramsTensor.buffer, this.sigmaBytes));
    const initial = await this.initialSigmas;
    return this.sigmaEntries.map((e) => ({
      path: e.name.slice(0, -'.sigma'.length),
      layer: e.layer!,
      module: e.module!,
      sigma: params.subarray(e.offset, e.offset + e.length),
      initial: initial.subarray(e.offset, e.offset + e.length),
    }));
  }

  private emitStrength(step: number, strength: Float32Array): void {
    this.lastStrengthAt = performance.now();
    const layers = this.loaded.config.layers;
    const rows = this.rows;
    const cells = layers * rows.length;
    const values = new Float32Array(cells);
    const frozen = new Uint8Array(cells);
    const trainable = new Uint8Array(cells);
    for (const e of this.vectorEntries) {
      const cell = e.layer! * rows.length + rows.findIndex((r) => r.kind === e.role && r.module === e.module);
      values[cell] = strength[e.slot];
      frozen[cell] = this.avf.frozen[e.slot];
      trainable[cell] = this.optimizer.alwaysFrozen[e.slot] ? 0 : 1;
    }
    this.strengthHistory.push({ step, values: Array.from(values) });
    this.emit({ type: 'strength', step, layers, rows, values, frozen, trainable });
  }

  private vectorId(slot: number): VectorId {
    const e = this.model.params.entries.find((x) => x.slot === slot)!;
    return { layer: e.layer!, module: e.module!, kind: e.role as 'sigma' | 'bias' };
  }

  /** `<tensor name>[i]` of an element of the flat parameter buffer. */
  private elementName(index: number): string {
    const e = this.model.params.entries.find((x) => index >= x.offset && index < x.offset + x.length);
    return e ? `${e.name}[${index - e.offset}]` : `parameter padding element ${index}`;
  }

  private slotName(slot: number): string {
    return this.model.params.entries.find((x) => x.slot === slot)!.name;
  }

  /** The model's inputs and labels: tokenized text or an image model's pixel values with one label
   * per row; a causal LM's token ids with per-token labels (cut to maxLength, keeping the start);
   * QA windows (a start and an end) or NER sentences (per-token tags) as tokenized; token ids
   * padded up to the next sequence bucket. */
  async batchOf(examples: readonly Example[]): Promise<{ batch: ModelBatch; labels: readonly number[] | Int32Array }> {
    const { task } = this.dataset;
    if (task === 'question-answering' || task === 'token-classification') {
      const rows = examples.map(({ tokens }) => {
        if (!tokens) throw new Error(`${this.dataset.name}: a ${task} row has no token ids (build them with token-task-data.ts)`);
        return tokens;
      });
      return collateTokenRows(rows, textModel(this.loaded, `${task} data`).tokenizer.padId, SEQ_BUCKET, task === 'token-classification');
    }
    if (task !== 'causal-lm') return { batch: await this.inputsOf(examples), labels: examples.map((e) => e.label) };
    const maxLength = Math.min(this.config.maxLength, this.loaded.weights.layout.maxSequence);
    const rows = examples.map(({ tokens }) => {
      if (!tokens) throw new Error(`${this.dataset.name}: a causal-LM dataset row has no token ids (read causal-LM files with causalLmReader, train/load.ts)`);
      return { inputIds: tokens.inputIds.slice(0, maxLength), labels: tokens.labels.slice(0, maxLength) };
    });
    const batch = collateCausalLm(rows, textModel(this.loaded, 'causal-LM data').tokenizer.padId, SEQ_BUCKET);
    return { batch, labels: batch.labels };
  }

  /** A classifier's input for rows: tokenized text, padded up to the next bucket, or the pixel
   * values of an image model. */
  async inputsOf(examples: readonly Example[]): Promise<ModelBatch> {
    const { loaded } = this;
    switch (loaded.input) {
      case 'tokens': {
        const maxLength = Math.min(this.config.maxLength, loaded.weights.layout.maxSequence);
        return loaded.tokenizer.encodeBatch(examples, { maxLength, padToMultipleOf: SEQ_BUCKET });
      }
      case 'pixels':
        return pixelBatch(loaded.weights.layout, await this.pixels!.batch(examples, this.dataset.name), examples.length);
      default:
        return unreachable(loaded, 'model input');
    }
  }

  /** Logits of examples under the current parameters (no dropout), [examples, labels]. */
  async logits(examples: readonly Example[]): Promise<Float32Array> {
    const { task } = this.dataset;
    if (task !== 'classification' && task !== 'regression') throw new Error(`a ${task} model has no per-example logits over labels`);
    const numLabels = this.loaded.config.numLabels;
    const out = new Float32Array(examples.length * numLabels);
    for (let start = 0; start < examples.length; start += this.config.batchSize) {
      const chunk = examples.slice(start, start + this.config.batchSize);
      const batch = await this.inputsOf(chunk);
      this.model.setBatch(batch);
      submitPlan(this.gpu.device, this.model.evalPlan(batch.batch, batch.seq));
      const logits = await readTensor(this.gpu.device, this.model.logits);
      out.set(logits.subarray(0, chunk.length * numLabels), start * numLabels);
    }
    return out;
  }

  async evaluate(): Promise<Record<string, number>> {
    const { validation, task } = this.dataset;
    if (task === 'causal-lm') return this.causalLmValidation();
    const tokenEval = { device: this.gpu.device, model: this.model, dataset: this.dataset, batchSize: this.config.batchSize, batchOf: (e: readonly Example[]) => this.batchOf(e) };
    if (task === 'question-answering') return evaluateQa(tokenEval);
    if (task === 'token-classification') return evaluateNer(tokenEval);
    const numLabels = this.loaded.config.numLabels;
    const logits = await this.logits(validation);
    const predictions = task === 'regression' ? Array.from(logits) : validation.map((_, i) => argmax(logits.subarray(i * numLabels, (i + 1) * numLabels)));
    const golds = validation.map((e) => e.label);
    return { ...taskMetrics(task, numLabels, predictions, golds), loss: validationLoss(task, numLabels, logits, golds) };
  }

  /** Validation loss and perplexity of a causal LM, pooled over every predicted token. */
  private async causalLmValidation(): Promise<Record<string, number>> {
    const batches: { loss: number; tokens: number }[] = [];
    const { validation } = this.dataset;
    for (let start = 0; start < validation.length; start += this.config.batchSize) {
      const { batch, labels } = await this.batchOf(validation.slice(start, start + this.config.batchSize));
      this.model.setBatch(batch, labels);
      submitPlan(this.gpu.device, this.model.lossPlan(batch.batch, batch.seq, false));
      const [loss, tokens] = await readTensor(this.gpu.device, this.model.loss);
      batches.push({ loss, tokens });
    }
    const loss = pooledLoss(batches);
    return { loss, perplexity: perplexity(loss) };
  }

  /** The fine-tuned model's prediction beside the base model's (initial Σ, biases and head). */
  async predict(text: string, textPair?: string): Promise<{ base: Prediction; tuned: Prediction }> {
    if (this.loaded.input !== 'tokens') throw new Error(`${this.loaded.name} is an image model: it predicts on images, not text`);
    return this.predictExample({ text, textPair, label: 0 });
  }

  /** An image model's prediction on one image (PNG or JPEG bytes), beside the base model's. */
  async predictImage(image: EncodedImage): Promise<{ base: Prediction; tuned: Prediction }> {
    if (this.loaded.input !== 'pixels') throw new Error(`${this.loaded.name} is a text model: it predicts on text, not images`);
    return this.predictExample({ text: image.path, label: 0, image });
  }

  private async predictExample(example: Example): Promise<{ base: Prediction; tuned: Prediction }> {
    const tuned = this.toPrediction(await this.logits([example]));
    const bytes = this.model.params.size * 4;
    const backup = createBuffer(this.gpu.device, { label: 'parameters backup', size: bytes, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const copy = (from: GPUBuffer, to: GPUBuffer) => {
      const encoder = this.gpu.device.createCommandEncoder();
      encoder.copyBufferToBuffer(from, 0, to, 0, bytes);
      this.gpu.device.queue.submit([encoder.finish()]);
    };
    copy(this.model.paramsTensor.buffer, backup);
    copy(this.model.initialTensor.buffer, this.model.paramsTensor.buffer);
    try {
      return { base: this.toPrediction(await this.logits([example])), tuned };
    } finally {
      copy(backup, this.model.paramsTensor.buffer);
      await this.gpu.device.queue.onSubmittedWorkDone();
      backup.destroy();
    }
  }

  private toPrediction(logits: Float32Array): Prediction {
    if (this.dataset.task === 'regression') return { scores: [logits[0]], label: logits[0].toFixed(3) };
    const max = Math.max(...logits);
    const exp = Array.from(logits, (x) => Math.exp(x - max));
    const sum = exp.reduce((a, b) => a + b, 0);
    const scores = exp.map((e) => e / sum);
    return { scores, label: this.dataset.labelNames[argmax(scores)] ?? String(argmax(scores)) };
  }

  /** Trainable tensors as they are now, by export name. */
  async trainedTensors(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const all = await readTensor(this.gpu.device, this.model.paramsTensor);
    return new Map(this.model.params.entries.map((e) => [e.name, { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) }]));
  }

  /** Export names of the vectors AVF keeps frozen now (or in a checkpoint's AVF state). */
  frozenVectorNames(frozen: ArrayLike<number> = this.avf.frozen): string[] {
    return this.vectorEntries.filter((e) => frozen[e.slot]).map((e) => e.name);
  }

  /** Sets the trainable tensors from exported vectors (same base model and variant layout). */
  importVectors(tensors: ReadonlyMap<string, Float32Array>): void {
    const missing = this.model.params.entries.filter((e) => !tensors.has(e.name)).map((e) => e.name);
    if (missing.length) throw new Error(`the vectors lack ${missing.length} tensor(s) of this model: ${missing.slice(0, 4).join(', ')}`);
    for (const e of this.model.params.entries) {
      const data = tensors.get(e.name)!;
      if (data.length !== e.length) throw new Error(`${e.name} has ${data.length} values, this model needs ${e.length}`);
      this.gpu.device.queue.writeBuffer(this.model.paramsTensor.buffer, e.offset * 4, data);
    }
  }

  /** Everything needed to continue this run exactly where it is. */
  async snapshot(): Promise<TrainerSnapshot> {
    const state = await this.optimizer.readState();
    const params = await readTensor(this.gpu.device, this.model.paramsTensor);
    // A checkpoint must stay a safe place to return to: never write a diverged state into it.
    for (const [what, data] of [['parameter', params], ['AdamW first moment', state.m], ['AdamW second moment', state.v]] as const) {
      const bad = firstNonFiniteOnCpu(data);
      if (bad >= 0) throw new DivergenceError(this.step, `the ${what} of ${this.elementName(bad)} is ${data[bad]}; no checkpoint written`);
    }
    return {
      step: this.step,
      params,
      initial: await readTensor(this.gpu.device, this.model.initialTensor),
      m: state.m,
      v: state.v,
      steps: state.steps,
      avfEma: Float64Array.from(this.avf.ema),
      avfFrozen: Uint8Array.from(this.avf.frozen),
      log: [...this.log],
      watch: { ...this.watch },
    };
  }

  restore(snapshot: TrainerSnapshot): void {
    const size = this.model.params.size;
    if (snapshot.params.length !== size || snapshot.avfEma.length !== this.model.params.slotCount) {
      throw new Error('the checkpoint belongs to a different model or variant');
    }
    this.gpu.device.queue.writeBuffer(this.model.paramsTensor.buffer, 0, Float32Array.from(snapshot.params));
    this.gpu.device.queue.writeBuffer(this.model.initialTensor.buffer, 0, Float32Array.from(snapshot.initial));
    this.initialSigmas = undefined;
    this.optimizer.writeState(snapshot);
    this.avf.ema.set(snapshot.avfEma);
    this.avf.frozen.set(snapshot.avfFrozen);
    this.optimizer.setAvfFrozen(this.avf.frozen);
    this.model.setFrozenVectors(this.frozenVectorNames());
    this.step = snapshot.step;
    this.log.length = 0;
    this.log.push(...snapshot.log);
    this.watch = snapshot.watch ? { ...snapshot.watch } : { stale: 0, stopped: false };
  }
}

/** The best checkpoint: the optimizer state at its step, its metrics and the watched value. */
export interface BestCheckpoint {
  step: number;
  value: number;
  metrics: Record<string, number>;
  params: ArrayLike<number>;
  m: ArrayLike<number>;
  v: ArrayLike<number>;
  steps: ArrayLike<number>;
  avfEma: ArrayLike<number>;
  avfFrozen: ArrayLike<number>;
}

/** Early stopping's state: the best checkpoint, evaluations since, and whether it stopped the run. */
export interface WatchState {
  best?: BestCheckpoint;
  stale: number;
  stopped: boolean;
}

export interface TrainerSnapshot {
  step: number;
  params: ArrayLike<number>;
  initial: ArrayLike<number>;
  m: ArrayLike<number>;
  v: ArrayLike<number>;
  steps: ArrayLike<number>;
  avfEma: ArrayLike<number>;
  avfFrozen: ArrayLike<number>;
  log: LogRecord[];
  /** Absent in checkpoints written before early stopping existed. */
  watch?: WatchState;
}

/** Training produced NaN or ±Inf (in the loss or a trainable tensor) at `step`. */
export class DivergenceError extends Error {
  constructor(
    readonly step: number,
    readonly detail: string,
  ) {
    super(`${detail} at step ${step}: training diverged and stopped (try a lower learning rate)`);
    this.name = 'DivergenceError';
  }
}

/** What the per-step health check covers, in result-slot order (slot 0 must stay the loss). */
const HEALTH_CHECKS = [
  { tensor: 'loss', what: '' },
  { tensor: 'params', what: '' },
  { tensor: 'm', what: 'the AdamW first moment of ' },
  { tensor: 'v', what: 'the AdamW second moment of ' },
] as const;

function hyperAt(config: TrainConfig, step: number, totalSteps: number) {
  return { lr: learningRate(config, step, totalSteps), beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay };
}

/** The longest sequence a run's plans take: text up to maxLength (and the model's positions),
 * padded to the bucket; an image is always its CLS token and patches, whatever maxLength says. */
function planSequence(loaded: LoadedModel, maxLength: number): number {
  const { maxSequence } = loaded.weights.layout;
  switch (loaded.input) {
    case 'tokens':
      return Math.ceil(Math.min(maxLength, maxSequence) / SEQ_BUCKET) * SEQ_BUCKET;
    case 'pixels':
      return maxSequence;
    default:
      return unreachable(loaded, 'model input');
  }
}

/** A different dropout seed for every step, the same on every run with the same seed. */
function stepSeed(seed: number, step: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(step, 0xc2b2ae35);
  h ^= h >>> 16;
  return Math.imul(h, 0x27d4eb2f) >>> 0;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
