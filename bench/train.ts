// One VectorFit training step (forward with dropout, loss, backward of Σ, biases and head, AdamW)
// of a random BERT-shaped classifier, against the same step written with TensorFlow.js ops and
// its autograd on the same device. BERT-base at batch 32 × 128 on a GPU; scaled on a software
// adapter. Prints steps/s and tokens/s of both and our ratio.
// Standalone: node --import ./scripts/register-raw.mjs bench/train.ts
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { encodePlan, type PlanOp } from '../src/gpu/plan.ts';
import { kernelName } from '../src/kernels/matmul_tiles.ts';
import { readTensor } from '../src/gpu/readback.ts';
import { describeModel, tokenEmbeddings, type ModelLayout, type NormLayout } from '../src/model/architectures.ts';
import { unreachable } from '../src/util/unreachable.ts';
import type { TokenBatch } from '../src/model/batch.ts';
import { architectureFor, parseModelConfig, type ModelConfig } from '../src/model/config.ts';
import { GpuModel, measuredForms } from '../src/model/gpu-model.ts';
import { linearShapeKey } from '../src/kernels/linear_form_tuning.ts';
import { estimateTrainingMemory } from '../src/model/memory.ts';
import { bindingLimit } from '../src/model/split-table.ts';
import type { ModelWeights, WeightTensor } from '../src/model/weights.ts';
import { Optimizer } from '../src/train/optimizer.ts';
import { seededNormal, seededRandom } from '../src/util/random.ts';
import { record } from './figures.ts';
import { printStepProfile } from './step_profile.ts';
import { formatRow, median, tfAdamTrainer, tfOnDevice, type Tf, type TfScalar, type TfTensor, type TfTrainer, type TfVariable } from './peer.ts';


interface Scale {
  config: Record<string, unknown>;
  batch: number;
  seq: number;
  repeats: number;
  note: string;
}

const BERT_BASE = {
  model_type: 'bert', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  vocab_size: 30522, max_position_embeddings: 512, type_vocab_size: 2, hidden_dropout_prob: 0.1,
  attention_probs_dropout_prob: 0.1, layer_norm_eps: 1e-12, hidden_act: 'gelu', num_labels: 2,
};

export function trainScale(gpu: Gpu): Scale {
  if (!gpu.adapter.isSoftware) return { config: BERT_BASE, batch: 32, seq: 128, repeats: 10, note: 'BERT-base, batch 32 × 128' };
  // SwiftShader runs ~1 GFLOP/s: a step of this size is ~1 GFLOP, so both sides fit in ~2 minutes.
  return {
    config: { ...BERT_BASE, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512 },
    batch: 8,
    seq: 64,
    repeats: 3,
    note: 'software adapter: hidden 128, 2 layers, 2 heads, FFN 512, vocab 30522, batch 8 × 64',
  };
}

/** Every tensor the layout names, N(0, 0.02) as BERT initialises, LayerNorm gamma 1 and beta 0. */
export function randomWeights(layout: ModelLayout, seed: number): ModelWeights {
  const random = seededNormal(seed);
  const tensors = new Map<string, WeightTensor>();
  const put = (name: string, shape: number[], fill: () => number) =>
    tensors.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, fill) });
  const gaussian = () => 0.02 * random();
  const { embeddings } = layout;
  switch (embeddings.kind) {
    case 'tokens':
      for (const table of [embeddings.word, embeddings.position, embeddings.tokenType]) {
        if (table) put(table.key, [table.rows, table.dim], gaussian);
      }
      break;
    case 'patches':
      put(embeddings.projection.weight, [embeddings.projection.dOut, embeddings.channels, embeddings.patch, embeddings.patch], gaussian);
      put(embeddings.projection.bias!, [embeddings.projection.dOut], gaussian);
      put(embeddings.cls, [1, 1, layout.hidden], gaussian);
      put(embeddings.position.key, [1, embeddings.position.rows, embeddings.position.dim], gaussian);
      break;
    default:
      unreachable(embeddings, 'embeddings kind');
  }
  const embeddingNorm = embeddings.kind === 'tokens' ? embeddings.norm : null;
  const linears = [...layout.layers.flatMap((l) => l.modules), ...layout.head.map((s) => s.linear)];
  for (const l of linears) {
    put(l.weight, [l.dOut, l.dIn], gaussian);
    if (l.bias) put(l.bias, [l.dOut], gaussian);
  }
  // DeBERTa's relative embeddings and their norm.
  const relative = layout.attention.kind === 'disentangled' ? layout.attention : null;
  if (relative) put(relative.embeddings.key, [relative.embeddings.rows, relative.embeddings.dim], gaussian);
  for (const n of [embeddingNorm, relative?.norm ?? null, layout.finalNorm, ...layout.layers.flatMap((l) => [l.attentionNorm, l.ffnNorm])]) {
    if (!n) continue;
    put(n.weight, [n.dim], () => 1);
    if (n.bias) put(n.bias, [n.dim], () => 0);
  }
  return { layout, tensors, initialised: [] };
}

