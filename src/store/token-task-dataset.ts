// QA and NER files in the studio: a dropped SQuAD JSON, CoNLL file or table of the Hub's QA/NER
// rows is recognised (io/token-task-data.ts) and kept as questions or sentences; the Dataset is
// built from them with the model's tokenizer at the run's max length (QA: windows of that length
// overlapping by the stride), split into training and validation by question or sentence, never
// by window, as the CLI does. The build runs in chunks, off the page's thread (token-task-build.ts).
import { splitValidation, type Table } from '../io/dataset.ts';
import type { QaExample } from '../io/qa-data.ts';
import { nerExamples, qaExamples, type TokenTaskData } from '../io/token-task-data.ts';
import type { TextTokenizer } from '../io/tokenizer.ts';
import type { Dataset, Example, QaWindows } from '../io/types.ts';
import { getEntities } from '../train/ner-metrics.ts';

/** run_qa.py's default overlap of consecutive windows. */
export const DEFAULT_QA_STRIDE = 128;
/** run_qa.py's default window length: a QA file sets the run's max length to it (unless edited). */
export const QA_MAX_LENGTH = 384;

/**
 * The rows of a QA or NER file as a table (the Hub's columns), so the studio's file summaries,
 * layout checks and saved runs treat it as any other dropped table.
 */
export function tokenTaskTable(data: TokenTaskData): Table {
  if (data.task === 'question-answering') {
    return {
      columns: ['id', 'title', 'context', 'question', 'answers'],
      rows: data.questions.map((q) => [q.id, q.title, q.context, q.question, { text: q.answers.text, answer_start: q.answers.answerStart }]),
      headerless: false,
      rowLines: data.questions.map((_, i) => i + 1),
      rowUnit: 'row',
    };
  }
  return {
    columns: ['tokens', 'ner_tags'],
    rows: data.data.sentences.map((s) => [s.words, s.tags.map((t) => data.data.labelNames[t])]),
    headerless: false,
    rowLines: data.data.sentences.map((_, i) => i + 1),
    rowUnit: 'row',
  };
}

/** What a QA or NER Dataset is built from; it travels to the tokenizing worker as it is. */
export interface TokenTaskBuild {
  train: { fileName: string; data: TokenTaskData };
  /** A validation file of the same task; else `fraction` of the training questions or sentences. */
  validation: { fileName: string; data: TokenTaskData } | null;
  fraction: number;
  seed: number;
  maxLength: number;
  stride: number;
}

/** How far a build has come: questions or sentences tokenized, of all (training and validation). */
export interface TokenizeProgress {
  done: number;
  total: number;
  unit: 'questions' | 'sentences';
}

/** What a build reports as it goes, and asks between chunks. */
export interface BuildHooks {
  progress(progress: TokenizeProgress): void;
  /** True once a newer build has replaced this one: it then stops at its next chunk. */
  superseded(): boolean;
}

/** A build's failure and the file it concerns, as the studio's error list names it. */
export class TokenTaskError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'TokenTaskError';
  }
}

/** A failure as the client reports it: the message, and the file it names. */
export interface TokenTaskFailure {
  message: string;
  file: string;
}

/** A TokenTaskError names its own file; anything else is put down to `file`. */
export function failureOf(error: unknown, file: string): TokenTaskFailure {
  if (error instanceof TokenTaskError) return { message: error.message, file: error.file };
  return { message: error instanceof Error ? error.message : String(error), file };
}

const TASK_WORDS = {
  'question-answering': 'question-answering data (SQuAD JSON, or rows with context, question and answers)',
  'token-classification': 'token-classification data (CoNLL, or rows with tokens and ner_tags)',
} as const;

/** Progress reports at most this often, so the page re-renders a few times a second at most. */
const PROGRESS_MS = 100;
/** Each chunk takes about this long, so a newer build (or the page, in-process) waits no longer. */
const CHUNK_MS = 50;

/** The questions or sentences a build tokenizes, before it starts. */
export function buildSize(build: TokenTaskBuild): TokenizeProgress {
  const count = (data: TokenTaskData) => (data.task === 'question-answering' ? data.questions.length : data.data.sentences.length);
  const validation = build.validation?.data.task === build.train.data.task ? count(build.validation.data) : 0;
  return { done: 0, total: count(build.train.data) + validation, unit: build.train.data.task === 'question-answering' ? 'questions' : 'sentences' };
}

/**
 * The Dataset of a QA or NER file (and its validation side), tokenized with `tokenizer` in chunks
 * of about CHUNK_MS, yielding to the event loop between them; null when superseded. A failure is a
 * TokenTaskError naming the file whose questions or sentences it came from.
 */
