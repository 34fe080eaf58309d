// The token-level heads — BertForQuestionAnswering's qa_outputs (span loss) and
// …ForTokenClassification's classifier (per-token cross-entropy, −100 ignored) — for BERT,
// RoBERTa and DistilBERT: their layout and key names, the float64 reference's gradients against
// central finite differences, and the GPU model's loss, logits and gradients against the float64
// reference on the GPU's own factors.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readModelDir } from '../cli/files.ts';
import { submitPlan } from '../gpu/plan.ts';
import { readTensor } from '../gpu/readback.ts';
import type { Dataset } from '../io/types.ts';
import { loadModel } from '../train/load.ts';
import { testGpu } from '../test/gpu.ts';
import { IGNORE_INDEX } from '../util/ignore-index.ts';
import { exportNames, taskOf } from './architectures.ts';
import { architectureFor, parseModelConfig } from './config.ts';
import { GpuModel } from './gpu-model.ts';
import { buildReferenceModel, referenceGradients, referenceLoss } from './reference.ts';
import { expectCentralDifferences } from './test-finite-differences.ts';
import { HF_TINY, readFixtureBatch } from './test-folders.ts';
import type { TokenBatch } from './batch.ts';

const TAGS = ['B-LOC', 'B-PER', 'I-LOC', 'I-PER', 'O'];
const QA: Pick<Dataset, 'task' | 'labelNames'> = { task: 'question-answering', labelNames: [] };
const NER: Pick<Dataset, 'task' | 'labelNames'> = { task: 'token-classification', labelNames: TAGS };

/** A start and an end inside each row's tokens (one row's answer at CLS, as a window without it). */
function spanLabels(batch: TokenBatch): number[] {
  return Array.from({ length: batch.batch }, (_, b) => {
    const length = batch.attentionMask.slice(b * batch.seq, (b + 1) * batch.seq).reduce((a, x) => a + x, 0);
    if (b === 2) return [0, 0];
    const start = 1 + (b % (length - 2));
    return [start, Math.min(length - 2, start + (b % 3))];
  }).flat();
}

/** A tag on some tokens, −100 on specials, padding and every third token (a word's later sub-token). */
function tokenLabels(batch: TokenBatch): Int32Array {
  return Int32Array.from({ length: batch.batch * batch.seq }, (_, i) => {
    const t = i % batch.seq;
    const real = batch.attentionMask[i] === 1 && t > 0 && batch.attentionMask[i + 1] === 1;
    return real && t % 3 !== 2 ? (i * 7) % TAGS.length : IGNORE_INDEX;
  });
}

const labelsFor = (task: 'qa' | 'ner', batch: TokenBatch) => (task === 'qa' ? spanLabels(batch) : Array.from(tokenLabels(batch)));

describe('token-level heads in the architecture table', () => {
  it('read the head task from config.json’s architectures, or an explicit choice', async () => {
    const raw = { model_type: 'bert', hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, vocab_size: 10 };
    expect(parseModelConfig({ ...raw, architectures: ['BertForQuestionAnswering'] }).headTask).toBe('question-answering');
    expect(parseModelConfig({ ...raw, architectures: ['BertForTokenClassification'] }).headTask).toBe('token-classification');
    expect(parseModelConfig(raw).headTask).toBe('sequence-classification');
    expect(parseModelConfig({ ...raw, architectures: ['BertForMaskedLM'] }, 'config.json', { task: 'question-answering' }).headTask).toBe('question-answering');
    expect(() => parseModelConfig({ ...raw, architectures: 'BertForQuestionAnswering' })).toThrow(/"architectures" must be a list of class names/);
    // DistilBERT's QA head drops out with qa_dropout, its token classifier with the hidden rate.
    const distil = { model_type: 'distilbert', dim: 8, n_layers: 1, n_heads: 2, hidden_dim: 16, vocab_size: 10, dropout: 0.3, qa_dropout: 0.15, seq_classif_dropout: 0.25 };
    expect(parseModelConfig(distil, 'c', { task: 'question-answering' }).dropout.classifier).toBe(0.15);
    expect(parseModelConfig(distil, 'c', { task: 'token-classification' }).dropout.classifier).toBe(0.3);
    expect(parseModelConfig(distil).dropout.classifier).toBe(0.25);
  });

  it.each([
    ['bert', QA, ['qa_outputs.weight', 'qa_outputs.bias'], [2, 32]],
    ['roberta', QA, ['qa_outputs.weight', 'qa_outputs.bias'], [2, 32]],
    ['distilbert', QA, ['qa_outputs.weight', 'qa_outputs.bias'], [2, 32]],
    ['bert', NER, ['classifier.weight', 'classifier.bias'], [5, 32]],
    ['roberta', NER, ['classifier.weight', 'classifier.bias'], [5, 32]],
    ['distilbert', NER, ['classifier.weight', 'classifier.bias'], [5, 32]],
    ['deberta-v3', QA, ['qa_outputs.weight', 'qa_outputs.bias'], [2, 32]],
    ['deberta-v3', NER, ['classifier.weight', 'classifier.bias'], [5, 32]],
  ] as const)('%s for %o: Hugging Face’s head keys on every token, no pooler', async (folder, dataset, keys, shape) => {
    const loaded = await loadModel(await readModelDir(join(HF_TINY, folder)), dataset, 0);
    const { layout } = loaded.weights;
    expect(layout.task).toEqual({ input: 'every-token', loss: dataset.task === 'question-answering' ? 'span' : 'token-classes' });
    expect(layout.head.map((s) => [s.linear.weight, s.linear.bias])).toEqual([keys]);
    expect([layout.head[0].linear.dOut, layout.head[0].linear.dIn]).toEqual(shape);
    const names = exportNames(architectureFor(loaded.config), loaded.config);
    expect(names.filter((n) => !n.endsWith('.sigma') && !/layer\.\d+\./.test(n))).toEqual(keys);
    expect(taskOf(architectureFor(loaded.config), loaded.config)).toEqual(layout.task);
  });
});

