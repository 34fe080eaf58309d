// `vectorfit grads` as a user runs it, on the tiny Hugging Face BERT: its output file holds the
// loss, the logits and every gradient under the export names, equal to what transformers computed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../io/safetensors.ts';
import { decodeCheckpoint } from '../train/checkpoint.ts';

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

describe('vectorfit train', () => {
  it('stops a diverging run (--lr 1e30) with a non-zero exit naming the step, keeps the finite checkpoint and writes no exports', () => {
    const out = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const data = join(FIXTURE, 'data.jsonl');
    // 12 rows in one batch: a checkpoint per step, so step 1's is on disk when step 2 diverges.
    const run = vectorfit('train', '--model', FIXTURE, '--data', data, '--lr', '1e30', '--schedule', 'constant', '--batch', '12', '--epochs', '3', '--out', out);
    expect(run.status, run.stderr).toBe(1);
    expect(run.stderr).toMatch(/at step 2: training diverged and stopped .*the last finite checkpoint is \S+latest\.safetensors \(step 1\); no exports written/);
    const checkpoint = decodeCheckpoint(readFileSync(join(out, 'checkpoints', 'latest.safetensors'))).snapshot;
    expect(checkpoint.step).toBe(1);
    expect(Array.from(checkpoint.params).every(Number.isFinite)).toBe(true);
    expect(existsSync(join(out, 'merged'))).toBe(false);
    expect(existsSync(join(out, 'vectors'))).toBe(false);
  });

  it('with --patience and --metric stops early and exports the best checkpoint beside the last; --lora-rank writes a LoRA adapter', () => {
    const out = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const data = join(FIXTURE, 'data.jsonl');
    const run = vectorfit('train', '--model', FIXTURE, '--data', data, '--val', data, '--lr', '0.3', '--schedule', 'constant', '--batch', '4', '--epochs', '10', '--patience', '1', '--metric', 'loss', '--lora-rank', '4', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/early stop @ step \d+: loss has not improved/);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(summary.stoppedEarly).toBe(true);
    expect(summary.steps).toBeLessThan(30);
    expect(summary.best.metric).toBe('loss');
    const adapter = JSON.parse(readFileSync(join(out, 'best', 'vectors', 'adapter_config.json'), 'utf8'));
    expect(adapter.training.steps).toBe(summary.best.step);
    expect(adapter.metrics.loss).toBe(summary.best.metrics.loss);
    expect(existsSync(join(out, 'best', 'merged', 'model.safetensors'))).toBe(true);
    expect(run.stderr).toMatch(/ΔW over 12 modules: effective rank median [0-9.]+/);
    expect(run.stderr).toMatch(/LoRA rank 4: relative truncation error 0\.\d+ overall, validation logits move by at most/);
    expect(JSON.parse(readFileSync(join(out, 'lora', 'adapter_config.json'), 'utf8'))).toMatchObject({ peft_type: 'LORA', r: 4 });
    expect(readSafetensors(readFileSync(join(out, 'lora', 'adapter_model.safetensors')), 'adapter_model.safetensors').tensors.get('base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight')?.shape).toEqual([4, 32]);
    expect(JSON.parse(readFileSync(join(out, 'delta-spectrum.json'), 'utf8')).modules).toHaveLength(12);
  });

  it('names an unknown --metric', () => {
    const data = join(FIXTURE, 'data.jsonl');
    const run = vectorfit('train', '--model', FIXTURE, '--data', data, '--metric', 'bleu');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('metric bleu is not a classification metric: choose one of accuracy, macro_f1, mcc, loss');
  });

  it('trains a causal LM on prompt/completion rows and reports validation loss and perplexity (public/demo-llm)', () => {
    const demo = join(ROOT, 'public/demo-llm');
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const val = join(dir, 'dev.jsonl');
    writeFileSync(val, readFileSync(join(demo, 'sst2-causal-dev-128.jsonl'), 'utf8').split('\n').slice(0, 8).join('\n'));
    const run = vectorfit('train', '--model', demo, '--data', join(demo, 'sst2-causal-train-512.jsonl'), '--val', val,
      '--limit', '8', '--batch', '4', '--epochs', '1', '--lr', '0.02', '--variant', 'sigma', '--out', join(dir, 'out'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/eval @ step 2: loss [0-9.]+, perplexity [0-9.]+/);
    const result = JSON.parse(run.stdout.trim().split('\n').pop()!);
    expect(result.steps).toBe(2);
    expect(result.metrics.perplexity).toBeCloseTo(Math.exp(result.metrics.loss), 6);
    expect(result.best.metric).toBe('loss');
    const merged = JSON.parse(readFileSync(join(dir, 'out/merged/config.json'), 'utf8'));
    expect(merged.architectures).toEqual(['LlamaForCausalLM']);
  });

  it('refuses classification data for a causal LM, naming the columns it needs', () => {
    const run = vectorfit('train', '--model', join(ROOT, 'public/demo-llm'), '--data', join(ROOT, '../shared/data/glue/SST-2/dev.tsv'));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/dev.tsv: .*no causal-LM columns: expected "text", "prompt" \+ "completion", or "messages"/);
  });
});
