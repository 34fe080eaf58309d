// What the user brings: a model folder's files and a labelled dataset.

/** A dropped model folder: file name (relative path) → bytes. */
export interface ModelFiles {
  name: string;
  files: Record<string, ArrayBuffer>;
}

export type Task = 'classification' | 'regression' | 'causal-lm';

export interface Example {
  text: string;
  textPair?: string;
  /** Class index (classification) or target value (regression); 0 for a causal-LM row. */
  label: number;
  /** Causal-LM rows only (src/io/causal-lm-data.ts): token ids and per-token labels, −100 where
   * no loss applies; `text` is then the row as shown in previews. */
  tokens?: { inputIds: number[]; labels: number[] };
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

export interface Dataset {
  task: Task;
  /** Class names, index = label (classification only; empty for a causal LM). */
  labelNames: string[];
  train: Example[];
  validation: Example[];
  /** Shown in exports and logs. */
  name: string;
}
