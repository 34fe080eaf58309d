// Which columns of a table are the text, the text pair and the label. Known layouts first: every
// GLUE file as distributed (exact headers; CoLA has none) and the Hugging Face column names; then
// the data itself. Every free-text column the choice leaves out is named, so a second sentence is
// never dropped in silence.

import type { ColumnChoice, Table } from './dataset.ts';
import type { Task } from './types.ts';

export function isNumeric(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value === 'bigint') return true;
  return typeof value === 'string' && /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value);
}

interface GlueLayout {
  task: string;
  header: string[];
  /** Train/dev files: the columns to use. Test files have none: their labels are withheld. */
  columns?: Required<Pick<ColumnChoice, 'text' | 'label'>> & Pick<ColumnChoice, 'textPair'>;
}

const MNLI_HEAD = ['index', 'promptID', 'pairID', 'genre', 'sentence1_binary_parse', 'sentence2_binary_parse', 'sentence1_parse', 'sentence2_parse', 'sentence1', 'sentence2'];
const STSB_HEAD = ['index', 'genre', 'filename', 'year', 'old_index', 'source1', 'source2', 'sentence1', 'sentence2'];
const NLI = { text: 'sentence1', textPair: 'sentence2', label: 'label' };

/** The GLUE files' headers as the GLUE download writes them (CoLA's train/dev have no header). */
const GLUE_LAYOUTS: GlueLayout[] = [
  { task: 'SST-2', header: ['sentence', 'label'], columns: { text: 'sentence', label: 'label' } },
  { task: 'MRPC', header: ['Quality', '#1 ID', '#2 ID', '#1 String', '#2 String'], columns: { text: '#1 String', textPair: '#2 String', label: 'Quality' } },
  { task: 'STS-B', header: [...STSB_HEAD, 'score'], columns: { text: 'sentence1', textPair: 'sentence2', label: 'score' } },
  { task: 'QQP', header: ['id', 'qid1', 'qid2', 'question1', 'question2', 'is_duplicate'], columns: { text: 'question1', textPair: 'question2', label: 'is_duplicate' } },
  { task: 'MNLI', header: [...MNLI_HEAD, 'label1', 'gold_label'], columns: { ...NLI, label: 'gold_label' } },
  { task: 'MNLI', header: [...MNLI_HEAD, 'label1', 'label2', 'label3', 'label4', 'label5', 'gold_label'], columns: { ...NLI, label: 'gold_label' } },
  { task: 'QNLI', header: ['index', 'question', 'sentence', 'label'], columns: { text: 'question', textPair: 'sentence', label: 'label' } },
  { task: 'RTE or WNLI', header: ['index', 'sentence1', 'sentence2', 'label'], columns: NLI },
  { task: 'CoLA or SST-2', header: ['index', 'sentence'] },
  { task: 'MRPC', header: ['index', '#1 ID', '#2 ID', '#1 String', '#2 String'] },
  { task: 'STS-B', header: STSB_HEAD },
  { task: 'QQP', header: ['id', 'question1', 'question2'] },
  { task: 'MNLI', header: MNLI_HEAD },
  { task: 'QNLI', header: ['index', 'question', 'sentence'] },
  { task: 'RTE, WNLI or AX', header: ['index', 'sentence1', 'sentence2'] },
];

/** The GLUE layout whose header is exactly `cells` (a BOM already stripped), if any. */
export function glueLayoutOf(cells: readonly string[]): GlueLayout | undefined {
  return GLUE_LAYOUTS.find((l) => l.header.length === cells.length && l.header.every((name, j) => name === cells[j]));
}

/** Why a table cannot train or validate a model, when it is a GLUE test split. */
export function glueTestRefusal(table: Table): string | undefined {
  const layout = table.headerless ? undefined : glueLayoutOf(table.columns);
  if (!layout || layout.columns) return undefined;
  return `this is GLUE's unlabelled ${layout.task} test file: its labels are withheld for the GLUE leaderboard, so it can neither train nor validate a model; use train.tsv and dev.tsv`;
}

/** Sentence-pair column names, first text then pair (Hugging Face tokenizers, GLUE, SNLI …). */
const PAIRS: [string, string][] = [
  ['text', 'text_pair'],
  ['sentence1', 'sentence2'],
  ['question1', 'question2'],
  ['premise', 'hypothesis'],
  ['text_a', 'text_b'],
  ['sentence_a', 'sentence_b'],
  ['text1', 'text2'],
  ['#1 string', '#2 string'],
  ['question', 'passage'],
  ['question', 'context'],
  ['question', 'sentence'],
];
const TEXT_NAMES = ['sentence', 'text', 'review', 'content', 'document', 'tweet', 'utterance', 'question', 'input', 'prompt', 'premise', 'sentence1', 'text_a'];
const LABEL_NAMES = ['label', 'labels', 'score', 'target', 'class', 'category', 'sentiment', 'gold_label', 'is_duplicate', 'quality', 'rating', 'y'];

interface ColumnStats {
  name: string;
  numeric: boolean;
  meanLength: number;
  distinct: number;
  sampled: number;
  /** Sentences, not codes: most values hold three or more words and are not parse trees. */
  freeText: boolean;
}

