// Question-answering and token-classification data as the trainer takes it: a file is recognised
// (SQuAD JSON, CoNLL text, or a table with the Hub's QA or NER columns), then turned with the
// model's tokenizer into examples that carry their token ids and labels — a QA window's start and
// end position, or an NER sentence's per-token tags with −100 — and batches of them are padded.

import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { DatasetError, parseTable } from './dataset.ts';
import { nerFeature, nerFromTable, parseConll, type NerData, type NerTokenizer } from './ner-data.ts';
import { parseSquadJson, qaExamplesFromTable, qaFeatures, type QaExample, type QaTokenizer, type WindowOptions } from './qa-data.ts';
import { tokenRow } from './token-row.ts';
import type { Example, QaWindows } from './types.ts';

export type TokenTaskData =
  | { task: 'question-answering'; questions: QaExample[]; version: 1 | 2 }
  | { task: 'token-classification'; data: NerData };

const CONLL_TAG = /^(O|[BIESLU]-\S+)$/;

/** CoNLL text: blank-line separated sentences whose lines end in IOB/IOBES tags (most of them). */
function looksLikeConll(text: string): boolean {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith('-DOCSTART-'));
  if (lines.length === 0) return false;
  const tagged = lines.filter((l) => {
    const columns = l.split(/\s+/);
    return columns.length >= 2 && CONLL_TAG.test(columns[columns.length - 1]);
  });
  return tagged.length === lines.length || (tagged.length >= 0.9 * lines.length && lines.some((l) => /^O$|\sO$/.test(l)));
}

/**
 * A QA or NER file, or null when it is neither (a classification table, say). SQuAD files are
 * JSON with "data" → "paragraphs"; CoNLL files are text; the Hub's flattened rows (JSONL, JSON,
 * Parquet) are recognised by their columns: context + question + answers, or tokens + ner_tags.
 * `labelNames`: an NER validation file's tags are read with the training file's names.
 */
export async function readTokenTaskFile(bytes: ArrayBuffer, fileName: string, labelNames?: readonly string[]): Promise<TokenTaskData | null> {
  const extension = fileName.toLowerCase().match(/\.([a-z0-9]+)$/)?.[1] ?? '';
  if (bytes.byteLength === 0) throw new DatasetError(fileName, 'the file is empty');
  if (extension !== 'parquet') {
    const text = new TextDecoder().decode(bytes);
    if (extension === 'json' && /^\s*\{/.test(text) && text.includes('"paragraphs"')) {
      return qaData(parseSquadJson(text, fileName));
    }
    if (['conll', 'iob', 'iob2', 'bio', 'txt', 'tsv'].includes(extension) && looksLikeConll(text)) {
      return { task: 'token-classification', data: parseConll(text, fileName, labelNames) };
    }
    if (!['json', 'jsonl', 'csv', 'tsv'].includes(extension)) return null;
  }
  const table = await parseTable(bytes, fileName);
  const has = (...names: string[]) => names.every((n) => table.columns.includes(n));
  if (has('context', 'question', 'answers')) return qaData(qaExamplesFromTable(table, fileName));
  if (has('tokens') && (has('ner_tags') || has('tags'))) return { task: 'token-classification', data: nerFromTable(table, fileName, { labelNames }) };
  return null;
}

/** SQuAD v2 scoring when any question has no answer, v1.1 otherwise. */
function qaData(questions: QaExample[]): TokenTaskData {
  return { task: 'question-answering', questions, version: questions.some((q) => q.answers.text.length === 0) ? 2 : 1 };
}

/** Every window of every question as an example (text: the question, for previews), and where
 * each window's tokens lie in its context. */
export function qaExamples(questions: readonly QaExample[], tokenizer: QaTokenizer, options: WindowOptions): { examples: Example[]; windows: QaWindows['windows'] } {
  const features = qaFeatures(questions, tokenizer, options);
  return {
    examples: features.map((f) => ({
      text: questions[f.exampleIndex].question,
      label: 0,
      tokens: tokenRow(f.inputIds, [f.startPosition, f.endPosition], f.tokenTypeIds),
    })),
    windows: features.map((f) => ({ exampleIndex: f.exampleIndex, offsets: f.offsets })),
  };
}

/** One example per sentence: the words as text, the tag on each word's first sub-token. */
export function nerExamples(data: NerData, tokenizer: NerTokenizer, maxLength: number): Example[] {
  return data.sentences.map((sentence) => {
    const f = nerFeature(sentence, tokenizer, maxLength);
    return { text: sentence.words.join(' '), label: 0, tokens: tokenRow(f.inputIds, f.labels, f.tokenTypeIds) };
  });
}

/**
 * Rows of token ids right-padded to the longest (rounded up to `padToMultipleOf`), with their
 * labels: per token (padding −100) when `perToken`, else each row's own labels one after another
 * (a QA window's start and end).
 */
export function collateTokenRows(
  rows: readonly { inputIds: ArrayLike<number>; labels: ArrayLike<number>; tokenTypeIds?: ArrayLike<number> }[],
  padId: number,
  padToMultipleOf: number,
  perToken: boolean,
): { batch: { batch: number; seq: number; inputIds: Uint32Array; attentionMask: Uint32Array; tokenTypeIds: Uint32Array }; labels: Int32Array } {
  const batch = rows.length;
  const seq = Math.ceil(rows.reduce((m, r) => Math.max(m, r.inputIds.length), 0) / padToMultipleOf) * padToMultipleOf;
  const inputIds = new Uint32Array(batch * seq).fill(padId);
  const attentionMask = new Uint32Array(batch * seq);
  const tokenTypeIds = new Uint32Array(batch * seq);
  const labels = perToken ? new Int32Array(batch * seq).fill(IGNORE_INDEX) : new Int32Array(rows.reduce((n, r) => n + r.labels.length, 0));
  let next = 0;
  rows.forEach((row, b) => {
    inputIds.set(row.inputIds, b * seq);
    attentionMask.fill(1, b * seq, b * seq + row.inputIds.length);
    if (row.tokenTypeIds) tokenTypeIds.set(row.tokenTypeIds, b * seq);
    if (perToken) {
      if (row.labels.length !== row.inputIds.length) throw new Error(`row ${b}: ${row.labels.length} labels for ${row.inputIds.length} tokens`);
      labels.set(row.labels, b * seq);
    } else {
      labels.set(row.labels, next);
      next += row.labels.length;
    }
  });
  return { batch: { batch, seq, inputIds, attentionMask, tokenTypeIds }, labels };
}
