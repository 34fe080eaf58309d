// The playground of a QA or NER model: the questions asked about pasted contexts and the sentences
// tagged, each with the base and the fine-tuned model's answer or tags once the engine replies.
import { create } from 'zustand';
import type { AnswerPrediction } from '../train/qa-metrics.ts';
import type { EngineEvent } from '../worker/protocol.ts';

export interface QaEntry {
  id: number;
  context: string;
  question: string;
  result?: { base: AnswerPrediction; tuned: AnswerPrediction };
}

/** A word of a tagged sentence and where it lies in the typed text. */
export interface Word {
  text: string;
  start: number;
  end: number;
}

export interface NerEntry {
  id: number;
  sentence: string;
  words: Word[];
  result?: { base: string[]; tuned: string[] };
}

interface TokenPlaygroundState {
  answers: QaEntry[];
  taggings: NerEntry[];
  addQuestion(entry: QaEntry): void;
  addTagging(entry: NerEntry): void;
  apply(event: Extract<EngineEvent, { type: 'answer' | 'tags' }>): void;
}

const KEPT = 10;

export const useTokenPlayground = create<TokenPlaygroundState>()((set) => ({
  answers: [],
  taggings: [],
  addQuestion(entry) {
    set((s) => ({ answers: [entry, ...s.answers].slice(0, KEPT) }));
  },
  addTagging(entry) {
    set((s) => ({ taggings: [entry, ...s.taggings].slice(0, KEPT) }));
  },
  apply(event) {
    if (event.type === 'answer') {
      const result = { base: event.base, tuned: event.tuned };
      set((s) => ({ answers: s.answers.map((a) => (a.id === event.id ? { ...a, result } : a)) }));
    } else {
      const result = { base: event.base, tuned: event.tuned };
      set((s) => ({ taggings: s.taggings.map((t) => (t.id === event.id ? { ...t, result } : t)) }));
    }
  },
}));

/**
 * A sentence's words as a CoNLL file has them: runs of letters and digits (with inner
 * apostrophes and hyphens), and each other non-space character on its own.
 */
export function splitWords(sentence: string): Word[] {
  return [...sentence.matchAll(/[\p{L}\p{N}]+(?:['’-][\p{L}\p{N}]+)*|[^\s\p{L}\p{N}]/gu)].map((m) => ({ text: m[0], start: m.index, end: m.index + m[0].length }));
}