export async function buildTokenTaskDataset(build: TokenTaskBuild, tokenizer: TextTokenizer, hooks: BuildHooks): Promise<Dataset | null> {
  const { train, validation } = build;
  if (validation && validation.data.task !== train.data.task) {
    throw new TokenTaskError(validation.fileName, `not ${TASK_WORDS[train.data.task]} like ${train.fileName}`);
  }
  const name = validation ? `${train.fileName} + ${validation.fileName}` : train.fileName;
  const progress = buildSize(build);
  let reported = performance.now();
  /** `tokenize` over `items` chunk by chunk (start: the chunk's first index); false when superseded. */
  async function inChunks<T>(items: readonly T[], fileName: string, tokenize: (chunk: T[], start: number) => void): Promise<boolean> {
    let size = 1;
    for (let start = 0; start < items.length; ) {
      if (hooks.superseded()) return false;
      const began = performance.now();
      const chunk = items.slice(start, start + size);
      try {
        tokenize(chunk, start);
      } catch (error) {
        throw new TokenTaskError(fileName, error instanceof Error ? error.message : String(error));
      }
      const now = performance.now();
      start += chunk.length;
      progress.done += chunk.length;
      if (now - reported >= PROGRESS_MS) {
        reported = now;
        hooks.progress({ ...progress });
      }
      // The next chunk sized to take about CHUNK_MS, growing at most fourfold.
      size = Math.max(1, Math.min(4 * size, Math.round((size * CHUNK_MS) / Math.max(now - began, 1))));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    return !hooks.superseded();
  }
  const splitOf = <T>(items: T[], other: T[] | null) => {
    try {
      return other ? { train: items, validation: other } : splitValidation(items, build.fraction, build.seed);
    } catch (error) {
      throw new TokenTaskError(train.fileName, error instanceof Error ? error.message : String(error));
    }
  };
  if (train.data.task === 'question-answering') {
    const other = validation?.data.task === 'question-answering' ? validation.data : null;
    const split: { train: QaExample[]; validation: QaExample[] } = splitOf(train.data.questions, other?.questions ?? null);
    const windows = { maxLength: build.maxLength, stride: Math.min(build.stride, Math.floor(build.maxLength / 2)) };
    // Evaluation maps the validation windows' logits back to context characters; the training
    // windows' spans are dropped as each chunk is built.
    const sides = [
      { questions: split.train, fileName: train.fileName, examples: [] as Example[], windows: null },
      { questions: split.validation, fileName: other ? validation!.fileName : train.fileName, examples: [] as Example[], windows: [] as QaWindows['windows'] },
    ];
    for (const side of sides) {
      const finished = await inChunks(side.questions, side.fileName, (chunk, start) => {
        const built = qaExamples(chunk, tokenizer, windows);
        side.examples.push(...built.examples);
        if (!side.windows) return;
        for (const w of built.windows) w.exampleIndex += start;
        side.windows.push(...built.windows);
      });
      if (!finished) return null;
    }
    const version = Math.max(train.data.version, other?.version ?? 1) as 1 | 2;
    return {
      task: 'question-answering', labelNames: [], name, train: sides[0].examples, validation: sides[1].examples,
      qa: { questions: split.validation, windows: sides[1].windows!, version },
    };
  }
  const { labelNames } = train.data.data;
  const other = validation?.data.task === 'token-classification' ? validation.data.data : null;
  const split = splitOf(train.data.data.sentences, other?.sentences ?? null);
  const sides = [
    { sentences: split.train, fileName: train.fileName, examples: [] as Example[] },
    { sentences: split.validation, fileName: other ? validation!.fileName : train.fileName, examples: [] as Example[] },
  ];
  for (const side of sides) {
    const finished = await inChunks(side.sentences, side.fileName, (chunk) => side.examples.push(...nerExamples({ labelNames, sentences: chunk }, tokenizer, build.maxLength)));
    if (!finished) return null;
  }
  return { task: 'token-classification', labelNames, name, train: sides[0].examples, validation: sides[1].examples };
}

/** What the preview says of a QA file: questions, unanswerable ones, and windows once built. */
export interface QaSummary {
  task: 'question-answering';
  questions: number;
  unanswerable: number;
  contexts: number;
  version: 1 | 2;
}

/** What the preview says of an NER file: sentences, and entities per type (B- tags, or lone I-). */
export interface NerSummary {
  task: 'token-classification';
  sentences: number;
  tags: { name: string; count: number }[];
  entities: { type: string; count: number }[];
}

export function summariseTokenTask(data: TokenTaskData): QaSummary | NerSummary {
  if (data.task === 'question-answering') {
    return {
      task: 'question-answering',
      questions: data.questions.length,
      unanswerable: data.questions.filter((q) => q.answers.text.length === 0).length,
      contexts: new Set(data.questions.map((q) => q.context)).size,
      version: data.version,
    };
  }
  const { labelNames, sentences } = data.data;
  const tagCounts = new Array<number>(labelNames.length).fill(0);
  const entities = new Map<string, number>();
  for (const s of sentences) {
    for (const span of entitySpans(s.tags.map((t) => labelNames[t]))) entities.set(span.type, (entities.get(span.type) ?? 0) + 1);
    for (const t of s.tags) tagCounts[t]++;
  }
  return {
    task: 'token-classification',
    sentences: sentences.length,
    tags: labelNames.map((name, i) => ({ name, count: tagCounts[i] })),
    entities: [...entities].map(([type, count]) => ({ type, count })).sort((a, b) => b.count - a.count || a.type.localeCompare(b.type)),
  };
}

/** An entity: words [start, end) of one type. */
export interface EntitySpan {
  start: number;
  end: number;
  type: string;
}

/** The entities of one sentence's tags, chunked as seqeval (and the run's entity F1) does. */
export function entitySpans(tags: readonly string[]): EntitySpan[] {
  return getEntities([tags]).map((e) => ({ start: e.start, end: e.end + 1, type: e.type }));
}