describe.each([
  ['bert', 'qa'],
  ['bert', 'ner'],
  ['roberta', 'qa'],
  ['distilbert', 'ner'],
  ['deberta-v3', 'qa'],
] as const)('referenceGradients on hf-tiny/%s with a %s head', (folder, task) => {
  it('match central finite differences of referenceLoss for sampled Σ, bias and head entries', async () => {
    const dir = join(HF_TINY, folder);
    const loaded = await loadModel(await readModelDir(dir), task === 'qa' ? QA : NER, 3);
    const model = buildReferenceModel(loaded.config, loaded.weights);
    const { batch } = readFixtureBatch(dir);
    const labels = labelsFor(task, batch);
    const { grads, loss } = referenceGradients(model, batch, labels);
    expect(loss).toBeGreaterThan(0);
    const layer = (l: number) => loaded.weights.layout.layers[l].modules;
    const head = loaded.weights.layout.head[0].linear;
    const samples: [string, number][] = [
      [layer(0)[0].sigmaName, 0],
      [layer(0)[2].sigmaName, 31],
      [layer(1)[3].sigmaName, 3],
      [layer(1)[5].sigmaName, 30],
      [layer(0)[5].biasName!, 5],
      [layer(1)[4].biasName!, 63],
      [head.weight, 33],
      [head.weight, head.dOut * head.dIn - 1],
      [head.bias!, 1],
    ];
    expectCentralDifferences(model, grads, samples, () => referenceLoss(model, batch, labels).loss);
  });
});

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

function relativeError(ours: ArrayLike<number>, ref: ArrayLike<number>, floor: number): number {
  return norm(Array.from(ours, (g, i) => g - ref[i])) / Math.max(norm(ref), floor);
}

// fp32 against float64 on ≤ 64-wide reductions a few hundred ops deep: ~1e-6 relative; as
// gpu-model.test.ts, 2e-5 with a floor of 1e-3 × the largest gradient norm.
const SAME_FACTORS_TOL = 2e-5;

