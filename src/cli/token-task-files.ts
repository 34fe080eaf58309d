// QA and NER files for `vectorfit train`: a SQuAD JSON, CoNLL file, or the Hub's QA/NER rows is
// recognised, tokenized with the model's tokenizer (QA: windows of --max-length, default 384,
// overlapping by --stride, default 128; NER: each word's tag on its first sub-token), and split
// into training and validation by question or sentence, never by window.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { NerData } from '../io/ner-data.ts';
import type { QaExample } from '../io/qa-data.ts';
import { nerExamples, qaExamples, readTokenTaskFile, type TokenTaskData } from '../io/token-task-data.ts';
import { createTokenizer } from '../io/tokenizer.ts';
import { readModelFolder } from '../io/model-folder.ts';
import type { Dataset, ModelFiles } from '../io/types.ts';

export const QA_MAX_LENGTH = 384;
export const QA_STRIDE = 128;

async function read(path: string, labelNames?: readonly string[]): Promise<TokenTaskData | null> {
  const bytes = await readFile(path).catch(() => {
    throw new Error(`${path}: cannot read the file`);
  });
  return readTokenTaskFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, basename(path), labelNames);
}

export interface TokenTaskOptions {
  /** Validation file; else the first `valFraction` of the questions or sentences. */
  val?: string;
  valFraction?: number;
  /** Training questions or sentences kept (after the validation cut). */
  limit?: number;
  /** Default: QA_MAX_LENGTH for QA, nerMaxLength for NER. */
  maxLength?: number;
  nerMaxLength: number;
  /** QA windows' overlap; default QA_STRIDE. */
  stride?: number;
}

/** The dataset of a QA or NER file (with its validation side), and the line that says how it was
 * read; null when the file is neither (then it is a text-classification table). */
export async function readTokenTaskDataset(model: ModelFiles, path: string, options: TokenTaskOptions): Promise<{ dataset: Dataset; line: string; maxLength: number } | null> {
  const train = await read(path);
  if (!train) return null;
  const tokenizer = createTokenizer(readModelFolder(model).tokenizer);
  const name = basename(path);
  const cut = <T>(items: T[]): { train: T[]; validation: T[] } => {
    if (options.val || !options.valFraction) return { train: items, validation: [] };
    const n = Math.max(1, Math.round(items.length * options.valFraction));
    return { validation: items.slice(0, n), train: items.slice(n) };
  };
  const limit = <T>(items: T[]) => (options.limit ? items.slice(0, options.limit) : items);
  if (train.task === 'question-answering') {
    let validation: QaExample[];
    let questions: QaExample[];
    let version = train.version;
    if (options.val) {
      const other = await read(options.val);
      if (other?.task !== 'question-answering') throw new Error(`${options.val}: not question-answering data like ${name} (SQuAD JSON, or rows with context, question and answers)`);
      validation = other.questions;
      questions = train.questions;
      version = Math.max(version, other.version) as 1 | 2;
    } else {
      ({ train: questions, validation } = cut(train.questions));
    }
    questions = limit(questions);
    const windows = { maxLength: options.maxLength ?? QA_MAX_LENGTH, stride: options.stride ?? QA_STRIDE };
    const trainSet = qaExamples(questions, tokenizer, windows);
    const valSet = qaExamples(validation, tokenizer, windows);
    return {
      dataset: {
        task: 'question-answering', labelNames: [], name, train: trainSet.examples, validation: valSet.examples,
        qa: { questions: validation, windows: valSet.windows, version },
      },
      line: `${name}: question answering (SQuAD v${version === 2 ? '2.0' : '1.1'} scoring), ${questions.length} training questions in ${trainSet.examples.length} windows, ` +
        `${validation.length} validation questions in ${valSet.examples.length} windows (max length ${windows.maxLength}, stride ${windows.stride})`,
      maxLength: windows.maxLength,
    };
  }
  let data: NerData = train.data;
  let validation: NerData['sentences'];
  if (options.val) {
    const other = await read(options.val, data.labelNames);
    if (other?.task !== 'token-classification') throw new Error(`${options.val}: not token-classification data like ${name} (CoNLL, or rows with tokens and ner_tags)`);
    validation = other.data.sentences;
  } else {
    const split = cut(data.sentences);
    validation = split.validation;
    data = { ...data, sentences: split.train };
  }
  const sentences = limit(data.sentences);
  const maxLength = options.maxLength ?? options.nerMaxLength;
  return {
    dataset: {
      task: 'token-classification', labelNames: data.labelNames, name,
      train: nerExamples({ ...data, sentences }, tokenizer, maxLength),
      validation: nerExamples({ labelNames: data.labelNames, sentences: validation }, tokenizer, maxLength),
    },
    line: `${name}: token classification, ${data.labelNames.length} tags (${data.labelNames.join(', ')}), ${sentences.length} training and ${validation.length} validation sentences (max length ${maxLength})`,
    maxLength,
  };
}
