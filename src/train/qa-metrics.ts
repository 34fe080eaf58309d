// Extractive question answering: turning start/end logits into answer text (Hugging Face's
// `postprocess_qa_predictions` from examples/pytorch/question-answering/utils_qa.py) and scoring
// it with the official SQuAD v1.1 / v2.0 evaluation scripts' exact match and F1.
import { tokenSpan, type TokenSpans } from '../io/qa-data.ts';

/** The official scripts' normalisation: lowercase, drop ASCII punctuation, drop a/an/the, squeeze whitespace. */
export function normalizeAnswer(text: string): string {
  const lower = text.toLowerCase();
  // Python's string.punctuation: ASCII only, so "“" or "—" stay.
  const noPunct = lower.replace(/[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g, '');
  // Python 3's \b is Unicode-aware: "the" inside "éthe" is not a word.
  const noArticles = noPunct.replace(/(?<![\p{L}\p{N}_])(a|an|the)(?![\p{L}\p{N}_])/gu, ' ');
  return noArticles.split(/\s+/).filter((w) => w.length > 0).join(' ');
}

const tokensOf = (text: string) => (text ? normalizeAnswer(text).split(' ').filter((w) => w.length > 0) : []);

export function exactMatch(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/**
 * Token-level F1 of the normalised texts. `version` 2 follows evaluate-v2.0.py: when either side
 * has no tokens (a no-answer), F1 is 1 if both have none, else 0. v1.1 scores that case 0.
 */
export function tokenF1(prediction: string, gold: string, version: 1 | 2 = 2): number {
  const pred = tokensOf(prediction);
  const ref = tokensOf(gold);
  if (version === 2 && (pred.length === 0 || ref.length === 0)) return pred.length === ref.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of ref) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pred) {
    const left = counts.get(t) ?? 0;
    if (left > 0) {
      same++;
      counts.set(t, left - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pred.length;
  const recall = same / ref.length;
  return (2 * precision * recall) / (precision + recall);
}

export interface SquadScores {
  /** Percentages, as the official scripts print them. */
  exact: number;
  f1: number;
  total: number;
  /** v2 only: the same split by whether the question has an answer (NaN where there are none). */
  hasAnsExact?: number;
  hasAnsF1?: number;
  noAnsExact?: number;
  noAnsF1?: number;
}

/**
 * Dataset-level EM and F1 (max over each question's gold answers, mean over questions, ×100).
 * A question with no prediction scores 0, as in both scripts. v2: gold answers that normalise to
 * nothing are dropped, and a question left with none has the single gold answer "".
 */
export function squadScores(
  examples: readonly { id: string; answers: { text: readonly string[] } }[],
  predictions: ReadonlyMap<string, string> | Record<string, string>,
  version: 1 | 2,
): SquadScores {
  const get = (id: string) => (predictions instanceof Map ? predictions.get(id) : (predictions as Record<string, string>)[id]);
  let em = 0;
  let f1 = 0;
  const split = { has: { n: 0, em: 0, f1: 0 }, no: { n: 0, em: 0, f1: 0 } };
  for (const example of examples) {
    let golds = [...example.answers.text];
    if (version === 2) {
      golds = golds.filter((a) => normalizeAnswer(a) !== '');
      if (golds.length === 0) golds = [''];
    } else if (golds.length === 0) {
      throw new Error(`question ${example.id} has no gold answer: SQuAD v1.1 scoring needs one (use version 2 for unanswerable questions)`);
    }
    const prediction = get(example.id);
    const e = prediction === undefined ? 0 : Math.max(...golds.map((g) => exactMatch(prediction, g)));
    const f = prediction === undefined ? 0 : Math.max(...golds.map((g) => tokenF1(prediction, g, version)));
    em += e;
    f1 += f;
    const bucket = golds.length === 1 && golds[0] === '' ? split.no : split.has;
    bucket.n++;
    bucket.em += e;
    bucket.f1 += f;
  }
  const n = examples.length;
  const pct = (sum: number, count: number) => (count === 0 ? NaN : (100 * sum) / count);
  const scores: SquadScores = { exact: pct(em, n), f1: pct(f1, n), total: n };
  if (version === 2) {
    scores.hasAnsExact = pct(split.has.em, split.has.n);
    scores.hasAnsF1 = pct(split.has.f1, split.has.n);
    scores.noAnsExact = pct(split.no.em, split.no.n);
    scores.noAnsF1 = pct(split.no.f1, split.no.n);
  }
  return scores;
}

/** One window's logits and where its tokens lie in the context (null: question, specials, padding). */
export interface WindowLogits {
  startLogits: ArrayLike<number>;
  endLogits: ArrayLike<number>;
  /** Character [start, end) in the context of each token (io/qa-data.ts's TokenSpans). */
  offsets: TokenSpans;
}

export interface PostprocessOptions {
  nBest?: number;
  maxAnswerLength?: number;
  /** SQuAD v2: allow "no answer", chosen when the best null score beats the best span by more than the threshold. */
  withNegative?: boolean;
  nullScoreDiffThreshold?: number;
}

export interface AnswerPrediction {
  text: string;
  /** Character span in the context; [0, 0] for no answer. */
  start: number;
  end: number;
  score: number;
  /** v2: null score minus the best span's score (HF's scores_diff_json); undefined for v1. */
  nullScoreDiff?: number;
}

/** The `nBest` highest positions, highest first; ties go to the later position, as numpy's argsort()[::-1]. */
function topIndices(values: ArrayLike<number>, nBest: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[a] - values[b] || a - b);
  return order.reverse().slice(0, nBest);
}

/**
 * The answer to one example from all its windows, as `postprocess_qa_predictions` picks it:
 * the n-best start and end positions of each window, spans inside the context with
 * start ≤ end and at most `maxAnswerLength` tokens, scored start + end logit; the null score is
 * the smallest CLS start + end over the windows.
 */
export function bestAnswer(context: string, windows: readonly WindowLogits[], options: PostprocessOptions = {}): AnswerPrediction {
  const nBest = options.nBest ?? 20;
  const maxLength = options.maxAnswerLength ?? 30;
  const threshold = options.nullScoreDiffThreshold ?? 0;
  const candidates: { start: number; end: number; score: number; startLogit: number; endLogit: number }[] = [];
  let nullPrediction: (typeof candidates)[number] | null = null;
  for (const w of windows) {
    const nullScore = w.startLogits[0] + w.endLogits[0];
    if (nullPrediction === null || nullPrediction.score > nullScore) {
      nullPrediction = { start: 0, end: 0, score: nullScore, startLogit: w.startLogits[0], endLogit: w.endLogits[0] };
    }
    const starts = topIndices(w.startLogits, nBest);
    const ends = topIndices(w.endLogits, nBest);
    for (const s of starts) {
      for (const e of ends) {
        const so = tokenSpan(w.offsets, s);
        const eo = tokenSpan(w.offsets, e);
        if (!so || !eo || e < s || e - s + 1 > maxLength) continue;
        candidates.push({ start: so[0], end: eo[1], score: w.startLogits[s] + w.endLogits[e], startLogit: w.startLogits[s], endLogit: w.endLogits[e] });
      }
    }
  }
  if (options.withNegative && nullPrediction) candidates.push(nullPrediction);
  // A stable sort keeps HF's order among equal scores (windows in order, then start, then end rank).
  const ranked = candidates.map((c, i) => ({ c, i })).sort((a, b) => b.c.score - a.c.score || a.i - b.i).map((x) => x.c).slice(0, nBest);
  if (options.withNegative && nullPrediction && !ranked.some((p) => p.start === 0 && p.end === 0)) ranked.push(nullPrediction);
  const withText = ranked.map((p) => ({ ...p, text: context.slice(p.start, p.end) }));
  // HF's fallback when no span survives: the literal text "empty" with logits 0.
  if (withText.length === 0 || (withText.length === 1 && withText[0].text === '')) {
    withText.unshift({ start: 0, end: 0, score: 0, startLogit: 0, endLogit: 0, text: 'empty' });
  }
  if (!options.withNegative) {
    const best = withText[0];
    return { text: best.text, start: best.start, end: best.end, score: best.score };
  }
  const nullScore = (nullPrediction as (typeof candidates)[number]).score;
  const bestSpan = withText.find((p) => p.text !== '');
  if (!bestSpan) return { text: '', start: 0, end: 0, score: nullScore, nullScoreDiff: Infinity };
  const diff = nullScore - bestSpan.startLogit - bestSpan.endLogit;
  if (diff > threshold) return { text: '', start: 0, end: 0, score: nullScore, nullScoreDiff: diff };
  return { text: bestSpan.text, start: bestSpan.start, end: bestSpan.end, score: bestSpan.score, nullScoreDiff: diff };
}

/**
 * Answers for a whole evaluation set: each example's windows (features in order, as qaFeatures
 * makes them) with the model's start/end logits, through bestAnswer. Keyed by example id.
 */
export function answersFromWindows(
  examples: readonly { id: string; context: string }[],
  windows: readonly { exampleIndex: number; offsets: TokenSpans }[],
  logits: readonly { start: ArrayLike<number>; end: ArrayLike<number> }[],
  options: PostprocessOptions = {},
): Map<string, AnswerPrediction> {
  if (windows.length !== logits.length) throw new Error(`answers: ${logits.length} logit rows for ${windows.length} windows`);
  const byExample = examples.map((): WindowLogits[] => []);
  windows.forEach((w, i) => {
    const list = byExample[w.exampleIndex];
    if (!list) throw new Error(`answers: window ${i} belongs to example ${w.exampleIndex}, but there are ${examples.length} examples`);
    const tokens = w.offsets.length / 2;
    if (logits[i].start.length < tokens || logits[i].end.length < tokens) {
      throw new Error(`answers: window ${i} has ${tokens} tokens but ${Math.min(logits[i].start.length, logits[i].end.length)} logits`);
    }
    list.push({ startLogits: logits[i].start, endLogits: logits[i].end, offsets: w.offsets });
  });
  return new Map(examples.map((e, k) => [e.id, bestAnswer(e.context, byExample[k], options)]));
}
