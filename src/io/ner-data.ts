// Token classification (NER) data: CoNLL column files and `tokens` + `ner_tags` rows become
// sentences of words with tag ids, and each sentence becomes model input the way transformers'
// run_ner.py tokenizes it (is_split_into_words): the word's tag on its first sub-token, −100 on
// the others and on special tokens, truncation to the maximum length.

import { DatasetError, type Table } from './dataset.ts';
import { perWord } from './word-memo.ts';

export interface NerSentence {
  words: string[];
  /** Index into the label names, one per word. */
  tags: number[];
}

export interface NerData {
  sentences: NerSentence[];
  labelNames: string[];
}

/**
 * CoNLL-2003 style text: one word per line, columns separated by whitespace, the word first and
 * its tag last; blank lines end sentences; `-DOCSTART-` lines are skipped. Label names are the
 * sorted distinct tags, as run_ner.py's get_label_list makes them, unless `labelNames` is given.
 */
export function parseConll(text: string, file: string, labelNames?: readonly string[]): NerData {
  const raw: { words: string[]; tags: string[]; lines: number[] }[] = [];
  let current = { words: [] as string[], tags: [] as string[], lines: [] as number[] };
  const flush = () => {
    if (current.words.length > 0) raw.push(current);
    current = { words: [], tags: [], lines: [] };
  };
  text.split(/\r?\n/).forEach((line, i) => {
    const columns = line.trim().split(/\s+/).filter((c) => c.length > 0);
    if (columns.length === 0) return flush();
    if (columns[0] === '-DOCSTART-') return flush();
    if (columns.length < 2) throw new DatasetError(file, `"${line.trim()}" has no tag column: CoNLL lines are "word … tag"`, i + 1);
    current.words.push(columns[0]);
    current.tags.push(columns[columns.length - 1]);
    current.lines.push(i + 1);
  });
  flush();
  if (raw.length === 0) throw new DatasetError(file, 'no sentences: expected "word … tag" lines with blank lines between sentences');
  const names = labelNames ? [...labelNames] : [...new Set(raw.flatMap((s) => s.tags))].sort();
  const index = new Map(names.map((n, k) => [n, k]));
  const sentences = raw.map((s) => ({
    words: s.words,
    tags: s.tags.map((tag, j) => index.get(tag) ?? failTag(file, tag, names, s.lines[j])),
  }));
  return { sentences, labelNames: names };
}

function failTag(file: string, tag: string, names: readonly string[], line: number, unit: 'line' | 'row' = 'line'): never {
  throw new DatasetError(file, `the tag "${tag}" is not one of the labels ${names.join(', ')}`, line, unit);
}

/**
 * Rows with a list of words (`tokens`) and a list of tags (`ner_tags`: ClassLabel ids with names
 * from the Parquet metadata or `labelNames`, or tag strings). Column names can be overridden.
 */
export function nerFromTable(table: Table, file: string, options: { tokensColumn?: string; tagsColumn?: string; labelNames?: readonly string[] } = {}): NerData {
  const tokensColumn = options.tokensColumn ?? 'tokens';
  const tagsColumn = options.tagsColumn ?? (table.columns.includes('ner_tags') ? 'ner_tags' : 'tags');
  const [w, t] = [table.columns.indexOf(tokensColumn), table.columns.indexOf(tagsColumn)];
  if (w === -1 || t === -1) {
    throw new DatasetError(file, `token classification needs a "${tokensColumn}" column of words and a "${tagsColumn}" column of tags (found ${table.columns.join(', ')})`);
  }
  const list = (v: unknown): unknown[] | null => (Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<unknown>) : null);
  const rows = table.rows.map((row, r) => {
    const fail = (problem: string): never => {
      throw new DatasetError(file, problem, table.rowLines[r], table.rowUnit);
    };
    const words = list(row[w]);
    const tags = list(row[t]);
    if (!words || !words.every((x) => typeof x === 'string')) fail(`"${tokensColumn}" should be a list of words`);
    if (!tags) return fail(`"${tagsColumn}" should be a list of tags`);
    if (tags.length !== (words as string[]).length) fail(`${(words as string[]).length} words but ${tags.length} tags`);
    return { words: words as string[], tags };
  });
  const given = options.labelNames ?? table.labelNames?.[tagsColumn];
  const allStrings = rows.every((row) => row.tags.every((x) => typeof x === 'string'));
  let names: string[];
  if (allStrings) {
    names = given ? [...given] : [...new Set(rows.flatMap((row) => row.tags as string[]))].sort();
  } else {
    const max = Math.max(-1, ...rows.flatMap((row) => row.tags.map((x) => (typeof x === 'number' || typeof x === 'bigint' ? Number(x) : -1))));
    names = given ? [...given] : Array.from({ length: max + 1 }, (_, k) => String(k));
  }
  const index = new Map(names.map((n, k) => [n, k]));
  const sentences = rows.map((row, r) => ({
    words: row.words,
    tags: row.tags.map((x) => {
      if (typeof x === 'string') return index.get(x) ?? failTag(file, x, names, table.rowLines[r], table.rowUnit);
      const k = typeof x === 'number' || typeof x === 'bigint' ? Number(x) : NaN;
      if (!Number.isInteger(k) || k < 0 || k >= names.length) {
        throw new DatasetError(file, `the tag ${String(x)} is not a label id in 0…${names.length - 1} (${names.join(', ')})`, table.rowLines[r], table.rowUnit);
      }
      return k;
    }),
  }));
  return { sentences, labelNames: names };
}

/** What encoding needs of a tokenizer (TextTokenizer provides it). */
export interface NerTokenizer {
  tokenize(text: string): { ids: number[] };
  wrapSpecials(a: readonly number[], b: readonly number[] | null): { ids: number[]; typeIds: number[]; sequenceIds: (0 | 1 | null)[] };
}

export interface NerFeature {
  inputIds: number[];
  tokenTypeIds: number[];
  /** The word's tag id on its first sub-token; −100 (ignored by the loss) elsewhere. */
  labels: number[];
  /** Which word each position comes from; null for special tokens. */
  wordIds: (number | null)[];
}

/**
 * One sentence as model input. Each word is tokenized on its own with a space before it (so a
 * byte-level BPE sees every word as a new word, as add_prefix_space=True does), the sequence is
 * cut to `maxLength` including the special tokens, and the tag goes on each word's first sub-token.
 */
export function nerFeature(sentence: NerSentence, tokenizer: NerTokenizer, maxLength: number): NerFeature {
  const ids: number[] = [];
  const words: number[] = [];
  sentence.words.forEach((word, k) => {
    for (const id of perWord(tokenizer, 'ids', ` ${word}`, (w) => tokenizer.tokenize(w).ids)) {
      ids.push(id);
      words.push(k);
    }
  });
  const room = maxLength - tokenizer.wrapSpecials([], null).ids.length;
  if (room <= 0) throw new Error(`maximum length ${maxLength} leaves no room for tokens beside the special tokens`);
  const wrapped = tokenizer.wrapSpecials(ids.slice(0, room), null);
  const wordIds: (number | null)[] = [];
  const labels: number[] = [];
  let t = 0;
  let previous: number | null = null;
  for (const s of wrapped.sequenceIds) {
    const word = s === 0 ? words[t++] : null;
    wordIds.push(word);
    labels.push(word === null || word === previous ? -100 : sentence.tags[word]);
    previous = word;
  }
  return { inputIds: wrapped.ids, tokenTypeIds: wrapped.typeIds, labels, wordIds };
}