/** Random word ids after a [CLS] of 101, with the tail of every other row padded. */
export function randomBatch(config: ModelConfig, B: number, T: number, seed: number): { batch: TokenBatch; labels: Uint32Array } {
  const random = seededRandom(seed);
  const inputIds = new Uint32Array(B * T);
  const attentionMask = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    const length = b % 2 ? T - Math.floor(T / 4) - b : T;
    for (let s = 0; s < length; s++) {
      inputIds[b * T + s] = s === 0 ? 101 : 1000 + Math.floor(random() * (config.vocabSize - 1000));
      attentionMask[b * T + s] = 1;
    }
  }
  return { batch: { batch: B, seq: T, inputIds, attentionMask }, labels: Uint32Array.from({ length: B }, (_, b) => b % 2) };
}

/** The train plan as the trainer runs it on a GPU: after its products' matmul kernels are
 * measured (matmul_tuning.ts); prints how long that took and what it chose. */
export async function tunedTrainPlan(gpu: Gpu, model: GpuModel, B: number, T: number): Promise<PlanOp[]> {
  model.trainPlan(B, T);
  const start = performance.now();
  const tuned = await model.tuneMatmuls(gpu);
  if (tuned.length) {
    const counts = new Map<string, number>();
    for (const t of tuned) counts.set(kernelName(t.chosen), (counts.get(kernelName(t.chosen)) ?? 0) + 1);
    const chosen = [...counts].map(([name, n]) => `${name} ×${n}`).join(', ');
    console.log(`matmul kernels measured for ${tuned.length} products in ${((performance.now() - start) / 1000).toFixed(1)} s: ${chosen}`);
  }
  return model.trainPlan(B, T);
}

