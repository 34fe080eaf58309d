// Every problem the studio meets (a bad file, an engine failure) becomes one visible entry that
// names the file; an entry is replaced when its slot gets a new file, so the list stays current.
import { create } from 'zustand';

/** Where an error came from: a new file in the same slot clears the old message. */
export type ErrorSlot = 'model' | 'train' | 'validation' | 'dataset' | 'engine' | 'demo' | 'ui' | 'runs' | 'hub' | 'export';

export interface StudioError {
  id: number;
  slot: ErrorSlot;
  message: string;
}

interface ErrorsState {
  errors: StudioError[];
  report(slot: ErrorSlot, error: unknown, file?: string): void;
  clear(slot: ErrorSlot): void;
  dismiss(id: number): void;
}

let nextId = 1;

/** The message of anything thrown, prefixed with the file name unless it already says it. */
export function describeError(error: unknown, file?: string): string {
  const text = error instanceof Error ? error.message : String(error);
  return file && !text.includes(file) ? `${file}: ${text}` : text;
}

export const useErrors = create<ErrorsState>()((set) => ({
  errors: [],
  report(slot, error, file) {
    const message = describeError(error, file);
    set((s) =>
      s.errors.some((e) => e.slot === slot && e.message === message)
        ? s
        : { errors: [...s.errors, { id: nextId++, slot, message }] },
    );
  },
  clear(slot) {
    set((s) => (s.errors.some((e) => e.slot === slot) ? { errors: s.errors.filter((e) => e.slot !== slot) } : s));
  },
  dismiss(id) {
    set((s) => ({ errors: s.errors.filter((e) => e.id !== id) }));
  },
}));
