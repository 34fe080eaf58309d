// `vectorfit grads` as a user runs it, on the tiny Hugging Face BERT: its output file holds the
// loss, the logits and every gradient under the export names, equal to what transformers computed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { readSafetensors } from '../io/safetensors.ts';
import { decodeCheckpoint } from '../train/checkpoint.ts';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURE = join(ROOT, '../shared/fixtures/hf-tiny/bert');

/** The CLI as `npx vectorfit` runs it: the package's bin script. */
function vectorfit(...args: string[]) {
  return spawnSync(process.execPath, ['scripts/vectorfit.mjs', ...args], { cwd: ROOT, encoding: 'utf8' });
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

  it('reads an image model’s PNG rows (paths relative to the data file) into transformers’ pixel_values, loss, logits and gradients (hf-tiny/vit)', () => {
    const vit = join(ROOT, '../shared/fixtures/hf-tiny/vit');
    const out = join(mkdtempSync(join(tmpdir(), 'vectorfit-')), 'grads.safetensors');
    const run = vectorfit('grads', '--model', vit, '--data', join(vit, 'data.jsonl'), '--batch', '12', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('data.jsonl: 12 images, table layout (3 classes: 0, 1, 2)');
    expect(run.stdout).toMatch(/loss [0-9.]+ over 12 rows \(seq 17\)/);
    const ours = readSafetensors(readFileSync(out), out).tensors;
    const ref = readSafetensors(readFileSync(join(vit, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors;
    expect(new Set(ours.keys())).toEqual(new Set(ref.keys()));
    // The preprocessing (decode, torchvision's fixed-point resize, float32 normalisation) apart
    // from the model: the issue asks for 1e-5; it is exact.
    const pixels = ours.get('pixel_values')!.data;
    const refPixels = ref.get('pixel_values')!.data;
    expect(Math.max(...Array.from(pixels, (v, i) => Math.abs(v - refPixels[i])))).toBeLessThan(1e-5);
    expect(Math.abs(ours.get('loss')!.data[0] - ref.get('loss')!.data[0])).toBeLessThan(1e-5);
    const names = [...ref.keys()].filter((k) => !['loss', 'logits', 'pixel_values'].includes(k));
    const largest = Math.max(...names.map((k) => norm(ref.get(k)!.data)));
    expect(norm(Array.from(ours.get('logits')!.data, (v, i) => v - ref.get('logits')!.data[i])) / norm(ref.get('logits')!.data)).toBeLessThan(1e-5);
    // The README's rule: each tensor against max(its norm, a fraction of the largest), so the
    // key bias (exactly zero in exact arithmetic) is judged against the floor.
    for (const name of names) {
      const a = ours.get(name)!.data;
      const b = ref.get(name)!.data;
      const diff = Array.from(a, (v, i) => v - b[i]);
      expect(norm(diff) / Math.max(norm(b), 1e-3 * largest), name).toBeLessThan(1e-3);
    }
  });

  it('reproduces transformers on DeBERTa-v3 (disentangled attention): loss, logits and every gradient, the key bias’s included (hf-tiny/deberta-v3)', () => {
    const deberta = join(ROOT, '../shared/fixtures/hf-tiny/deberta-v3');
    const out = join(mkdtempSync(join(tmpdir(), 'vectorfit-')), 'grads.safetensors');
    const run = vectorfit('grads', '--model', deberta, '--data', join(deberta, 'data.jsonl'), '--batch', '12', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/loss [0-9.]+ over 12 rows \(seq 17\)/);
    const ours = readSafetensors(readFileSync(out), out).tensors;
    const ref = readSafetensors(readFileSync(join(deberta, 'ref-grads.safetensors')), 'ref-grads.safetensors').tensors;
    expect(new Set(ours.keys())).toEqual(new Set(ref.keys()));
    // The fixture's loss is float32 (DeBERTa takes its cross-entropy on logits.float()); the
    // p2c term makes the key bias's gradient genuinely non-zero, so it is compared like the rest.
    // Measured: ≤ 2e-6 everywhere.
    expect(Math.abs(ours.get('loss')!.data[0] - ref.get('loss')!.data[0])).toBeLessThan(1e-5);
    const largest = Math.max(...[...ref.keys()].filter((k) => k !== 'loss' && k !== 'logits').map((k) => norm(ref.get(k)!.data)));
    for (const name of ref.keys()) {
      const a = ours.get(name)!.data;
      const b = ref.get(name)!.data;
      const diff = Array.from(a, (v, i) => v - b[i]);
      expect(norm(diff) / Math.max(norm(b), name === 'logits' || name === 'loss' ? 0 : 1e-3 * largest), name).toBeLessThan(1e-3);
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
  it('refuses a schedule, warm-up or accumulation it cannot use, by the flag', () => {
    const data = join(FIXTURE, 'data.jsonl');
    const schedule = vectorfit('train', '--model', FIXTURE, '--data', data, '--schedule', 'cosin');
    expect(schedule.status).toBe(2);
    expect(schedule.stderr).toContain('--schedule must be one of linear, cosine, constant');
    const warmup = vectorfit('train', '--model', FIXTURE, '--data', data, '--warmup', '6');
    expect(warmup.status).toBe(2);
    expect(warmup.stderr).toContain('--warmup takes the share of steps to warm up over, from 0 to 1');
    const accumulate = vectorfit('train', '--model', FIXTURE, '--data', data, '--accumulate', '0');
    expect(accumulate.status).toBe(2);
    expect(accumulate.stderr).toContain('--accumulate takes the micro-batches per step, 1 or more');
  });

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

  it('trains DeBERTa-v3 and writes its merged folder as DebertaV2ForSequenceClassification (hf-tiny/deberta-v3)', () => {
    const deberta = join(ROOT, '../shared/fixtures/hf-tiny/deberta-v3');
    const out = mkdtempSync(join(tmpdir(), 'vectorfit-'));
    const data = join(deberta, 'data.jsonl');
    const run = vectorfit('train', '--model', deberta, '--data', data, '--val', data, '--batch', '4', '--epochs', '2', '--lr', '0.01', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout.trim().split('\n').at(-1)!).steps).toBe(6);
    expect(JSON.parse(readFileSync(join(out, 'merged', 'config.json'), 'utf8'))).toMatchObject({ architectures: ['DebertaV2ForSequenceClassification'], model_type: 'deberta-v2' });
    const keys = (file: string) => [...readSafetensors(readFileSync(file), file).tensors.keys()].sort();
    expect(keys(join(out, 'merged', 'model.safetensors'))).toEqual(keys(join(deberta, 'model.safetensors')));
    expect(existsSync(join(out, 'merged', 'tokenizer.json'))).toBe(true);
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

/** The ViT fixture's PNGs as an imagefolder: train/ and validation/ split folders, one folder per
 * class (named cat, dog, fox for labels 0, 1, 2). */
function vitImageFolder(dir: string): string {
  const vit = join(ROOT, '../shared/fixtures/hf-tiny/vit');
  const names = ['cat', 'dog', 'fox'];
  const rows = readFileSync(join(vit, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; label: number });
  rows.forEach((r, i) => {
    const folder = join(dir, i < 9 ? 'train' : 'validation', names[r.label]);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, `${i}.png`), readFileSync(join(vit, r.image)));
  });
  return dir;
}

describe('vectorfit train on images (hf-tiny/vit)', () => {
  const vit = join(ROOT, '../shared/fixtures/hf-tiny/vit');

  it('trains on an image folder with split folders, evaluates accuracy, and exports a ViT folder with its preprocessor_config.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-images-'));
    const data = vitImageFolder(join(dir, 'pets'));
    const run = vectorfit('train', '--model', vit, '--data', data, '--batch', '3', '--epochs', '2', '--lr', '0.05', '--out', join(dir, 'out'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('pets: 9 images, imagefolder layout (3 classes: cat, dog, fox), validation split of 3');
    expect(run.stderr).toMatch(/eval @ step 3: accuracy [0-9.]+, macro_f1/);
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    expect(result.steps).toBe(6);
    expect(result.metrics).toHaveProperty('accuracy');
    const merged = join(dir, 'out', 'merged');
    expect(readdirSync(merged).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
    expect(JSON.parse(readFileSync(join(merged, 'config.json'), 'utf8'))).toMatchObject({ architectures: ['ViTForImageClassification'], id2label: { 0: 'cat', 1: 'dog', 2: 'fox' } });
    expect(readdirSync(join(dir, 'out', 'vectors')).sort()).toEqual(['adapter_config.json', 'vectorfit_vectors.safetensors']);
  });

  it('names a corrupt image and a text dataset given to an image model', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-images-'));
    const data = vitImageFolder(join(dir, 'pets'));
    writeFileSync(join(data, 'train', 'dog', '3.png'), readFileSync(join(vit, 'images/3.png')).subarray(0, 60));
    const run = vectorfit('train', '--model', vit, '--data', data, '--batch', '9', '--epochs', '1', '--out', join(dir, 'out'));
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/vectorfit train: train\/dog\/3\.png: a damaged PNG/);
    const text = vectorfit('grads', '--model', vit, '--data', join(FIXTURE, 'data.jsonl'), '--out', join(dir, 'g.safetensors'));
    expect(text.status).toBe(1);
    expect(text.stderr).toContain('vectorfit grads: data.jsonl: no column of image paths');
  });
});

/** The fixture's 12 rows as a GLUE MRPC file: each text cut in two, #1 String and #2 String. */
function mrpcPairFile(dir: string): string {
  const rows = readFileSync(join(FIXTURE, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: number });
  const lines = ['\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String'];
  rows.forEach((r, i) => {
    const words = r.text.split(' ');
    const cut = Math.ceil(words.length / 2);
    lines.push([r.label, 1000 + i, 2000 + i, words.slice(0, cut).join(' '), words.slice(cut).join(' ') || words[0]].join('\t'));
  });
  const path = join(dir, 'train.tsv');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

describe('vectorfit: data and models read as the user meant them', () => {
  it('a pair file with no column flags: the mapping is the first line, and loss and gradients equal those with explicit flags', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-pairs-'));
    const data = mrpcPairFile(dir);
    const guessed = vectorfit('grads', '--model', FIXTURE, '--data', data, '--out', join(dir, 'guessed.safetensors'));
    expect(guessed.status, guessed.stderr).toBe(0);
    expect(guessed.stdout.split('\n')[0]).toBe('train.tsv: text=#1 String, pair=#2 String, label=Quality (3 classes: 0, 1, 2)');
    const flagged = vectorfit('grads', '--model', FIXTURE, '--data', data, '--text', '#1 String', '--text-pair', '#2 String', '--label', 'Quality', '--out', join(dir, 'flagged.safetensors'));
    expect(flagged.status, flagged.stderr).toBe(0);
    const single = vectorfit('grads', '--model', FIXTURE, '--data', data, '--text-pair', 'none', '--out', join(dir, 'single.safetensors'));
    expect(single.status, single.stderr).toBe(0);
    const read = (name: string) => readSafetensors(readFileSync(join(dir, name)), name).tensors;
    const [a, b, c] = [read('guessed.safetensors'), read('flagged.safetensors'), read('single.safetensors')];
    for (const [name, tensor] of a) expect(tensor.data, name).toEqual(b.get(name)!.data);
    // The pair is really read: one text alone gives another loss.
    expect(Math.abs(a.get('loss')!.data[0] - c.get('loss')!.data[0])).toBeGreaterThan(1e-4);
  });

  it('takes a zipped model and a zipped split folder; re-initialises a 3-label head for a 2-class set and says so; a damaged zip is refused by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-zips-'));
    const model = Object.fromEntries(readdirSync(FIXTURE).filter((n) => !n.startsWith('ref-')).map((n) => [`bert/${n}`, new Uint8Array(readFileSync(join(FIXTURE, n)))]));
    writeFileSync(join(dir, 'bert.zip'), zipSync(model, { level: 0 }));
    const rows = readFileSync(join(FIXTURE, 'data.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { text: string; label: number });
    const jsonl = (part: typeof rows) => new TextEncoder().encode(part.map((r) => JSON.stringify({ text: r.text, label: r.label % 2 })).join('\n'));
    writeFileSync(join(dir, 'data.zip'), zipSync({ 'two/README.md': new TextEncoder().encode('# two classes'), 'two/train.jsonl': jsonl(rows.slice(0, 8)), 'two/validation.jsonl': jsonl(rows.slice(8)) }));
    const run = vectorfit('grads', '--model', join(dir, 'bert.zip'), '--data', join(dir, 'data.zip'), '--out', join(dir, 'g.safetensors'));
    expect(run.status, run.stderr).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe('two/train.jsonl: text=text, label=label (2 classes: 0, 1)');
    expect(lines[1]).toBe('splits: train=two/train.jsonl, validation=two/validation.jsonl (of train, validation)');
    expect(lines[2]).toBe("Head re-initialised: the checkpoint's classifier has 3 labels, the dataset has 2 classes (classifier.weight [3, 32] → [2, 32], classifier.bias [3] → [2]), as Hugging Face does with ignore_mismatched_sizes.");
    expect(lines[3]).toMatch(/^loss [0-9.]+ over 8 rows/);

    const zipped = zipSync(model, { level: 0 });
    const weights = new Uint8Array(readFileSync(join(FIXTURE, 'model.safetensors')));
    const at = Buffer.from(zipped).indexOf(Buffer.from(weights.subarray(5000, 5032)));
    zipped[at + 3] ^= 0x40;
    writeFileSync(join(dir, 'damaged.zip'), zipped);
    const damaged = vectorfit('grads', '--model', join(dir, 'damaged.zip'), '--data', join(FIXTURE, 'data.jsonl'), '--out', join(dir, 'd.safetensors'));
    expect(damaged.status).toBe(1);
    expect(damaged.stderr).toMatch(/damaged\.zip is not a readable zip file \(bert\/model\.safetensors has CRC-32 [0-9a-f]{8}, the zip records [0-9a-f]{8}: its bytes were damaged\)/);
  });

  it('names the free-text column it leaves out, and refuses a GLUE test file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vectorfit-warn-'));
    mkdirSync(join(dir, 'glue'));
    writeFileSync(join(dir, 'glue', 'test.tsv'), 'index\tsentence1\tsentence2\n0\tA man is playing a flute.\tA man plays the flute.\n');
    const test = vectorfit('grads', '--model', FIXTURE, '--data', join(dir, 'glue', 'test.tsv'), '--out', join(dir, 'x.safetensors'));
    expect(test.status).toBe(1);
    expect(test.stderr).toContain("test.tsv: this is GLUE's unlabelled RTE, WNLI or AX test file: its labels are withheld");
    const reviews = ['{"text": "lozi rumi vodo kavo", "title": "tape loka neba vomi", "label": 0}', '{"text": "ruta kape mivo kado taba", "title": "kape mivo kado taba", "label": 1}'];
    writeFileSync(join(dir, 'reviews.jsonl'), reviews.join('\n'));
    const run = vectorfit('grads', '--model', FIXTURE, '--data', join(dir, 'reviews.jsonl'), '--label', 'label', '--out', join(dir, 'r.safetensors'));
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.split('\n')[0]).toBe('reviews.jsonl: text=text, label=label (2 classes: 0, 1)');
    expect(run.stderr).toContain('warning: reviews.jsonl: free-text column "title" is not used: choose it as text or text pair if the model should read it (--text / --text-pair)');
  });
});
