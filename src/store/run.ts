// The live run: what the engine last reported. Only the engine client writes here; components
// read through narrow selectors (the heatmap subscribes to `strength` alone).
import { create } from 'zustand';
import type { EngineEvent, EngineState, ExportKind, ModelSummary, Prediction } from '../worker/protocol.ts';
import type { VectorId } from '../model/types.ts';

type Event<T extends EngineEvent['type']> = Extract<EngineEvent, { type: T }>;

export interface LossPoint {
  step: number;
  loss: number;
  /** The gradients' global norm before clipping (absent from runs saved before it was kept). */
  gradNorm?: number;
}

export interface EvalPoint {
  step: number;
  epoch: number;
  metrics: Record<string, number>;
}

export interface AvfEvent {
  step: number;
  frozen: VectorId[];
  released: VectorId[];
}

/** What the engine's lora_report.json says about a LoRA export's truncation to rank r. */
export interface LoraReport {
  r: number;
  step: number;
  overall_truncation_error: number;
  validation_logits: { examples: number; max_abs_change: number; relative_change: number } | null;
  modules: { path: string; rank: number; kept: number; truncation_error: number; delta_frobenius: number }[];
}

export interface PlaygroundEntry {
  id: number;
  text: string;
  textPair?: string;
  /** An image input, as an object URL to show beside its predictions. */
  imageUrl?: string;
  base?: Prediction;
  tuned?: Prediction;
}

interface RunState {
  state: EngineState;
  adapter: { name: string; isSoftware: boolean } | null;
  loading: Event<'progress'> | null;
  /** The last checkpoint message: shown beside the progress line, never in place of it. */
  checkpoint: Event<'progress'> | null;
  summary: ModelSummary | null;
  totalSteps: number;
  step: Event<'step'> | null;
  losses: LossPoint[];
  evals: EvalPoint[];
  strength: Event<'strength'> | null;
  /** ΔW's spectrum per module, live (throttled like the strengths). */
  deltaSpectrum: Event<'deltaSpectrum'> | null;
  avf: AvfEvent[];
  /** The best checkpoint so far by the watched metric (exports can take it). */
  best: Event<'best'> | null;
  /** Early stopping ended the run. */
  earlyStop: Event<'earlyStop'> | null;
  /** The last LoRA export's truncation report. */
  loraReport: LoraReport | null;
  predictions: PlaygroundEntry[];
  /** Export requested and not yet answered. */
  exporting: ExportKind | null;
  /** Train was pressed while a (re)load was under way: start as soon as the engine is ready. */
  startWhenReady: boolean;
  /** Forget the previous run's history (a new `load` was sent). */
  resetRun(): void;
  /** Fold a batch of engine events (the client batches the per-step ones). */
  apply(events: EngineEvent[]): void;
  addPrediction(entry: PlaygroundEntry): void;
  setExporting(kind: ExportKind | null): void;
  setLoraReport(report: LoraReport | null): void;
  setStartWhenReady(on: boolean): void;
  /** Show a saved run's history up to its checkpoint (a continued run starts from there). */
  showHistory(history: RunHistory): void;
}

/** What a saved run brings back into the live view. */
export interface RunHistory {
  step: Event<'step'> | null;
  losses: LossPoint[];
  evals: EvalPoint[];
  avf: AvfEvent[];
  strength: Event<'strength'> | null;
  deltaSpectrum: Event<'deltaSpectrum'> | null;
}

const emptyRun = {
  loading: null,
  checkpoint: null,
  summary: null,
  totalSteps: 0,
  step: null,
  losses: [],
  evals: [],
  strength: null,
  deltaSpectrum: null,
  avf: [],
  best: null,
  earlyStop: null,
  loraReport: null,
  exporting: null,
} satisfies Partial<RunState>;

export const useRun = create<RunState>()((set) => ({
  state: 'idle',
  adapter: null,
  predictions: [],
  startWhenReady: false,
  ...emptyRun,
  resetRun() {
    set({ ...emptyRun, state: 'loading' });
  },
  apply(events) {
    set((s) => {
      const next: Partial<RunState> = {};
      let losses: LossPoint[] | null = null;
      for (const event of events) {
        switch (event.type) {
          case 'state':
            next.state = event.state;
            if (event.state !== 'loading') next.loading = null;
            break;
          case 'adapter':
            next.adapter = { name: event.name, isSoftware: event.isSoftware };
            break;
          case 'progress':
            if (event.phase === 'checkpoint') next.checkpoint = event;
            else next.loading = event;
            break;
          case 'model':
            next.summary = event.summary;
            next.totalSteps = event.totalSteps;
            break;
          case 'step':
            // A step ends whatever preceded it (the first step's kernel timing).
            next.loading = null;
            next.step = event;
            losses ??= [...s.losses];
            losses.push(event.gradNorm === undefined ? { step: event.step, loss: event.loss } : { step: event.step, loss: event.loss, gradNorm: event.gradNorm });
            break;
          case 'strength':
            next.strength = event;
            break;
          case 'deltaSpectrum':
            next.deltaSpectrum = event;
            break;
          case 'avf':
            next.avf = [...(next.avf ?? s.avf), { step: event.step, frozen: event.frozen, released: event.released }];
            break;
          case 'best':
            next.best = event;
            break;
          case 'earlyStop':
            next.earlyStop = event;
            break;
          case 'eval':
            next.evals = [...(next.evals ?? s.evals), { step: event.step, epoch: event.epoch, metrics: event.metrics }];
            break;
          case 'prediction':
            next.predictions = (next.predictions ?? s.predictions).map((p) =>
              p.id === event.id ? { ...p, base: event.base, tuned: event.tuned } : p,
            );
            break;
          case 'export':
            next.exporting = null;
            break;
          case 'error':
            if (!event.recoverable) next.state = 'error';
            next.exporting = null;
            break;
        }
      }
      if (losses) next.losses = losses;
      return next;
    });
  },
  addPrediction(entry) {
    set((s) => {
      const all = [entry, ...s.predictions];
      // An image entry's object URL goes with it.
      for (const gone of all.slice(20)) if (gone.imageUrl) URL.revokeObjectURL(gone.imageUrl);
      return { predictions: all.slice(0, 20) };
    });
  },
  setExporting(kind) {
    set({ exporting: kind });
  },
  setLoraReport(loraReport) {
    set({ loraReport });
  },
  setStartWhenReady(on) {
    set({ startWhenReady: on });
  },
  showHistory(history) {
    set(history);
  },
}));

/** Training can be paused, stopped, or read back while one of these holds. */
export const isRunning = (state: EngineState) => state === 'training' || state === 'paused';
/** A model is loaded in the engine (predictions and exports make sense). */
export const hasModel = (state: EngineState) =>
  state === 'ready' || state === 'training' || state === 'paused' || state === 'stopped' || state === 'finished';
