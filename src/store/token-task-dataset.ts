// QA and NER files in the studio: a dropped SQuAD JSON, CoNLL file or table of the Hub's QA/NER
// rows is recognised (io/token-task-data.ts) and kept as questions or sentences; the Dataset is
// built from them with the model's tokenizer at the run's max length (QA: windows of that length
// overlapping by the stride), split into training and validation by question or sentence, never
// by window, as the CLI does.
import { splitValidation, type Table } from '../io/dataset.ts';
import { readModelFolder } from '../io/model-folder.ts';
import type { QaExample } from '../io/qa-data.ts';
import { nerExamples, qaExamples, type TokenTaskData } from '../io/token-task-data.ts';
import { createTokenizer, type TextTokenizer } from '../io/tokenizer.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';
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

/** The tokenizer of the last model asked about (its folder read once). */
let lastTokenizer: { model: ModelFiles; tokenizer: TextTokenizer } | undefined;
function tokenizerOf(model: ModelFiles): TextTokenizer {
  if (lastTokenizer?.model !== model) lastTokenizer = { model, tokenizer: createTokenizer(readModelFolder(model).tokenizer) };
  return lastTokenizer.tokenizer;
}

export interface TokenTaskBuild {
  model: ModelFiles;
  train: { fileName: string; data: TokenTaskData };
  /** A validation file of the same task; else `fraction` of the training questions or sentences. */
  validation: { fileName: string; data: TokenTaskData } | null;
  fraction: number;
  seed: number;
  maxLength: number;
  stride: number;
}

const TASK_WORDS = {
  'question-answering': 'question-answering data (SQuAD JSON, or rows with context, question and answers)',
  'token-classification': 'token-classification data (CoNLL, or rows with tokens and ner_tags)',
} as const;

/** The Dataset of a QA or NER file (and its validation side) for `model`. */
export function buildTokenTaskDataset(build: TokenTaskBuild): Dataset {
  const { train, validation } = build;
  if (validation && validation.data.task !== train.data.task) {
    throw new Error(`${validation.fileName}: not ${TASK_WORDS[train.data.task]} like ${train.fileName}`);
  }
  const tokenizer = tokenizerOf(build.model);
  const name = validation ? `${train.fileName} + ${validation.fileName}` : train.fileName;
  if (train.data.task === 'question-answering') {
    const other = validation?.data.task === 'question-answering' ? validation.data : null;
    const split: { train: QaExample[]; validation: QaExample[] } = other
      ? { train: train.data.questions, validation: other.questions }
      : splitValidation(train.data.questions, build.fraction, build.seed);
    const windows = { maxLength: build.maxLength, stride: Math.min(build.stride, Math.floor(build.maxLength / 2)) };
    const trainSet = qaExamples(split.train, tokenizer, windows);
    const valSet = qaExamples(split.validation, tokenizer, windows);
    const version = Math.max(train.data.version, other?.version ?? 1) as 1 | 2;
    return {
      task: 'question-answering', labelNames: [], name, train: trainSet.examples, validation: valSet.examples,
      qa: { questions: split.validation, windows: valSet.windows, version },
    };
  }
  const { labelNames } = train.data.data;
  const other = validation?.data.task === 'token-classification' ? validation.data.data : null;
  const split = other ? { train: train.data.data.sentences, validation: other.sentences } : splitValidation(train.data.data.sentences, build.fraction, build.seed);
  return {
    task: 'token-classification', labelNames, name,
    train: nerExamples({ labelNames, sentences: split.train }, tokenizer, build.maxLength),
    validation: nerExamples({ labelNames, sentences: split.validation }, tokenizer, build.maxLength),
  };
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
