import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { buildReferenceModel, referenceMaskedLm } from './reference.ts';
import { DEMO_MODEL, loadFolderWeights } from './test-folders.ts';

it('fills "this movie was [MASK] ." as the demo model README says', () => {
  const vocab = readFileSync(join(DEMO_MODEL, 'vocab.txt'), 'utf8').split('\n');
  const ids = [101, 2023, 3185, 2001, 103, 1012, 102];
  expect(ids.map((id) => vocab[id]).join(' ')).toBe('[CLS] this movie was [MASK] . [SEP]');
  const { config, weights } = loadFolderWeights(DEMO_MODEL, { maskedLm: true });
  const model = buildReferenceModel(config, weights);
  const seq = ids.length;
  const logits = referenceMaskedLm(model, {
    batch: 1, seq, inputIds: Uint32Array.from(ids), attentionMask: new Uint32Array(seq).fill(1),
  });
  const vocabSize = model.config.vocabSize;
  const atMask = logits.subarray(4 * vocabSize, 5 * vocabSize);
  const top = Array.from(atMask.keys()).sort((a, b) => atMask[b] - atMask[a]).slice(0, 5);
  expect(top.map((id) => vocab[id])).toEqual(['bad', 'great', 'good', '.', 'disappointed']);
  // The README prints 3 decimals: ±0.001 is its rounding plus float64 noise.
  [7.603, 7.44, 7.067, 6.974, 6.965].forEach((value, i) => expect(Math.abs(atMask[top[i]] - value)).toBeLessThanOrEqual(0.001));
});
