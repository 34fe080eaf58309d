// What the user brings: a model folder's files and a labelled dataset.

/** A dropped model folder: file name (relative path) → bytes. */
export interface ModelFiles {
  name: string;
  files: Record<string, ArrayBuffer>;
}

export type Task = 'classification' | 'regression';

export interface Example {
  text: string;
  textPair?: string;
  /** Class index (classification) or target value (regression). */
  label: number;
}

export interface Dataset {
  task: Task;
  /** Class names, index = label (classification only). */
  labelNames: string[];
  train: Example[];
  validation: Example[];
  /** Shown in exports and logs. */
  name: string;
}
