// The demo model's fill-mask on the GPU engine, from its real tokenizer files and real
// pre-trained weights through the factored forward: the top 5 of its model card.
import { expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { readModelFolder } from '../io/model-folder.ts';
import { createTokenizer } from '../io/tokenizer.ts';
import { testGpu } from '../test/gpu.ts';
import { tokenEmbeddings } from './architectures.ts';
import { GpuModel } from './gpu-model.ts';
import { DEMO_MODEL, loadFolderWeights } from './test-folders.ts';

it('the GPU model fills "this movie was [MASK] ." as the demo model’s card says', async () => {
  const folder = readModelFolder(await readModelDir(DEMO_MODEL));
  const tokenizer = createTokenizer(folder.tokenizer);
  const batch = tokenizer.encodeBatch([{ text: 'this movie was [MASK] .' }], { maxLength: 512 });
  expect(Array.from(batch.inputIds)).toEqual([101, 2023, 3185, 2001, 103, 1012, 102]);
  const { weights } = loadFolderWeights(DEMO_MODEL, { maskedLm: true });
  const { device } = await testGpu();
  const model = await GpuModel.create(device, weights, { hidden: 0, attention: 0, classifier: 0 }, {
    maxBatch: 1, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
  });
  const logits = await model.maskedLmLogits(batch);
  const vocab = tokenEmbeddings(weights.layout, 'masked LM').word.rows;
  const atMask = logits.subarray(4 * vocab, 5 * vocab);
  const top = Array.from(atMask.keys()).sort((a, b) => atMask[b] - atMask[a]).slice(0, 5);
  expect(top.map((id) => tokenizer.decode([id]))).toEqual(['bad', 'great', 'good', '.', 'disappointed']);
  // The card prints 3 decimals (±0.0005); fp32 through two layers adds ~1e-5.
  [7.603, 7.44, 7.067, 6.974, 6.965].forEach((value, i) => expect(Math.abs(atMask[top[i]] - value)).toBeLessThanOrEqual(0.001));
});
