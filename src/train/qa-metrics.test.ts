import { describe, expect, it } from 'vitest';
import { answersFromWindows, bestAnswer, exactMatch, normalizeAnswer, squadScores, tokenF1, type WindowLogits } from './qa-metrics.ts';

/** Token spans packed as qaFeatures makes them (−1 −1 outside the context). */
const spans = (list: ([number, number] | null)[]) => Int32Array.from(list.flatMap((o) => o ?? [-1, -1]));

// Expected values worked by hand from the official evaluate-v1.1.py / evaluate-v2.0.py
// (normalize_answer, f1_score / compute_f1, the max over gold answers, ×100).
describe('SQuAD answer normalisation', () => {
  it('lowercases, drops ASCII punctuation and the articles a/an/the, squeezes whitespace', () => {
    expect(normalizeAnswer('The  Quick, brown fox!')).toBe('quick brown fox');
    expect(normalizeAnswer('an apple a day')).toBe('apple day');
    expect(normalizeAnswer('  A.B.C.  ')).toBe('abc');
    expect(normalizeAnswer("don't")).toBe('dont');
  });

  it('removes articles only as whole words, after punctuation is gone', () => {
    expect(normalizeAnswer('Theater')).toBe('theater');
    // "the-end" loses its hyphen first, so no word "the" is left to remove.
    expect(normalizeAnswer('the-end')).toBe('theend');
    expect(normalizeAnswer('the end')).toBe('end');
  });

  it('keeps non-ASCII punctuation and treats non-ASCII letters as word characters (Python 3 regex)', () => {
    // “ and ” are not in string.punctuation; they do bound the word "the".
    expect(normalizeAnswer('“The” answer')).toBe('“ ” answer');
    expect(normalizeAnswer('éthe a')).toBe('éthe');
  });

  it('exact match compares the normalised strings', () => {
    expect(exactMatch('The Eiffel Tower', 'eiffel tower.')).toBe(1);
    expect(exactMatch('Eiffel Tower in Paris', 'Eiffel Tower')).toBe(0);
  });

  it('F1 counts common tokens with multiplicity', () => {
    // pred: cat sat on mat; gold: cat on mat → P 3/4, R 1.
    expect(tokenF1('the cat sat on the mat', 'a cat on a mat')).toBeCloseTo((2 * 0.75) / 1.75, 12);
    // x x y against x y y: common x once and y once → P = R = 2/3.
    expect(tokenF1('x x y', 'x y y')).toBeCloseTo(2 / 3, 12);
    expect(tokenF1('Paris', 'London')).toBe(0);
  });

  it('an empty side scores F1 1 only when both are empty (v2); v1.1 scores it 0', () => {
    expect(tokenF1('', '', 2)).toBe(1);
    expect(tokenF1('the', '', 2)).toBe(1); // "the" normalises to nothing
    expect(tokenF1('answer', '', 2)).toBe(0);
    expect(tokenF1('', 'answer', 2)).toBe(0);
    expect(tokenF1('the', 'a', 1)).toBe(0);
    expect(exactMatch('the', 'a')).toBe(1);
  });
});

describe('SQuAD dataset scores', () => {
  it('v1.1: max over gold answers, a missing prediction scores 0, percentages', () => {
    const examples = [
      { id: 'q1', answers: { text: ['Denver Broncos', 'Broncos'] } },
      { id: 'q2', answers: { text: ['Santa Clara, California'] } },
      { id: 'q3', answers: { text: ['Levi'] } },
    ];
    // q1 EM 1 F1 1; q2 pred {santa, clara} vs {santa, clara, california}: P 1, R 2/3 → F1 0.8; q3 missing.
    const scores = squadScores(examples, { q1: 'the Broncos', q2: 'Santa Clara' }, 1);
    expect(scores.total).toBe(3);
    expect(scores.exact).toBeCloseTo(100 / 3, 10);
    expect(scores.f1).toBeCloseTo(60, 10);
  });

  it('v2.0: unanswerable questions are right only when the prediction is empty; answers that normalise to nothing are dropped', () => {
    const examples = [
      { id: 'a', answers: { text: ['Normandy', 'in Normandy'] } },
      { id: 'b', answers: { text: [] } },
      { id: 'c', answers: { text: [] } },
      { id: 'd', answers: { text: ['the'] } }, // normalises to "", so the question counts as unanswerable
    ];
    const scores = squadScores(examples, new Map([['a', 'Normandy, France'], ['b', ''], ['c', 'France'], ['d', '']]), 2);
    // a: EM 0, F1 max(2·½·1/1.5, 2·½·½/1) = 2/3; b: 1, 1; c: 0, 0; d: 1, 1.
    expect(scores.exact).toBeCloseTo(50, 10);
    expect(scores.f1).toBeCloseTo((100 * (2 / 3 + 2)) / 4, 10);
    expect(scores.hasAnsExact).toBe(0);
    expect(scores.hasAnsF1).toBeCloseTo((100 * 2) / 3, 10);
    expect(scores.noAnsExact).toBeCloseTo((100 * 2) / 3, 10);
  });

  it('v1.1 refuses a question without gold answers rather than scoring it', () => {
    expect(() => squadScores([{ id: 'x', answers: { text: [] } }], {}, 1)).toThrow('question x has no gold answer');
  });
});

