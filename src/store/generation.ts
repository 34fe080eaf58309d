// The playground's generations for a causal LM: each prompt's base and fine-tuned continuations
// as their token events stream in, and which one is still running (one at a time).
import { create } from 'zustand';
import type { EngineEvent, GenerateSettings, GenerationSide } from '../worker/protocol.ts';

export interface GenerationColumn {
  text: string;
  tokens: number;
  /** Set when this side has ended. */
  stop?: 'eos' | 'length' | 'stopped';
  tokensPerSecond?: number;
}

export interface Generation {
  id: number;
  prompt: string;
  settings: GenerateSettings;
  base: GenerationColumn;
  tuned: GenerationColumn;
}

interface GenerationState {
  generations: Generation[];
  /** The id of the generation in flight, or null. */
  running: number | null;
  settings: GenerateSettings;
  begin(id: number, prompt: string): void;
  apply(event: Extract<EngineEvent, { type: 'token' | 'generated' }>): void;
  /** The engine failed: nothing is running any more. */
  abort(): void;
  setSettings(change: Partial<GenerateSettings>): void;
}

const KEPT = 10;

export const useGeneration = create<GenerationState>()((set) => ({
  generations: [],
  running: null,
  settings: { maxNewTokens: 32, temperature: 0, topP: 0.9, seed: 0 },
  begin(id, prompt) {
    set((s) => ({
      running: id,
      generations: [{ id, prompt, settings: s.settings, base: { text: '', tokens: 0 }, tuned: { text: '', tokens: 0 } }, ...s.generations].slice(0, KEPT),
    }));
  },
  apply(event) {
    set((s) => {
      const generations = s.generations.map((g) => (g.id === event.id ? { ...g, [event.side]: column(g[event.side], event) } : g));
      const current = generations.find((g) => g.id === event.id);
      const finished = current && current.base.stop && current.tuned.stop;
      return { generations, running: finished && s.running === event.id ? null : s.running };
    });
  },
  abort() {
    set({ running: null });
  },
  setSettings(change) {
    set((s) => ({ settings: { ...s.settings, ...change } }));
  },
}));

function column(c: GenerationColumn, event: Extract<EngineEvent, { type: 'token' | 'generated' }>): GenerationColumn {
  if (event.type === 'token') return { ...c, text: c.text + event.text, tokens: c.tokens + 1 };
  return { ...c, stop: event.stop, tokensPerSecond: event.tokensPerSecond };
}

export const SIDES: readonly GenerationSide[] = ['base', 'tuned'];
