import { describe, expect, it } from 'vitest';
import { logBucketPosition, relativeIndex, relativeTables, relativeWindow } from './relative_positions.ts';

describe('relative positions as transformers buckets them', () => {
  it('keeps distances within ±bucket/2 and log-buckets the rest (make_log_bucket_position)', () => {
    // bucket 16, max 64 (the fixture): mid 8; |d| > 8 → sign·(ceil(log(|d|/8)/log(63/8)·7) + 8).
    expect([-8, -1, 0, 3, 8].map((d) => logBucketPosition(d, 16, 64))).toEqual([-8, -1, 0, 3, 8]);
    expect([9, 16, 63, 64, -16].map((d) => logBucketPosition(d, 16, 64))).toEqual([9, 11, 15, 16, -11]);
    // DeBERTa-v3-base: bucket 256, max 512: mid 128.
    expect([127, 200, 511, 1000].map((d) => logBucketPosition(d, 256, 512))).toEqual([127, 169, 255, 317]);
  });

  it('reads row clamp(bucket + span, 0, 2·span − 1), or the raw distance without buckets', () => {
    const fixture = { buckets: 16, maxRelative: 64, span: 16 };
    expect([0, -3, 16, 64, 1000, -1000].map((d) => relativeIndex(d, fixture))).toEqual([16, 13, 27, 31, 31, 0]);
    const raw = { buckets: -1, maxRelative: 5, span: 5 };
    expect([-7, -5, 0, 4, 5, 9].map((d) => relativeIndex(d, raw))).toEqual([0, 0, 5, 9, 9, 9]);
  });

  it('tabulates the row of every delta and each row’s contiguous delta range', () => {
    const { index, lo, hi } = relativeTables({ buckets: 4, maxRelative: 6, span: 4 }, 6);
    expect(Array.from(index)).toEqual([-6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6].map((d) => relativeIndex(d, { buckets: 4, maxRelative: 6, span: 4 })));
    for (let r = 0; r < 8; r++) {
      for (let d = -6; d <= 6; d++) expect(index[d + 6] === r, `row ${r}, delta ${d}`).toBe(d >= lo[r] && d <= hi[r]);
    }
  });

  it('gives the window of rows that the deltas ±(seq − 1) read', () => {
    const base = { buckets: 256, maxRelative: 512, span: 256 };
    expect(relativeWindow(base, 37)).toEqual({ first: 220, columns: 73 });
    expect(relativeWindow(base, 128)).toEqual({ first: 129, columns: 255 });
    expect(relativeWindow(base, 512)).toEqual({ first: 1, columns: 511 });
    expect(relativeWindow({ buckets: -1, maxRelative: 5, span: 5 }, 13)).toEqual({ first: 0, columns: 10 });
    expect(relativeWindow(base, 1)).toEqual({ first: 256, columns: 1 });
  });
});
