// The engine behind the worker: turns EngineRequests into trainer calls and trainer progress
// into EngineEvents. It has no Worker globals, so tests drive it directly in Node.
import { adapterName, type Gpu } from '../gpu/device.ts';
import { decodeCheckpoint, encodeCheckpoint, type CheckpointStore } from '../train/checkpoint.ts';
import { buildExport } from '../train/exports.ts';
import { textModel } from '../train/load.ts';
import { answerQuestion, tagWords, withBase } from '../train/token-task-predict.ts';
import { DivergenceError, Trainer } from '../train/trainer.ts';
import type { ImageDecoder } from '../io/images/decode.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
import type { TrainConfig } from '../train/types.ts';
import { PlaygroundGenerator } from './generation.ts';
import type { EngineEvent, EngineRequest, EngineState } from './protocol.ts';

const CHECKPOINT = 'latest.safetensors';

export interface EngineDeps {
  acquireGpu: () => Promise<Gpu>;
  store: CheckpointStore;
  post: (event: EngineEvent) => void;
  /** How image files are decoded (an image model's dataset rows and predictImage):
   * decodeImageBrowser in the worker, decodeImageNode in Node. */
  decodeImage?: ImageDecoder;
}

type LoadRequest = Extract<EngineRequest, { type: 'load' }>;
/** A load with what it held: the model and Dataset it sent or referred to. */
type Load = { model: ModelFiles; dataset: Dataset; config: TrainConfig };

export class Engine {
  private gpu?: Gpu;
  private trainer?: Trainer;
  private lastLoad?: Load;
  /** What the last load sent, whether or not it loaded: what 'held' refers to. */
  private held: { model?: ModelFiles; dataset?: Dataset } = {};
  private state: EngineState = 'idle';
  private interrupt: 'pause' | 'stop' | 'lost' | null = null;
  private running?: Promise<void>;
  /** Step of the last checkpoint saved in this session (checkpoints are always finite). */
  private checkpointStep?: number;
  /** The playground's decoders for the current trainer's causal LM (made on first use). */
  private generator?: { trainer: Trainer; generator: PlaygroundGenerator };
  /** Generations asked to stop. */
  private readonly stopGeneration = new Set<number>();
  private generating = false;

  constructor(private readonly deps: EngineDeps) {}

