import { describe, expect, it } from 'vitest';
import { entityScores, getEntities, wordTags } from './ner-metrics.ts';

const spans = (tags: string[][]) => getEntities(tags).map((e) => `${e.type}:${e.start}-${e.end}`);

// Expected chunks worked by hand from seqeval's get_entities / end_of_chunk / start_of_chunk.
describe('seqeval entity chunks', () => {
  it('IOB2: B- starts, I- of the same type continues, O ends', () => {
    expect(spans([['B-PER', 'I-PER', 'O', 'B-LOC']])).toEqual(['PER:0-1', 'LOC:3-3']);
    expect(spans([['B-PER', 'B-PER', 'I-PER']])).toEqual(['PER:0-0', 'PER:1-2']);
  });

  it('IOB1 and broken IOB2: an I- after O or after another type starts a new chunk', () => {
    expect(spans([['I-PER', 'I-PER', 'B-PER', 'O']])).toEqual(['PER:0-1', 'PER:2-2']);
    expect(spans([['O', 'I-MISC', 'I-LOC']])).toEqual(['MISC:1-1', 'LOC:2-2']);
    expect(spans([['B-PER', 'I-LOC', 'I-LOC']])).toEqual(['PER:0-0', 'LOC:1-2']);
  });

  it('BIOES: S- is a one-token chunk, E- closes, an E- right after an E- starts a new one', () => {
    expect(spans([['S-PER', 'B-LOC', 'I-LOC', 'E-LOC', 'O']])).toEqual(['PER:0-0', 'LOC:1-3']);
    expect(spans([['B-LOC', 'E-LOC', 'E-LOC']])).toEqual(['LOC:0-1', 'LOC:2-2']);
  });

  it('a sentence boundary ends a chunk, and offsets run over the sentences joined by one O each', () => {
    expect(spans([['B-PER'], ['I-PER', 'I-PER']])).toEqual(['PER:0-0', 'PER:2-3']);
  });
});

describe('seqeval scores', () => {
  it("seqeval's README example: F1 0.5, accuracy 0.8, MISC 0/0/0 and PER 1/1/1", () => {
    const gold = [['O', 'O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    const pred = [['O', 'O', 'B-MISC', 'I-MISC', 'I-MISC', 'I-MISC', 'O'], ['B-PER', 'I-PER', 'O']];
    const s = entityScores(gold, pred);
    expect([s.precision, s.recall, s.f1, s.accuracy]).toEqual([0.5, 0.5, 0.5, 0.8]);
    expect(s.perType).toEqual({
      MISC: { precision: 0, recall: 0, f1: 0, support: 1 },
      PER: { precision: 1, recall: 1, f1: 1, support: 1 },
    });
  });

  it('a wrong boundary or a wrong type is a miss; micro averages count entities, not types', () => {
    const gold = [['B-ORG', 'I-ORG', 'O', 'B-PER', 'O', 'B-LOC']];
    // ORG cut short (miss), PER right, LOC typed as ORG (miss), one extra PER.
    const pred = [['B-ORG', 'O', 'O', 'B-PER', 'B-PER', 'B-ORG']];
    const s = entityScores(gold, pred);
    expect(s.precision).toBeCloseTo(1 / 4, 12);
    expect(s.recall).toBeCloseTo(1 / 3, 12);
    expect(s.f1).toBeCloseTo((2 * (1 / 4) * (1 / 3)) / (1 / 4 + 1 / 3), 12);
    expect(s.perType.PER).toEqual({ precision: 0.5, recall: 1, f1: 2 / 3, support: 1 });
    expect(s.perType.ORG).toEqual({ precision: 0, recall: 0, f1: 0, support: 1 });
  });

  it('nothing predicted scores 0, not NaN', () => {
    const s = entityScores([['B-PER']], [['O']]);
    expect([s.precision, s.recall, s.f1]).toEqual([0, 0, 0]);
  });

  it('refuses sentences of different lengths', () => {
    expect(() => entityScores([['O', 'O']], [['O']])).toThrow('sentence 0 has 1 predicted tags for 2 gold tags');
  });

  it('word tags keep the first sub-token of each word (label ≠ −100)', () => {
    const names = ['O', 'B-PER', 'I-PER'];
    expect(wordTags([0, 1, 2, 2, 0, 0], [-100, 1, -100, 2, 0, -100], names)).toEqual({ gold: ['B-PER', 'I-PER', 'O'], pred: ['B-PER', 'I-PER', 'O'] });
    expect(() => wordTags([7], [0], names)).toThrow('label 7 at position 0 has no name');
  });
});
