// What the user brings: a model folder's files and a labelled dataset.
import type { QaExample, TokenSpans } from './qa-data.ts';
import type { TokenRow } from './token-row.ts';

/** A dropped model folder: file name (relative path) → bytes. */
export interface ModelFiles {
  name: string;
  files: Record<string, ArrayBuffer>;
}

export type Task = 'classification' | 'regression' | 'causal-lm' | 'question-answering' | 'token-classification';

export interface Example {
  text: string;
  textPair?: string;
  /** Class index (classification) or target value (regression); 0 for a causal-LM row. */
  label: number;
  /** Token-level rows, already tokenized; `text` is then the row as shown in previews. Causal LM
   * (src/io/causal-lm-data.ts) and token classification (token-task-data.ts): per-token labels,
   * −100 where no loss applies. Question answering: one window of a question's context, its labels
   * the answer's start and end token (CLS when the window lacks it). */
  tokens?: TokenRow;
  /** Image rows only (an image model's data): the encoded image; `text` is then its path, as
   * previews show it. */
  image?: EncodedImage;
}

/** An image file as dropped (PNG or JPEG bytes), decoded and preprocessed per batch. */
export interface EncodedImage {
  /** For messages: a file path, or "file.parquet, row N". */
  path: string;
  bytes: Uint8Array;
}

/** Question answering's validation side: the questions, and for each validation example (one per
 * window, in order) its question and the context characters of its tokens (null: question,
 * specials). SQuAD v2 scores unanswerable questions. */
export interface QaWindows {
  questions: QaExample[];
  windows: { exampleIndex: number; offsets: TokenSpans }[];
  version: 1 | 2;
}

export interface Dataset {
  task: Task;
  /** Class names, index = label (classification only; empty for a causal LM). */
  labelNames: string[];
  train: Example[];
  validation: Example[];
  /** Shown in exports and logs. */
  name: string;
  /** Question answering: how the validation windows map back to questions and text. */
  qa?: QaWindows;
}
