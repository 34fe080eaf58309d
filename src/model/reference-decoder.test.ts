// The float64 reference on the Llama family: against transformers' own llama folder (loss,
// logits, every Σ gradient and lm_head's), and against central finite differences on tiny
// random decoders covering what that folder does not: Qwen2's q/k/v biases, a tied head (one
// matrix, two uses), a single KV head, head_dim ≠ hidden/heads, llama3 rope scaling.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportNames } from './architectures.ts';
import { architectureFor } from './config.ts';
import { buildReferenceModel, referenceGradients, referenceLoss } from './reference.ts';
import { expectCentralDifferences } from './test-finite-differences.ts';
import { causalLmLabels } from './task.ts';
import { HF_TINY, loadFolderWeights, readLlamaBatch, readTensors } from './test-folders.ts';
import { DECODER_VARIANTS, PRE_LAYERNORM_DECODER, randomDecoder, smallDecoderBatch } from './test-decoders.ts';

const LLAMA = join(HF_TINY, 'llama');

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, floor = 0): number {
  expect(actual.length).toBe(expected.length);
  return norm(Array.from(expected, (e, i) => actual[i] - e)) / Math.max(norm(expected), floor);
}

// transformers computes RMSNorm, the rotary tables and the loss in float32 even in its float64
// model (see the folder's README), so its figures carry ~1e-7 relative error. Measured here:
// loss 5e-9, logits 2.2e-7, gradients ≤ 6.7e-7 (layer 1's k Σ). 1e-5 keeps a margin and still
// catches a wrong eps, θ, KV-head mapping, pairing or shift by orders of magnitude.
const FIXTURE_TOL = 1e-5;

describe('hf-tiny/llama (transformers, causal LM)', () => {
  const { config, weights } = loadFolderWeights(LLAMA);
  const model = buildReferenceModel(config, weights);
  const batch = readLlamaBatch();
  const labels = causalLmLabels(batch.inputIds, batch.attentionMask);
  const expected = readTensors(join(LLAMA, 'ref-grads.safetensors'));
  const result = referenceGradients(model, batch, labels);

  it('matches the loss and the logits of every position, padded ones included', () => {
    const loss = expected.get('loss')!.data[0];
    expect(Math.abs(result.loss - loss) / loss).toBeLessThan(FIXTURE_TOL);
    expect(relativeError(result.logits, expected.get('logits')!.data)).toBeLessThan(FIXTURE_TOL);
  });

  it('matches every Σ gradient and lm_head’s', () => {
    const names = exportNames(architectureFor(config), config);
    expect(new Set(result.grads.keys())).toEqual(new Set(names));
    for (const name of names) expect(relativeError(result.grads.get(name)!, expected.get(name)!.data), name).toBeLessThan(FIXTURE_TOL);
  });
});

describe.each([...DECODER_VARIANTS, ['pre-norm LayerNorm (the ViT/GPT-2 placement)', {}, PRE_LAYERNORM_DECODER] as const])('float64 reference gradients of %s', (_, overrides, arch?) => {
  it('equal central finite differences of its loss', () => {
    const { config, weights } = randomDecoder(overrides, 7, arch);
    const model = buildReferenceModel(config, weights);
    const batch = smallDecoderBatch();
    const labels = causalLmLabels(batch.inputIds, batch.attentionMask);
    const { grads } = referenceGradients(model, batch, labels);
    const names = [...grads.keys()];
    expect(names.length).toBeGreaterThan(14);
    // Every tensor, a few entries each (first, middle, last).
    const samples = names.flatMap((name) => {
      const n = grads.get(name)!.length;
      return [0, n >> 1, n - 1].map((i) => [name, i] as const);
    });
    expectCentralDifferences(model, grads, samples, () => referenceLoss(model, batch, labels).loss);
  });
});