describe.each([
  ['bert', 'qa'],
  ['bert', 'ner'],
  ['roberta', 'qa'],
  ['roberta', 'ner'],
  ['distilbert', 'qa'],
  ['distilbert', 'ner'],
  ['deberta-v3', 'qa'],
  ['deberta-v3', 'ner'],
] as const)('GPU model on hf-tiny/%s with a %s head', (folder, task) => {
  it('matches the float64 reference on its own factors: loss, logits, every Σ, bias and head gradient', async () => {
    const dir = join(HF_TINY, folder);
    const loaded = await loadModel(await readModelDir(dir), task === 'qa' ? QA : NER, 5);
    const { batch } = readFixtureBatch(dir);
    const labels = labelsFor(task, batch);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0, attention: 0, classifier: 0 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
    });
    model.setBatch(batch, labels);
    // The token classifier's training plan turns its logits into dLogits: read them from an evaluation.
    submitPlan(device, model.lossPlan(batch.batch, batch.seq, false));
    const outputs = loaded.weights.layout.head[0].linear.dOut;
    const logits = (await readTensor(device, model.logits)).slice(0, batch.batch * batch.seq * outputs);
    const evalLoss = (await readTensor(device, model.loss))[0];
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const loss = (await readTensor(device, model.loss))[0];
    const grads = await readTensor(device, model.gradsTensor);

    const reference = buildReferenceModel(loaded.config, loaded.weights);
    for (const [path, f] of await model.readFactors()) {
      const m = reference.modules.get(path)!;
      m.u = Float64Array.from(f.u);
      m.sigma = Float64Array.from(f.sigma);
      m.v = Float64Array.from(f.v);
    }
    const same = referenceGradients(reference, batch, labels);
    expect(Math.abs(loss - same.loss) / same.loss).toBeLessThan(SAME_FACTORS_TOL);
    expect(Math.abs(evalLoss - same.loss) / same.loss).toBeLessThan(SAME_FACTORS_TOL);
    expect(relativeError(logits, same.logits, 0)).toBeLessThan(SAME_FACTORS_TOL);
    const entries = model.params.entries;
    expect(new Set(entries.map((e) => e.name))).toEqual(new Set(same.grads.keys()));
    // Exactly zero in exact arithmetic, so both sides hold rounding noise: the key bias's gradient
    // (softmax ignores a shift shared by every key of a row; not so under DeBERTa's
    // position-to-content term) and the span head's bias's (each row's start and end softmax
    // ignore a shift shared by every position). Checked to be noise-sized.
    const plain = loaded.weights.layout.attention.kind === 'plain';
    const zero = (e: (typeof entries)[number]) => (plain && e.role === 'bias' && e.module === 'k') || (task === 'qa' && e.name === 'qa_outputs.bias');
    const checked = entries.filter((e) => !zero(e));
    const largest = Math.max(...checked.map((e) => norm(same.grads.get(e.name)!)));
    for (const e of entries.filter(zero)) {
      expect(norm(grads.subarray(e.offset, e.offset + e.length)), e.name).toBeLessThan(1e-5 * largest);
      expect(norm(same.grads.get(e.name)!), `${e.name} (reference)`).toBeLessThan(1e-12 * largest);
    }
    for (const e of checked) {
      expect(relativeError(grads.subarray(e.offset, e.offset + e.length), same.grads.get(e.name)!, 1e-3 * largest), e.name).toBeLessThan(SAME_FACTORS_TOL);
    }
  });
});

describe.each([
  ['distilbert', 'qa'],
  ['bert', 'ner'],
] as const)('GPU model on hf-tiny/%s with a %s head and dropout on', (folder, task) => {
  it('has gradients equal to central differences of its dropout-mode loss (same masks, the head’s dropout included)', async () => {
    const dir = join(HF_TINY, folder);
    const loaded = await loadModel(await readModelDir(dir), task === 'qa' ? QA : NER, 1);
    const { batch } = readFixtureBatch(dir);
    const { device } = await testGpu();
    const model = await GpuModel.create(device, loaded.weights, { hidden: 0.2, attention: 0.2, classifier: 0.3 }, {
      maxBatch: batch.batch, maxSeq: batch.seq, trains: () => true, factorOn: 'cpu',
    });
    expect(loaded.weights.layout.head[0].dropoutBefore).toBe(true);
    model.setBatch(batch, labelsFor(task, batch));
    device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(4321));
    submitPlan(device, model.trainPlan(batch.batch, batch.seq));
    const grads = await readTensor(device, model.gradsTensor);
    const params = await readTensor(device, model.paramsTensor);
    const lossAt = async (index: number, value: number) => {
      device.queue.writeBuffer(model.paramsTensor.buffer, index * 4, Float32Array.of(value));
      submitPlan(device, model.lossPlan(batch.batch, batch.seq, true));
      return (await readTensor(device, model.loss))[0];
    };
    const head = loaded.weights.layout.head[0].linear.weight;
    const entries = model.params.entries.filter((e) => e.name === head || /layer\.0\..*(query|q_lin)\.sigma|layer\.1\.(output\.dense|ffn\.lin2)\.bias/.test(e.name));
    expect(entries.length).toBe(3);
    for (const entry of entries) {
      let index = entry.offset;
      for (let i = entry.offset; i < entry.offset + entry.length; i++) if (Math.abs(grads[i]) > Math.abs(grads[index])) index = i;
      // As gpu-model.test.ts: fp32 losses over 2h = 2e-2 and an O(h²) truncation.
      const h = 1e-2;
      const fd = ((await lossAt(index, params[index] + h)) - (await lossAt(index, params[index] - h))) / (2 * h);
      await lossAt(index, params[index]);
      expect(Math.abs(fd - grads[index]), `${entry.name}[${index - entry.offset}]: fd ${fd}, gradient ${grads[index]}`).toBeLessThan(2e-2 * Math.abs(grads[index]) + 1e-4);
    }
  });
});