/** Median seconds of our step (the train plan and the AdamW update in one submit), and its loss. */
export async function timeOurs(gpu: Gpu, model: GpuModel, optimizer: Optimizer, B: number, T: number, repeats: number): Promise<{ seconds: number; loss: number }> {
  const { device } = gpu;
  const ops = [...(await tunedTrainPlan(gpu, model, B, T)), ...optimizer.update];
  let step = 0;
  const seconds = await median(repeats, async () => {
    device.queue.writeBuffer(model.seedTensor.buffer, 0, Uint32Array.of(++step));
    const encoder = device.createCommandEncoder();
    encodePlan(encoder, ops);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  return { seconds, loss: (await readTensor(device, model.loss))[0] };
}

/**
 * The same step in TF.js: U and V constants, Σ, biases and the head as variables, tf.dropout in
 * train mode, autograd through tf.variableGrads (inside minimize) and Adam (AdamW without
 * weight decay, as ours runs). Returns a function that runs one step and resolves to its loss.
 */
async function tfStep(tf: Tf, model: GpuModel, weights: ModelWeights, config: ModelConfig, data: { batch: TokenBatch; labels: Uint32Array }): Promise<TfTrainer> {
  const { layout } = weights;
  const { batch: B, seq: T } = data.batch;
  const { hidden: H, heads, headDim } = layout;
  const kept: TfTensor[] = [];
  const constant = (name: string) => {
    const w = weights.tensors.get(name)!;
    const t = tf.tensor(w.data, w.shape);
    kept.push(t);
    return t;
  };
  const variables: TfVariable[] = [];
  const variable = (data: Float32Array, shape: number[]) => {
    const v = tf.variable(tf.tensor(data, shape));
    variables.push(v);
    return v;
  };
  const factors = await model.readFactors();
  const embeddings = tokenEmbeddings(layout, 'the TF.js peer');
  // The TF.js peer writes out the BERT family: position table, LayerNorms, biases everywhere.
  if (!embeddings.position || !embeddings.norm || layout.normPlacement !== 'post') throw new Error('the TF.js peer builds the BERT family only');
  const norm = (n: NormLayout) => ({ gamma: constant(n.weight), beta: constant(n.bias!), eps: n.eps });
  const layers = layout.layers.map((layer) => ({
    modules: Object.fromEntries(layer.modules.map((m) => {
      const f = factors.get(m.path)!;
      const u = tf.tensor(f.u, [m.dOut, m.rank]);
      const v = tf.tensor(f.v, [m.dIn, m.rank]);
      kept.push(u, v);
      return [m.kind, { u, v, sigma: variable(f.sigma, [m.rank]), bias: variable(weights.tensors.get(m.bias!)!.data, [m.dOut]) }];
    })),
    attentionNorm: norm(layer.attentionNorm),
    ffnNorm: norm(layer.ffnNorm),
  }));
  const head = layout.head.map((s) => ({
    weight: variable(weights.tensors.get(s.linear.weight)!.data, [s.linear.dOut, s.linear.dIn]),
    bias: variable(weights.tensors.get(s.linear.bias!)!.data, [s.linear.dOut]),
  }));
  const word = constant(embeddings.word.key);
  const position = constant(embeddings.position.key);
  const tokenType = constant(embeddings.tokenType!.key);
  const embeddingNorm = norm(embeddings.norm);
  const ids = tf.tensor1d(Int32Array.from(data.batch.inputIds), 'int32');
  const positions = tf.tensor1d(Int32Array.from({ length: B * T }, (_, i) => i % T), 'int32');
  const types = tf.zeros([B * T], 'int32');
  // HF's extended mask: a large negative score on padded keys, [B, 1, 1, T].
  const maskBias = tf.tensor4d(Float32Array.from(data.batch.attentionMask, (m) => (m ? 0 : -1e9)), [B, 1, 1, T]);
  const clsRows = tf.tensor1d(Int32Array.from({ length: B }, (_, b) => b * T), 'int32');
  const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(data.labels), 'int32'), config.numLabels);
  kept.push(ids, positions, types, maskBias, clsRows, oneHot);

  const { hidden: pHidden, attention: pAttention, classifier: pClassifier } = config.dropout;
  const layerNorm = (x: TfTensor, n: { gamma: TfTensor; beta: TfTensor; eps: number }) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, n.eps))), n.gamma), n.beta);
  };
  const linear = (x: TfTensor, m: { u: TfTensor; v: TfTensor; sigma: TfVariable; bias: TfVariable }) =>
    tf.add(tf.matMul(tf.mul(tf.matMul(x, m.v), m.sigma), m.u, false, true), m.bias);
  const splitHeads = (x: TfTensor) => tf.transpose(tf.reshape(x, [B, T, heads, headDim]), [0, 2, 1, 3]);
  const gelu = (x: TfTensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));

  const loss = (): TfScalar => {
    const sum = tf.add(tf.add(tf.gather(word, ids), tf.gather(position, positions)), tf.gather(tokenType, types));
    let hidden = tf.dropout(layerNorm(sum, embeddingNorm), pHidden);
    for (const layer of layers) {
      const m = layer.modules;
      const q = splitHeads(linear(hidden, m.q));
      const k = splitHeads(linear(hidden, m.k));
      const v = splitHeads(linear(hidden, m.v));
      const scores = tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)), maskBias);
      const probs = tf.dropout(tf.softmax(scores), pAttention);
      const context = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * T, H]);
      const hidden1 = layerNorm(tf.add(tf.dropout(linear(context, m.o), pHidden), hidden), layer.attentionNorm);
      const ffn = linear(gelu(linear(hidden1, m.f1)), m.f2);
      hidden = layerNorm(tf.add(tf.dropout(ffn, pHidden), hidden1), layer.ffnNorm);
    }
    const [pooler, classifier] = head;
    const pooled = tf.tanh(tf.add(tf.matMul(tf.gather(hidden, clsRows), pooler.weight, false, true), pooler.bias));
    const logits = tf.add(tf.matMul(tf.dropout(pooled, pClassifier), classifier.weight, false, true), classifier.bias);
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as TfScalar;
  };
  return tfAdamTrainer(tf, loss, variables, kept);
}

/** Our classifier of `config` with random weights (seed 1), every vector trained, AdamW without
 * weight decay, and a random batch of B × T (seed 2) set: what the training steps time. */
