// Extractive question answering data: SQuAD v1.1 / v2.0 JSON files and the Hub's flattened rows
// become examples, and each example becomes windows over its context the way transformers'
// run_qa.py prepares them (question first, truncation "only_second", max length 384, stride
// 128, the answer's start/end token or the CLS index when the window does not hold it), with
// every context token's character span so predicted spans map back to text.

import { DatasetError, type Table } from './dataset.ts';
import { JsonSyntaxError, parseJson } from './strict-json.ts';
import { perWord } from './word-memo.ts';

export interface QaExample {
  id: string;
  title: string;
  context: string;
  question: string;
  /** Gold answers; empty for an unanswerable (SQuAD v2) question. */
  answers: { text: string[]; answerStart: number[] };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks one example's answers against its context, so a broken file fails here and not as a silent wrong label. */
function checkAnswers(example: QaExample, fail: (problem: string) => never): QaExample {
  const { text, answerStart } = example.answers;
  if (text.length !== answerStart.length) fail(`question ${example.id}: ${text.length} answer texts but ${answerStart.length} answer_start values`);
  text.forEach((t, i) => {
    const start = answerStart[i];
    if (!Number.isInteger(start) || start < 0 || start + t.length > example.context.length) {
      fail(`question ${example.id}: answer ${i} ("${t}") at answer_start ${start} runs outside the context (${example.context.length} characters)`);
    }
    if (example.context.slice(start, start + t.length) !== t) {
      fail(`question ${example.id}: answer ${i} is "${t}" but the context holds "${example.context.slice(start, start + t.length)}" at answer_start ${start}`);
    }
  });
  return example;
}

/** A SQuAD v1.1 or v2.0 file: {"data": [{"title", "paragraphs": [{"context", "qas": [{"id", "question", "answers", "is_impossible"?}]}]}]}. */
export function parseSquadJson(text: string, file: string): QaExample[] {
  let root: unknown;
  try {
    root = parseJson(text, { rejectDuplicateKeys: false });
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new DatasetError(file, `not valid JSON: ${error.message}`, error.line);
    throw error;
  }
  if (!isRecord(root) || !Array.isArray(root.data)) throw new DatasetError(file, 'not a SQuAD file: expected {"data": [{"title", "paragraphs": […]}]}');
  const examples: QaExample[] = [];
  root.data.forEach((article: unknown, a) => {
    const where = `data[${a}]`;
    const fail = (problem: string): never => {
      throw new DatasetError(file, `${where}: ${problem}`);
    };
    if (!isRecord(article) || !Array.isArray(article.paragraphs)) fail('expected {"title", "paragraphs": […]}');
    const { title, paragraphs } = article as { title?: unknown; paragraphs: unknown[] };
    paragraphs.forEach((paragraph, p) => {
      const at = (problem: string): never => fail(`paragraphs[${p}]: ${problem}`);
      if (!isRecord(paragraph) || typeof paragraph.context !== 'string' || !Array.isArray(paragraph.qas)) at('expected {"context": "…", "qas": […]}');
      const { context, qas } = paragraph as { context: string; qas: unknown[] };
      qas.forEach((qa, q) => {
        const atQa = (problem: string): never => at(`qas[${q}]: ${problem}`);
        if (!isRecord(qa) || typeof qa.question !== 'string' || (typeof qa.id !== 'string' && typeof qa.id !== 'number')) atQa('expected {"id", "question", "answers": […]}');
        const { id, question, answers = [], is_impossible: impossible } = qa as { id: string | number; question: string; answers?: unknown; is_impossible?: unknown };
        if (!Array.isArray(answers)) atQa('"answers" should be a list of {"text", "answer_start"}');
        const list = impossible === true ? [] : (answers as unknown[]);
        const parsed = list.map((answer, i) => {
          if (!isRecord(answer) || typeof answer.text !== 'string' || typeof answer.answer_start !== 'number') atQa(`answers[${i}] should be {"text": "…", "answer_start": n}`);
          return answer as { text: string; answer_start: number };
        });
        const example: QaExample = {
          id: String(id),
          title: typeof title === 'string' ? title : '',
          context,
          question,
          answers: { text: parsed.map((x) => x.text), answerStart: parsed.map((x) => x.answer_start) },
        };
        examples.push(checkAnswers(example, atQa));
      });
    });
  });
  if (examples.length === 0) throw new DatasetError(file, 'the SQuAD file holds no questions');
  return examples;
}

/** The Hub's flattened SQuAD rows (squad, squad_v2 in JSONL or Parquet): id, title, context, question, answers{text, answer_start}. */
export function qaExamplesFromTable(table: Table, file: string): QaExample[] {
  const column = (name: string, required: boolean) => {
    const index = table.columns.indexOf(name);
    if (index === -1 && required) throw new DatasetError(file, `no "${name}" column: question answering needs context, question and answers (found ${table.columns.join(', ')})`);
    return index;
  };
  const [idCol, titleCol, contextCol, questionCol, answersCol] = [column('id', false), column('title', false), column('context', true), column('question', true), column('answers', true)];
  return table.rows.map((row, r) => {
    const fail = (problem: string): never => {
      throw new DatasetError(file, problem, table.rowLines[r], table.rowUnit);
    };
    const context = row[contextCol];
    const question = row[questionCol];
    if (typeof context !== 'string' || typeof question !== 'string') fail('"context" and "question" should be text');
    const answers = row[answersCol];
    const list = (v: unknown) => (Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<unknown>) : null);
    const texts = isRecord(answers) ? list(answers.text) : null;
    const starts = isRecord(answers) ? list(answers.answer_start) : null;
    if (!texts || !starts || !texts.every((t) => typeof t === 'string') || !starts.every((s) => typeof s === 'number' || typeof s === 'bigint')) {
      fail('"answers" should be {"text": [...], "answer_start": [...]}');
    }
    const id = idCol === -1 ? String(r) : String(row[idCol]);
    const title = titleCol === -1 ? '' : String(row[titleCol] ?? '');
    const example: QaExample = { id, title, context: context as string, question: question as string, answers: { text: texts as string[], answerStart: (starts as (number | bigint)[]).map(Number) } };
    return checkAnswers(example, fail);
  });
}