describe('answer post-processing (postprocess_qa_predictions)', () => {
  //               0    5     11    17
  const context = 'Paris is the capital';
  // [CLS] q q [SEP] Paris is the capital [SEP]
  const offsets = spans([null, null, null, null, [0, 5], [6, 8], [9, 12], [13, 20], null]);
  const window = (start: number[], end: number[]): WindowLogits => ({ startLogits: start, endLogits: end, offsets });

  it('takes the best-scoring span of context tokens, start + end logit', () => {
    const w = window([0, 0, 0, 0, 5, 1, 0, 0, 0], [0, 0, 0, 0, 1, 0, 2, 4, 0]);
    expect(bestAnswer(context, [w])).toMatchObject({ text: 'Paris is the capital', start: 0, end: 20, score: 9 });
  });

  it('skips spans that start in the question, end before they start, or are longer than the limit', () => {
    // Question token 1 has the highest start logit; end 4 < start 7 is invalid; the best valid span is 4…5 (3 + 7 against 8 + 0 for 7…7).
    const w = window([0, 9, 0, 0, 3, 0, 0, 8, 0], [0, 9, 0, 0, 2, 7, 0, 0, 0]);
    expect(bestAnswer(context, [w]).text).toBe('Paris is');
    const long = window([0, 0, 0, 0, 5, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 5, 0]);
    expect(bestAnswer(context, [long], { maxAnswerLength: 3 }).text).toBe('Paris is the');
  });

  it('only pairs the n-best starts and ends; with none valid it answers "empty" as HF does', () => {
    const w = window([0, 9, 0, 0, 3, 0, 0, 0, 0], [0, 9, 0, 0, 7, 0, 0, 0, 0]);
    expect(bestAnswer(context, [w], { nBest: 1 }).text).toBe('empty');
    expect(bestAnswer(context, [w], { nBest: 2 }).text).toBe('Paris');
  });

  it('picks the best span over all windows of an example', () => {
    const a = window([0, 0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0, 1, 0, 0, 0, 0]);
    const b = window([0, 0, 0, 0, 0, 0, 3, 0, 0], [0, 0, 0, 0, 0, 0, 0, 3, 0]);
    expect(bestAnswer(context, [a, b]).text).toBe('the capital');
  });

  it('SQuAD v2: no answer when the smallest CLS score over the windows beats the best span', () => {
    const a = window([6, 0, 0, 0, 2, 0, 0, 0, 0], [6, 0, 0, 0, 2, 0, 0, 0, 0]); // null 12, span 4
    const b = window([1, 0, 0, 0, 0, 0, 3, 0, 0], [1, 0, 0, 0, 0, 0, 3, 0, 0]); // null 2, span 6
    // Null score = min(12, 2) = 2; best span 6 → diff −4 ≤ 0 → answer.
    expect(bestAnswer(context, [a, b], { withNegative: true })).toMatchObject({ text: 'the', nullScoreDiff: -4 });
    // Alone, window a's null 12 beats its span 4 → no answer.
    expect(bestAnswer(context, [a], { withNegative: true })).toMatchObject({ text: '', nullScoreDiff: 8 });
    expect(bestAnswer(context, [a], { withNegative: true, nullScoreDiffThreshold: 10 }).text).toBe('Paris');
  });
});

describe('answers for an evaluation set', () => {
  it('groups windows by example and scores each example from all of its windows', () => {
    const examples = [
      { id: 'a', context: 'red green blue' },
      { id: 'b', context: 'one two' },
    ];
    const windows = [
      { exampleIndex: 0, offsets: spans([null, [0, 3], [4, 9], null]) },
      { exampleIndex: 0, offsets: spans([null, [4, 9], [10, 14], null]) },
      { exampleIndex: 1, offsets: spans([null, [0, 3], [4, 7], null]) },
    ];
    // Padded logits (longer than the window) are fine: positions past the window have no offsets.
    const logits = [
      { start: [0, 1, 0, 0, 9], end: [0, 1, 0, 0, 9] },
      { start: [0, 0, 4, 0], end: [0, 0, 4, 0] },
      { start: [0, 0, 2, 0], end: [0, 0, 2, 0] },
    ];
    const answers = answersFromWindows(examples, windows, logits);
    expect([answers.get('a')?.text, answers.get('b')?.text]).toEqual(['blue', 'two']);
    expect(squadScores([{ id: 'a', answers: { text: ['Blue'] } }, { id: 'b', answers: { text: ['three'] } }], new Map([...answers].map(([id, p]) => [id, p.text])), 1).exact).toBe(50);
  });

  it('refuses logits that do not line up with the windows', () => {
    expect(() => answersFromWindows([{ id: 'a', context: 'x' }], [{ exampleIndex: 0, offsets: spans([null, [0, 1]]) }], [])).toThrow('answers: 0 logit rows for 1 windows');
    expect(() => answersFromWindows([{ id: 'a', context: 'x' }], [{ exampleIndex: 0, offsets: spans([null, [0, 1]]) }], [{ start: [0], end: [0] }])).toThrow('window 0 has 2 tokens but 1 logits');
  });
});
