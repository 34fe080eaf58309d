import { describe, expect, it } from 'vitest';
import { packTokenRows, tokenRow } from './token-row.ts';

describe('token rows', () => {
  it('packs rows into three shared buffers whose views hold each row as it was', () => {
    const rows = [
      { text: 'a', tokens: tokenRow([101, 7, 102], [-100, 3, -100], [0, 0, 1]) },
      { text: 'no tokens' },
      { text: 'b', tokens: tokenRow([101, 9, 9, 9, 102], [1, 3]) },
    ];
    const { rows: packed, buffers } = packTokenRows(rows);
    expect(buffers.map((b) => b.byteLength)).toEqual([8 * 4, 5 * 4, 3]);
    expect(packed[1]).toBe(rows[1]);
    for (const [i, row] of packed.entries()) {
      if (!row.tokens) continue;
      expect(row.tokens.inputIds.buffer).toBe(buffers[0]);
      expect(row.tokens.labels.buffer).toBe(buffers[1]);
      expect(Array.from(row.tokens.inputIds)).toEqual(Array.from(rows[i].tokens!.inputIds));
      expect(Array.from(row.tokens.labels)).toEqual(Array.from(rows[i].tokens!.labels));
    }
    expect(Array.from(packed[0].tokens!.tokenTypeIds!)).toEqual([0, 0, 1]);
    expect(packed[2].tokens!.tokenTypeIds).toBeUndefined();
    // Posted with its buffers transferred, the rows arrive whole.
    const arrived = structuredClone(packed, { transfer: buffers });
    expect(Array.from(arrived[2].tokens!.inputIds)).toEqual([101, 9, 9, 9, 102]);
    expect(arrived[0].tokens!.inputIds.buffer).toBe(arrived[2].tokens!.inputIds.buffer);
  });
});