export async function benchModel(gpu: Gpu, config: ModelConfig, B: number, T: number) {
  const weights = randomWeights(describeModel(architectureFor(config), config), 1);
  // As the trainer does: on a GPU each module shape takes the form measured faster there.
  const shape = { maxBatch: B, maxSeq: T, trains: () => true };
  const measured = await GpuModel.measureLinearForms(gpu, weights.layout, shape);
  for (const m of measured) {
    const times = m.factoredSeconds === undefined ? 'too large to measure: by FLOPs' : `factored ${(1000 * m.factoredSeconds).toFixed(2)} ms, recomposed ${(1000 * m.recomposedSeconds!).toFixed(2)} ms`;
    console.log(`linear ${linearShapeKey(m.shape)}: ${m.form} (${times})`);
  }
  const model = await GpuModel.create(gpu.device, weights, config.dropout, {
    ...shape, factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu', linearForms: measuredForms(measured),
  });
  const optimizer = new Optimizer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  const data = randomBatch(config, B, T, 2);
  model.setBatch(data.batch, data.labels);
  return { weights, model, optimizer, data };
}

/** The GPU memory the model (its plans included) and the optimizer hold, beside memory.ts's
 * estimate of the run, which the trainer states to the user before loading. */
export function printMemory(gpu: Gpu, model: GpuModel, optimizer: Optimizer, B: number, T: number): void {
  const allocated = model.allocatedBytes + optimizer.allocatedBytes;
  const estimate = estimateTrainingMemory(model.layout, B, T, undefined, bindingLimit(gpu.limits)).total;
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  console.log(`GPU memory: ${mib(allocated)} MiB allocated (model ${mib(model.allocatedBytes)}, optimizer ${mib(optimizer.allocatedBytes)}); memory.ts estimates ${mib(estimate)} MiB (allocated/estimate ${(allocated / estimate).toFixed(3)})`);
}

/** Times our BERT step against TF.js's and returns our median seconds. */
export async function runTrainBench(gpu: Gpu, tf: Tf): Promise<number> {
  const scale = trainScale(gpu);
  const config = parseModelConfig(scale.config, 'benchmark config');
  const { batch: B, seq: T, repeats } = scale;
  console.log(`\n## Training step vs TF.js WebGPU + autograd (same device; ${scale.note}; dropout 0.1; median of ${repeats})`);
  const { weights, model, optimizer, data } = await benchModel(gpu, config, B, T);
  const peer = await tfStep(tf, model, weights, config, data);

  const ours = await timeOurs(gpu, model, optimizer, B, T, repeats);
  let theirsLoss = 0;
  // A leak would slow the peer step by step: after the warm-up (which creates Adam's moments)
  // the live tensor count must stay put.
  const liveTensors = new Set<number>();
  let peerSteps = 0;
  const theirs = await median(repeats, async () => {
    theirsLoss = await peer.step();
    if (++peerSteps > 1) liveTensors.add(tf.memory().numTensors);
  });
  if (liveTensors.size > 1) throw new Error(`the TF.js step leaks tensors: ${[...liveTensors].join(' → ')} live after successive steps`);
  peer.dispose();

  const tokens = B * T;
  const widths = [10, 8, 10, 10];
  console.log(`tokens per step: ${tokens} (${B} × ${T}, padded positions included); last loss: ours ${ours.loss.toFixed(4)}, tfjs ${theirsLoss.toFixed(4)}`);
  console.log(formatRow(['', 'steps/s', 'tokens/s', 'ms/step'], widths));
  console.log(formatRow(['ours', (1 / ours.seconds).toFixed(2), Math.round(tokens / ours.seconds), (1000 * ours.seconds).toFixed(1)], widths));
  console.log(formatRow(['tfjs', (1 / theirs).toFixed(2), Math.round(tokens / theirs), (1000 * theirs).toFixed(1)], widths));
  console.log(`ratio ours/tfjs: ${(theirs / ours.seconds).toFixed(2)}× (goal ≥ 3×)`);
  record('train.vectorfit.steps_per_s', 1 / ours.seconds);
  record('train.vectorfit.tfjs.steps_per_s', 1 / theirs);
  await printStepProfile(gpu, [...model.trainPlan(B, T), ...optimizer.update], 'train.vectorfit', ours.seconds);
  printMemory(gpu, model, optimizer, B, T);
  optimizer.destroy();
  model.destroy();
  return ours.seconds;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# Training benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runTrainBench(gpu, await tfOnDevice(gpu));
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
  process.exit(0);
}
