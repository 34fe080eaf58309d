// `vectorfit grads` as a user runs it, on the tiny Hugging Face BERT: its output file holds the
// loss, the logits and every gradient under the export names, equal to what transformers computed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../io/safetensors.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, '../shared/fixtures/hf-tiny/bert');

function vectorfit(...args: string[]) {
  return spawnSync(process.execPath, ['--import', './scripts/register-raw.mjs', 'src/cli/main.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
}

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

describe('vectorfit grads', () => {
  it('writes the first batch’s loss, logits and gradients under the export names', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'vectorfit-')), 'grads.safetensors');
    const run = vectorfit('grads', '--model', FIXTURE, '--data', join(FIXTURE, 'data.jsonl'), '--batch', '12', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/loss [0-9.]+ over 12 rows/);
    const ours = readSafetensors(readFileSync(out), out).tensors;
    const ref = readSafetensors(readFileSync(join(FIXTURE, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors;
    expect(new Set(ours.keys())).toEqual(new Set(ref.keys()));
    expect(Math.abs(ours.get('loss')!.data[0] - ref.get('loss')!.data[0])).toBeLessThan(1e-5);
    // Same bound as the GPU model's parity test against transformers (fp32 SVD, see there).
    const largest = Math.max(...[...ref.keys()].filter((k) => k !== 'loss' && k !== 'logits').map((k) => norm(ref.get(k)!.data)));
    for (const name of ref.keys()) {
      if (name.endsWith('attention.self.key.bias')) continue; // exactly zero: noise on both sides
      const a = ours.get(name)!.data;
      const b = ref.get(name)!.data;
      const diff = Array.from(a, (v, i) => v - b[i]);
      expect(norm(diff) / Math.max(norm(b), 1e-3 * largest), name).toBeLessThan(1e-3);
    }
  });

  it('writes a causal LM’s loss, logits, Σ gradients and lm_head’s as transformers computed them (hf-tiny/llama)', () => {
    const llama = join(ROOT, '../shared/fixtures/hf-tiny/llama');
    const out = join(mkdtempSync(join(tmpdir(), 'vectorfit-')), 'grads.safetensors');
    const run = vectorfit('grads', '--model', llama, '--data', join(llama, 'data.jsonl'), '--batch', '12', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/loss [0-9.]+ over 12 rows \(seq 14, [0-9]+ predicted tokens\)/);
    const ours = readSafetensors(readFileSync(out), out).tensors;
    const ref = readSafetensors(readFileSync(join(llama, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors;
    expect(new Set(ours.keys())).toEqual(new Set(ref.keys()));
    expect(ours.get('logits')!.shape).toEqual([12, 14, 350]);
    // transformers' own loss and logits are float32-accurate (see the folder's README); the
    // gradients carry the fp32 SVD's error, as for the BERT folder above.
    expect(Math.abs(ours.get('loss')!.data[0] - ref.get('loss')!.data[0])).toBeLessThan(1e-5 * ref.get('loss')!.data[0]);
    const largest = Math.max(...[...ref.keys()].filter((k) => k !== 'loss' && k !== 'logits').map((k) => norm(ref.get(k)!.data)));
    for (const name of ref.keys()) {
      const a = ours.get(name)!.data;
      const b = ref.get(name)!.data;
      const diff = Array.from(a, (v, i) => v - b[i]);
      expect(norm(diff) / Math.max(norm(b), 1e-3 * largest), name).toBeLessThan(1e-3);
    }
  });

  it('explains its usage and names a missing flag', () => {
    const run = vectorfit('grads', '--model', FIXTURE);
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--data is required');
    expect(run.stderr).toContain('vectorfit grads --model DIR --data FILE');
  });
});
