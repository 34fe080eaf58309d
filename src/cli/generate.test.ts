// `vectorfit generate` as a user runs it: on transformers' tiny llama, the greedy tokens are the
// float64 reference's (full forward re-run per token, no cache), the streamed text is their
// decoding, and --vectors switches to the fine-tuned Σ.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../io/safetensors.ts';
import { buildReferenceModel, referenceLogits, type ReferenceModel } from '../model/reference.ts';
import { loadFolderWeights } from '../model/test-folders.ts';
import { loadModel, textModel } from '../train/load.ts';
import { readModelDir } from './files.ts';

const ROOT = join(import.meta.dirname, '../..');
const LLAMA = join(ROOT, '../shared/fixtures/hf-tiny/llama');

function vectorfit(...args: string[]) {
  return spawnSync(process.execPath, ['--import', './scripts/register-raw.mjs', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
}

function summary(stderr: string): { prompt: number[]; tokens: number[]; stop: string } {
  const line = stderr.split('\n').find((l) => l.startsWith('{"prompt"'));
  if (!line) throw new Error(`no summary in stderr:\n${stderr}`);
  return JSON.parse(line);
}

function greedyReference(model: ReferenceModel, prompt: number[], n: number, vocab: number): number[] {
  const tokens = [...prompt];
  for (let i = 0; i < n; i++) {
    const seq = tokens.length;
    const logits = referenceLogits(model, { batch: 1, seq, inputIds: Uint32Array.from(tokens), attentionMask: new Uint32Array(seq).fill(1) });
    let best = 0;
    for (let v = 1; v < vocab; v++) if (logits[(seq - 1) * vocab + v] > logits[(seq - 1) * vocab + best]) best = v;
    tokens.push(best);
  }
  return tokens.slice(prompt.length);
}

describe('vectorfit generate', () => {
  const { config, weights } = loadFolderWeights(LLAMA);
  const reference = buildReferenceModel(config, weights);
  const vocab = config.vocabSize;

  it('streams the greedy continuation the reference computes without a cache', async () => {
    const run = vectorfit('generate', '--model', LLAMA, '--prompt', 'the movie was', '--max-new-tokens', '6');
    expect(run.status, run.stderr).toBe(0);
    const { prompt, tokens, stop } = summary(run.stderr);
    expect(prompt[0]).toBe(0); // BOS, as the tokenizer's post-processor adds it
    expect(stop).toBe('length');
    expect(tokens).toEqual(greedyReference(reference, prompt, 6, vocab));
    const { tokenizer } = textModel(await loadModel(await readModelDir(LLAMA), { task: 'causal-lm', labelNames: [] }, 0), 'the test');
    expect(run.stdout).toBe(`${tokenizer.decode(tokens, { skipSpecialTokens: true })}\n`);
  });

  it('generates from the fine-tuned model with --vectors', () => {
    // "Fine-tuned": every Σ halved except layer 0's q, written as a run's vectors export.
    const tensors = [...reference.modules].map(([path, m]) => ({
      name: `${path}.sigma`, dtype: 'F32' as const, shape: [m.sigma.length],
      data: Float32Array.from(m.sigma, (s) => (path.includes('layers.0.self_attn.q_proj') ? s : s / 2)),
    }));
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-vectors-'));
    writeFileSync(join(dir, 'vectorfit_vectors.safetensors'), writeSafetensors(tensors, { format: 'vectorfit' }));
    const run = vectorfit('generate', '--model', LLAMA, '--vectors', dir, '--prompt', 'the movie was', '--max-new-tokens', '6');
    expect(run.status, run.stderr).toBe(0);
    const { prompt, tokens } = summary(run.stderr);
    const tuned: ReferenceModel = { ...reference, modules: new Map([...reference.modules].map(([path], i) => [path, { ...reference.modules.get(path)!, sigma: Float64Array.from(tensors[i].data) }])) };
    const expected = greedyReference(tuned, prompt, 6, vocab);
    expect(tokens).toEqual(expected);
    expect(expected).not.toEqual(greedyReference(reference, prompt, 6, vocab));
  });

  it('names a vectors file that does not fit the model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-vectors-'));
    const file = join(dir, 'other.safetensors');
    writeFileSync(file, writeSafetensors([{ name: 'bert.encoder.layer.0.attention.self.query.sigma', dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }], {}));
    const run = vectorfit('generate', '--model', LLAMA, '--vectors', file, '--prompt', 'hi');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${file}: bert.encoder.layer.0.attention.self.query.sigma is not a trainable tensor of this llama model`);
  });

  it('refuses a classifier model and explains a missing prompt', () => {
    const bert = vectorfit('generate', '--model', join(ROOT, '../shared/fixtures/hf-tiny/bert'), '--prompt', 'hi');
    expect(bert.status).toBe(2);
    expect(bert.stderr).toMatch(/generate needs a causal LM/);
    const noPrompt = vectorfit('generate', '--model', LLAMA);
    expect(noPrompt.status).toBe(2);
    expect(noPrompt.stderr).toContain('--prompt is required');
  });
});