  async handle(request: EngineRequest): Promise<void> {
    try {
      switch (request.type) {
        case 'load':
          return await this.load(request);
        case 'start':
        case 'resume':
          return this.startTraining();
        case 'pause':
        case 'stop':
          return await this.halt(request.type);
        case 'restore':
          return await this.restore();
        case 'export':
          return await this.export(request);
        case 'predict': {
          const trainer = this.requireTrainer();
          const { base, tuned } = await trainer.exclusive(() => trainer.predict(request.text, request.textPair));
          return this.deps.post({ type: 'prediction', id: request.id, base, tuned });
        }
        case 'answer': {
          const trainer = this.requireTrainer();
          const { base, tuned } = await trainer.exclusive(() => withBase(trainer, () => answerQuestion(trainer, request.context, request.question)));
          return this.deps.post({ type: 'answer', id: request.id, base, tuned });
        }
        case 'tag': {
          const trainer = this.requireTrainer();
          const { base, tuned } = await trainer.exclusive(() => withBase(trainer, () => tagWords(trainer, request.words)));
          return this.deps.post({ type: 'tags', id: request.id, base, tuned });
        }
        case 'predictImage': {
          const trainer = this.requireTrainer();
          const { base, tuned } = await trainer.exclusive(() => trainer.predictImage(request.image));
          return this.deps.post({ type: 'prediction', id: request.id, base, tuned });
        }
        case 'generate':
          return await this.generate(request);
        case 'stopGenerate':
          this.stopGeneration.add(request.id);
          return;
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private setState(state: EngineState): void {
    this.state = state;
    this.deps.post({ type: 'state', state });
  }

  private fail(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    const file = error instanceof Error && 'file' in error && typeof error.file === 'string' ? error.file : undefined;
    this.deps.post({ type: 'error', message, file, recoverable: true });
    if (this.state === 'loading') this.setState('error');
  }

  private async device(): Promise<Gpu> {
    if (!this.gpu) {
      const gpu = await this.deps.acquireGpu();
      this.gpu = gpu;
      this.deps.post({ type: 'adapter', name: adapterName(gpu.adapter), isSoftware: gpu.adapter.isSoftware });
      gpu.device.lost.then((info) => {
        if (this.gpu !== gpu) return;
        this.gpu = undefined;
        // The device's buffers went with it: nothing to free.
        this.trainer = undefined;
        this.generator = undefined;
        this.interrupt = info.reason === 'destroyed' ? 'stop' : 'lost';
        if (info.reason === 'destroyed') return;
        this.deps.post({ type: 'error', message: `The GPU device was lost (${info.message || info.reason}). Choose "Resume from checkpoint" to continue from the last checkpoint.`, recoverable: true });
        this.setState('error');
      });
    }
    return this.gpu;
  }

  private async load(request: LoadRequest | Load): Promise<void> {
    const model = request.model === 'held' ? this.held.model : request.model;
    const dataset = request.dataset === 'held' ? this.held.dataset : request.dataset;
    this.held = { model, dataset };
    if (!model || !dataset) throw new Error(`The engine holds no ${model ? 'dataset' : 'model'} to load again: send it with the load.`);
    if (this.state === 'training') await this.halt('stop');
    this.setState('loading');
    // New settings on the same model files: the new trainer takes the old one's SVD factors, so
    // the old one is freed once the new one is built; any other old trainer is freed first, so
    // two models never share the GPU. A failed load leaves no trainer either way (state 'error';
    // 'restore' loads the last load that succeeded again).
    const old = this.trainer;
    const previous = old && this.lastLoad?.model === model ? old : undefined;
    this.trainer = undefined;
    this.checkpointStep = undefined;
    if (old && !previous) await this.retire(old);
    try {
      const gpu = await this.device();
      this.trainer = await Trainer.create({ gpu, files: model, dataset, config: request.config, emit: this.deps.post, decodeImage: this.deps.decodeImage, previous });
    } finally {
      if (previous) await this.retire(previous);
    }
    this.lastLoad = { model, dataset, config: request.config };
    this.setState('ready');
  }

  /** Frees a trainer the engine no longer holds: once its predictions, exports and generation in
   * flight have settled, the playground's decoders over its model, then the trainer itself. */
  private async retire(trainer: Trainer): Promise<void> {
    await trainer.close();
    if (this.generator?.trainer === trainer) {
      this.generator.generator.destroy();
      this.generator = undefined;
    }
    await trainer.destroy();
  }

  private requireTrainer(): Trainer {
    if (!this.trainer) throw new Error('No model is loaded: drop a model and a dataset first.');
    return this.trainer;
  }

  private startTraining(): void {
    const trainer = this.requireTrainer();
    if (this.running) return;
    if (trainer.finished) throw new Error('This run has finished: load the model again to start a new run.');
    this.interrupt = null;
    this.setState('training');
    this.running = this.trainWithCheckpoints(trainer)
      .then(() => {
        // After a lost device the state stays 'error' until the user restores.
        if (this.interrupt !== 'lost') this.setState(this.interrupt === 'pause' ? 'paused' : this.interrupt === 'stop' ? 'stopped' : 'finished');
      })
      .catch((error: unknown) => {
        // A step cut short by a lost device fails too: the loss has been reported already.
        if (this.interrupt === 'lost') return;
        if (error instanceof DivergenceError) {
          const kept = this.checkpointStep === undefined ? 'No checkpoint was saved before it.' : `The last checkpoint (step ${this.checkpointStep}) is finite and kept: "Resume from checkpoint" continues from it.`;
          this.deps.post({ type: 'error', message: `${error.message}. ${kept} Exports refuse the diverged tensors.`, recoverable: true });
          this.setState('stopped');
          return;
        }
        this.fail(error);
        this.setState('error');
      })
      .finally(() => {
        this.running = undefined;
      });
  }

  /** Trains epoch by epoch with a checkpoint after each (and at a pause or stop), so a lost
   * device or a closed tab costs at most one epoch. */
  private async trainWithCheckpoints(trainer: Trainer): Promise<void> {
    const perEpoch = trainer.stepsPerEpoch;
    while (!trainer.finished && this.interrupt === null) {
      const epochEnd = (Math.floor(trainer.step / perEpoch) + 1) * perEpoch;
      await trainer.train(() => this.interrupt !== null || trainer.step >= epochEnd);
      await this.saveCheckpoint(trainer);
    }
  }

  private async halt(kind: 'pause' | 'stop'): Promise<void> {
    if (!this.running) {
      if (kind === 'stop' && this.trainer && this.state !== 'finished') this.setState('stopped');
      return;
    }
    this.interrupt = kind;
    await this.running;
  }

  private async saveCheckpoint(trainer: Trainer): Promise<void> {
    const load = this.lastLoad!;
    this.deps.post({ type: 'progress', phase: 'checkpoint', done: 0, total: 1, message: `Saving checkpoint at step ${trainer.step}` });
    const bytes = encodeCheckpoint({ snapshot: await trainer.snapshot(), config: load.config, modelName: load.model.name, datasetName: load.dataset.name });
    await this.deps.store.save(CHECKPOINT, bytes);
    this.checkpointStep = trainer.step;
    this.deps.post({ type: 'progress', phase: 'checkpoint', done: 1, total: 1, message: `Checkpoint saved at step ${trainer.step}` });
  }

  /** Continues from the last checkpoint: after a stop, an error or a lost device. */
  private async restore(): Promise<void> {
    const bytes = await this.deps.store.load(CHECKPOINT);
    if (!bytes) throw new Error('There is no checkpoint to resume from yet.');
    const checkpoint = decodeCheckpoint(bytes, CHECKPOINT);
    if (!this.trainer) {
      if (!this.lastLoad) throw new Error('Load the model and dataset of the checkpoint first.');
      await this.load(this.lastLoad);
    }
    this.requireTrainer().restore(checkpoint.snapshot);
    this.checkpointStep = checkpoint.snapshot.step;
    this.setState('paused');
  }

  /** Base and fine-tuned continuations of a prompt, streamed as token events; between training
   * steps, so the fine-tuned side reads one step's Σ throughout. */
  private async generate({ id, prompt, settings }: Extract<EngineRequest, { type: 'generate' }>): Promise<void> {
    const trainer = this.requireTrainer();
    if (trainer.model.layout.task.loss !== 'causal-lm') throw new Error(`Generation needs a causal language model; ${trainer.loaded.name} is a ${trainer.model.layout.task.loss} model.`);
    if (this.generator?.trainer !== trainer) {
      this.generator?.generator.destroy();
      this.generator = { trainer, generator: new PlaygroundGenerator(trainer.model, textModel(trainer.loaded, 'generation').tokenizer, trainer.loaded.rawConfig) };
    }
    const { generator } = this.generator;
    if (this.generating) throw new Error('A generation is still running: stop it first.');
    this.generating = true;
    try {
      await trainer.exclusive(() => generator.run(id, prompt, settings, this.deps.post, () => this.stopGeneration.has(id)));
    } finally {
      this.generating = false;
      this.stopGeneration.delete(id);
    }
  }

  private async export({ kind, which, rank }: Extract<EngineRequest, { type: 'export' }>): Promise<void> {
    const trainer = this.requireTrainer();
    const files = await trainer.exclusive(() => buildExport(trainer, kind, { which, rank }));
    this.deps.post({ type: 'export', kind, ...(which ? { which } : {}), files });
  }
}