function columnStats(table: Table): ColumnStats[] {
  const sample = table.rows.slice(0, 500);
  return table.columns.map((name, j) => {
    const values = sample.map((row) => row[j]).filter((v) => v !== undefined && v !== null && v !== '');
    const strings = values.map((v) => (typeof v === 'string' ? v : String(v)));
    const numeric = values.length > 0 && values.every(isNumeric);
    const sentences = strings.filter((s) => s.trim().split(/\s+/).length >= 3 && !s.trimStart().startsWith('(')).length;
    return {
      name,
      numeric,
      meanLength: strings.reduce((s, v) => s + v.length, 0) / Math.max(1, strings.length),
      distinct: new Set(strings).size,
      sampled: values.length,
      freeText: !numeric && values.every((v) => typeof v === 'string') && sentences * 2 > strings.length,
    };
  });
}

/**
 * Proposes the text, pair and label columns: a GLUE layout by its exact header; else Hugging Face
 * names (text/text_pair, sentence1/sentence2, question with passage/context/sentence …); else the
 * data: the label is the numeric column with the fewest distinct values, the text the longest
 * non-numeric column, and two free-text columns become text and pair in file order (CoLA, having
 * one, gets col3 and col1). A column it cannot place stays undefined for the user to choose.
 */
export function guessColumns(table: Table): ColumnChoice {
  const glue = table.headerless ? undefined : glueLayoutOf(table.columns);
  if (glue?.columns) return { ...glue.columns };
  const lower = new Map(table.columns.map((c) => [c.toLowerCase(), c]));
  const choice: ColumnChoice = {};
  if (!table.headerless) {
    const pair = PAIRS.find(([a, b]) => lower.has(a) && lower.has(b));
    if (pair) [choice.text, choice.textPair] = [lower.get(pair[0]), lower.get(pair[1])];
    else choice.text = TEXT_NAMES.map((n) => lower.get(n)).find((c) => c !== undefined);
    choice.label = LABEL_NAMES.map((n) => lower.get(n)).find((c) => c !== undefined && c !== choice.text && c !== choice.textPair);
  }
  const stats = columnStats(table);
  const taken = () => new Set([choice.text, choice.textPair, choice.label]);
  // An id column (every sampled value different) is never the label.
  const idLike = (s: ColumnStats) => s.sampled > 20 && s.distinct === s.sampled;
  if (choice.label === undefined) {
    const candidates = stats.filter((s) => s.numeric && !idLike(s) && !taken().has(s.name));
    choice.label = candidates.sort((a, b) => a.distinct - b.distinct)[0]?.name;
  }
  if (choice.text === undefined) {
    const prose = stats.filter((s) => s.freeText && !taken().has(s.name));
    if (prose.length >= 2) {
      const longest = [...prose].sort((a, b) => b.meanLength - a.meanLength).slice(0, 2).map((s) => s.name);
      [choice.text, choice.textPair] = table.columns.filter((c) => longest.includes(c));
    } else {
      const candidates = stats.filter((s) => !s.numeric && s.sampled > 0 && !taken().has(s.name));
      choice.text = candidates.sort((a, b) => b.meanLength - a.meanLength)[0]?.name;
    }
  }
  return choice;
}

/** What the layout is and which free-text columns the choice leaves out. */
export interface ColumnReport {
  /** e.g. "GLUE MRPC", when the header is a GLUE file's. */
  layout?: string;
  leftOut: string[];
}

export function reportColumns(table: Table, choice: ColumnChoice): ColumnReport {
  const chosen = new Set([choice.text, choice.textPair, choice.label]);
  const glue = table.headerless ? undefined : glueLayoutOf(table.columns);
  return {
    layout: glue ? `GLUE ${glue.task}` : undefined,
    leftOut: columnStats(table).filter((s) => s.freeText && !chosen.has(s.name)).map((s) => s.name),
  };
}

/** The warning for free-text columns left out, or undefined when there are none. */
export function leftOutWarning(leftOut: readonly string[]): string | undefined {
  if (leftOut.length === 0) return undefined;
  const names = leftOut.map((c) => `"${c}"`).join(', ');
  return `free-text column${leftOut.length > 1 ? 's' : ''} ${names} ${leftOut.length > 1 ? 'are' : 'is'} not used: choose ${leftOut.length > 1 ? 'them' : 'it'} as text or text pair if the model should read ${leftOut.length > 1 ? 'them' : 'it'}`;
}

/** One line: `text=#1 String, pair=#2 String, label=Quality (2 classes: 0, 1)`. */
export function describeMapping(choice: ColumnChoice, built: { task: Task; labelNames: string[] }): string {
  const parts = [`text=${choice.text}`];
  if (choice.textPair !== undefined) parts.push(`pair=${choice.textPair}`);
  const classes = built.labelNames;
  const shown = classes.length > 10 ? `${classes.slice(0, 10).join(', ')}, …` : classes.join(', ');
  parts.push(`label=${choice.label} (${built.task === 'regression' ? 'regression' : `${classes.length} class${classes.length === 1 ? '' : 'es'}: ${shown}`})`);
  return parts.join(', ');
}
