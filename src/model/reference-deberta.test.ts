// The float64 reference of DeBERTa's disentangled attention against central finite differences
// of its own loss: on the hf-tiny deberta-v3 folder and on each configuration it does not cover.
import { describe, expect, it } from 'vitest';
import { buildReferenceModel, referenceGradients, referenceLoss, type ReferenceModel } from './reference.ts';
import { expectCentralDifferences } from './test-finite-differences.ts';
import { DEBERTA_DIR, DEBERTA_VARIANTS, debertaVariant } from './test-deberta.ts';
import { loadFolderWeights, readFixtureBatch } from './test-folders.ts';
import type { ModelBatch } from './batch.ts';

const { batch, labels } = readFixtureBatch(DEBERTA_DIR);

/** The largest-gradient entry of every Σ and bias of layer 0's attention linears (q, k and the
 * position projections are where the relative terms act), one of layer 1's, and the head's. */
function checkFiniteDifferences(model: ReferenceModel, b: ModelBatch, y: number[]) {
  const { grads } = referenceGradients(model, b, y);
  const names = [...grads.keys()].filter((n) => /layer\.0\.attention\.self|layer\.1\.attention\.self\.key_proj|layer\.1\.output\.dense\.sigma|pooler\.dense\.bias|classifier\.weight/.test(n));
  expect(names.length).toBeGreaterThanOrEqual(8);
  expectCentralDifferences(model, grads, names.map((name) => [name, 'largest'] as const), () => referenceLoss(model, b, y).loss);
}

describe('referenceGradients on DeBERTa equal central finite differences', () => {
  it('on hf-tiny/deberta-v3 (p2c + c2p, 16 buckets, share_att_key, norm_rel_ebd)', () => {
    const { config, weights } = loadFolderWeights(DEBERTA_DIR);
    checkFiniteDifferences(buildReferenceModel(config, weights), batch, labels);
  });

  it.each(DEBERTA_VARIANTS)('with %s', (_, overrides) => {
    const { config, weights } = debertaVariant(overrides, 7);
    const model = buildReferenceModel(config, weights);
    if (overrides.share_att_key === false) {
      const kinds = model.layout.layers[0].modules.map((m) => m.kind);
      expect(kinds).toEqual(['q', 'k', 'v', 'o', 'f1', 'f2', 'pk', 'pq']);
    }
    checkFiniteDifferences(model, batch, labels);
  });
});