/** What windowing needs of a tokenizer (TextTokenizer provides it). */
export interface QaTokenizer {
  readonly clsId?: number;
  tokenize(text: string): { ids: number[]; tokens: string[] };
  wrapSpecials(a: readonly number[], b: readonly number[] | null): { ids: number[]; typeIds: number[]; sequenceIds: (0 | 1 | null)[] };
}

/** Case and accent folding, so "##é" or "▁The" can be found in the original text. */
const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();

/** The text a token stands for, without the word-boundary marks of Metaspace (▁), WordPiece (##) and byte-level BPE (Ġ). */
const surface = (token: string) => fold(token.replace(/^(▁|##|Ġ)/, ''));

/**
 * Token ids of a context with each token's [start, end) characters. The context is tokenized
 * word by word (each with the whitespace before it), which gives the whole-text ids for
 * tokenizers that split on whitespace first (WordPiece, SentencePiece's Metaspace, byte-level
 * BPE). Within a word, tokens are matched to characters after folding case and accents; a token
 * that cannot be matched (an unknown-token id, a byte piece) spans the characters up to the next
 * token that can. Spans exclude the whitespace before a word.
 */
export function tokenizeWithOffsets(tokenizer: QaTokenizer, text: string): { ids: number[]; offsets: [number, number][] } {
  const ids: number[] = [];
  const offsets: [number, number][] = [];
  // Each word with the whitespace before it, so byte-level BPE also sees runs of spaces (its Ġ tokens).
  for (const match of text.matchAll(/\s*\S+|\s+$/gu)) {
    const word = perWord(tokenizer, 'offsets', match[0], (chunk) => tokenizeWord(tokenizer, chunk));
    const at = match.index as number;
    for (const id of word.ids) ids.push(id);
    for (const [start, end] of word.offsets) offsets.push([at + start, at + end]);
  }
  return { ids, offsets };
}

/** One word (with the whitespace before it): its ids and each token's span from the chunk's start. */
function tokenizeWord(tokenizer: QaTokenizer, chunk: string): { ids: number[]; offsets: [number, number][] } {
  const space = /^\s*/.exec(chunk)?.[0].length ?? 0;
  const word = chunk.slice(space);
  const { ids, tokens } = tokenizer.tokenize(chunk);
  // folded[i] came from word character origin[i]; origin[folded.length] is the word's end.
  let folded = '';
  const origin: number[] = [];
  for (let i = 0; i < word.length; ) {
    const ch = String.fromCodePoint(word.codePointAt(i) as number);
    const f = fold(ch);
    for (let k = 0; k < f.length; k++) origin.push(i);
    folded += f;
    i += ch.length;
  }
  origin.push(word.length);
  const surfaces = tokens.map(surface);
  const offsets: [number, number][] = [];
  let pos = 0;
  tokens.forEach((_, t) => {
    const s = surfaces[t];
    let end: number;
    if (s.length > 0 && folded.startsWith(s, pos)) {
      end = pos + s.length;
    } else {
      // Up to where the next matchable token is found, or the rest of the word.
      end = folded.length;
      for (let n = t + 1; n < tokens.length; n++) {
        const at = surfaces[n].length > 0 ? folded.indexOf(surfaces[n], pos) : -1;
        if (at !== -1) {
          end = at;
          break;
        }
      }
      if (s.length === 0 && end !== folded.length) end = pos; // a lone "▁" or "Ġ" covers no character
    }
    offsets.push([space + origin[pos], space + origin[end]]);
    pos = end;
  });
  return { ids, offsets };
}

/**
 * Each token's [start, end) context characters as a pair (token t at 2t, 2t + 1), −1 −1 for a
 * token outside the context (question, specials). Packed: SQuAD's validation windows hold ~4M
 * tokens, which as [start, end] arrays cost ~200 MB and seconds to post to the engine.
 */
export type TokenSpans = Int32Array;

/** Token t's span, or null outside the context. */
export function tokenSpan(spans: TokenSpans, t: number): [number, number] | null {
  const start = spans[2 * t];
  return start === undefined || start < 0 ? null : [start, spans[2 * t + 1]];
}

export interface QaFeature {
  /** Index of the example this window belongs to. */
  exampleIndex: number;
  inputIds: number[];
  tokenTypeIds: number[];
  /** Character span in the context of each context token; none for the question and special tokens. */
  offsets: TokenSpans;
  /** Token positions of the first answer in this window, or the CLS position when it is not inside. */
  startPosition: number;
  endPosition: number;
}

export interface WindowOptions {
  maxLength?: number;
  /** Context tokens shared by consecutive windows. */
  stride?: number;
}

/**
 * run_qa.py's features: [question] then windows of the context, each as long as `maxLength`
 * allows, consecutive windows overlapping by `stride` tokens (the tokenizers crate's overflow
 * rule), with the answer's token positions or CLS. Where run_qa's search for the positions can
 * step past the context into padding or the question, this one stays inside the context.
 */
export function qaFeatures(examples: readonly QaExample[], tokenizer: QaTokenizer, options: WindowOptions = {}): QaFeature[] {
  const maxLength = options.maxLength ?? 384;
  const stride = options.stride ?? 128;
  const specials = tokenizer.wrapSpecials([], []).ids.length;
  const features: QaFeature[] = [];
  // SQuAD asks ~5 questions of each context.
  const contexts = new Map<string, ReturnType<typeof tokenizeWithOffsets>>();
  examples.forEach((example, exampleIndex) => {
    // run_qa.py strips the question's leading whitespace (some SQuAD questions have a lot).
    const question = tokenizer.tokenize(example.question.trimStart()).ids;
    let context = contexts.get(example.context);
    if (!context) contexts.set(example.context, (context = tokenizeWithOffsets(tokenizer, example.context)));
    const room = maxLength - specials - question.length;
    // The tokenizers crate needs the stride below the window only when it has to cut.
    if (room <= 0 || (context.ids.length > room && room <= stride)) {
      throw new Error(`question ${example.id}: its ${question.length} tokens leave ${Math.max(room, 0)} context tokens per window of ${maxLength}, not more than the stride ${stride}; raise the maximum length or lower the stride`);
    }
    for (let begin = 0; ; begin += room - stride) {
      const end = Math.min(begin + room, context.ids.length);
      const wrapped = tokenizer.wrapSpecials(question, context.ids.slice(begin, end));
      const offsets: TokenSpans = new Int32Array(2 * wrapped.ids.length).fill(-1);
      let k = begin;
      wrapped.sequenceIds.forEach((s, t) => {
        if (s === 1) offsets.set(context.offsets[k++], 2 * t);
      });
      const cls = Math.max(0, tokenizer.clsId === undefined ? 0 : wrapped.ids.indexOf(tokenizer.clsId));
      const [startPosition, endPosition] = answerPositions(example, offsets, cls);
      features.push({ exampleIndex, inputIds: wrapped.ids, tokenTypeIds: wrapped.typeIds, offsets, startPosition, endPosition });
      if (end === context.ids.length) break;
    }
  });
  return features;
}

function answerPositions(example: QaExample, offsets: TokenSpans, cls: number): [number, number] {
  if (example.answers.text.length === 0) return [cls, cls];
  const startChar = example.answers.answerStart[0];
  const endChar = startChar + example.answers.text[0].length;
  // The window's context tokens lie in first..last.
  const tokens = offsets.length / 2;
  let first = -1;
  let last = -1;
  for (let t = 0; t < tokens; t++) {
    if (offsets[2 * t] < 0) continue;
    if (first === -1) first = t;
    last = t;
  }
  if (first === -1) return [cls, cls];
  if (!(offsets[2 * first] <= startChar && offsets[2 * last + 1] >= endChar)) return [cls, cls];
  let start = first;
  for (let t = first; t <= last; t++) if (offsets[2 * t] >= 0 && offsets[2 * t] <= startChar) start = t;
  let end = last;
  for (let t = last; t >= first; t--) {
    if (offsets[2 * t] < 0) continue;
    if (offsets[2 * t + 1] >= endChar) end = t;
    else break;
  }
  return [start, end];
}
