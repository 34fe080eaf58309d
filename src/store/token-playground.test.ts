import { describe, expect, it } from 'vitest';
import { splitWords } from './token-playground.ts';

describe('the NER playground', () => {
  it('splits a typed sentence into words as CoNLL files have them, keeping where each lies', () => {
    const text = "Barack Obama's visit to São Paulo, (2024) — well-known!";
    const words = splitWords(text);
    expect(words.map((w) => w.text)).toEqual(['Barack', "Obama's", 'visit', 'to', 'São', 'Paulo', ',', '(', '2024', ')', '—', 'well-known', '!']);
    for (const w of words) expect(text.slice(w.start, w.end)).toBe(w.text);
  });
});
