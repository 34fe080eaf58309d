// One VectorFit training step of a random ViT image classifier (patch embedding, pre-LayerNorm
// layers, final norm, classifier on the CLS token) against the same step written with TensorFlow.js
// ops and its autograd on the same device: ViT-base (224², patches of 16, batch 32) on a GPU,
// scaled on a software adapter. Without dropout (ViTConfig's default) both sides' loss before the
// first update must agree: the peer is checked to compute the same model.
// Standalone: node --import ./scripts/register-raw.mjs bench/vit.ts
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { submitPlan } from '../src/gpu/plan.ts';
import { readTensor } from '../src/gpu/readback.ts';
import { ARCHITECTURES, describeModel, type NormLayout } from '../src/model/architectures.ts';
import { patchEmbeddings, pixelBatch, type PixelBatch } from '../src/model/batch.ts';
import { parseModelConfig, type ModelConfig } from '../src/model/config.ts';
import { GpuModel } from '../src/model/gpu-model.ts';
import type { ModelWeights } from '../src/model/weights.ts';
import { Optimizer } from '../src/train/optimizer.ts';
import { seededRandom } from '../src/util/random.ts';
import { record } from './figures.ts';
import { formatRow, median, tfOnDevice, type Tf } from './peer.ts';
import { randomWeights, timeOurs } from './train.ts';

type TfTensor = ReturnType<Tf['zeros']>;
type TfVariable = ReturnType<Tf['variable']>;
type TfScalar = ReturnType<Tf['scalar']>;

const VIT_BASE = {
  model_type: 'vit', hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072,
  image_size: 224, patch_size: 16, num_channels: 3, layer_norm_eps: 1e-12, hidden_act: 'gelu', num_labels: 10,
};

interface Scale {
  config: Record<string, unknown>;
  batch: number;
  repeats: number;
  note: string;
}

export function vitScale(gpu: Gpu): Scale {
  if (!gpu.adapter.isSoftware) return { config: VIT_BASE, batch: 32, repeats: 10, note: 'ViT-base, 224² images in 16² patches (197 tokens), batch 32' };
  // As the BERT step: about a GFLOP a step on SwiftShader's ~1 GFLOP/s.
  return {
    config: { ...VIT_BASE, hidden_size: 128, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 512, image_size: 128 },
    batch: 8,
    repeats: 3,
    note: 'software adapter: hidden 128, 2 layers, 2 heads, FFN 512, 128² images in 16² patches (65 tokens), batch 8',
  };
}

function randomImages(weights: ModelWeights, B: number, seed: number): { batch: PixelBatch; labels: Uint32Array } {
  const random = seededRandom(seed);
  const { channels, image } = patchEmbeddings(weights.layout);
  const pixels = Float32Array.from({ length: B * channels * image.height * image.width }, () => 2 * random() - 1);
  return { batch: pixelBatch(weights.layout, pixels, B), labels: Uint32Array.from({ length: B }, (_, b) => b % 10) };
}

/** The step in TF.js: the Conv2d as reshape/transpose + matmul, U and V constants, Σ, biases and
 * the classifier as variables, Adam (AdamW without weight decay, as ours runs). */
async function tfVitStep(tf: Tf, model: GpuModel, weights: ModelWeights, config: ModelConfig, data: { batch: PixelBatch; labels: Uint32Array }) {
  const { layout } = weights;
  const { batch: B, seq: T } = data.batch;
  const { hidden: H, heads, headDim } = layout;
  const e = patchEmbeddings(layout);
  const { channels: C, patch: p, grid } = e;
  const N = grid.rows * grid.cols;
  const kept: TfTensor[] = [];
  const constant = (name: string, shape?: number[]) => {
    const w = weights.tensors.get(name)!;
    const t = tf.tensor(w.data, shape ?? w.shape);
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
  const [classifier] = layout.head.map((s) => ({
    weight: variable(weights.tensors.get(s.linear.weight)!.data, [s.linear.dOut, s.linear.dIn]),
    bias: variable(weights.tensors.get(s.linear.bias!)!.data, [s.linear.dOut]),
  }));
  const projection = constant(e.projection.weight, [H, C * p * p]);
  const projectionBias = constant(e.projection.bias!);
  const cls = constant(e.cls, [1, 1, H]);
  const position = constant(e.position.key, [1, T, H]);
  const finalNorm = norm(layout.finalNorm!);
  const pixels = tf.tensor(data.batch.pixelValues, [B, C, grid.rows, p, grid.cols, p]);
  const oneHot = tf.oneHot(tf.tensor1d(Int32Array.from(data.labels), 'int32'), config.numLabels);
  kept.push(pixels, oneHot);

  const layerNorm = (x: TfTensor, n: { gamma: TfTensor; beta: TfTensor; eps: number }) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, n.eps))), n.gamma), n.beta);
  };
  const linear = (x: TfTensor, m: { u: TfTensor; v: TfTensor; sigma: TfVariable; bias: TfVariable }) =>
    tf.add(tf.matMul(tf.mul(tf.matMul(x, m.v), m.sigma), m.u, false, true), m.bias);
  const splitHeads = (x: TfTensor) => tf.transpose(tf.reshape(x, [B, T, heads, headDim]), [0, 2, 1, 3]);
  const gelu = (x: TfTensor) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));

  const loss = (): TfScalar => {
    // [B, C, gy, p, gx, p] → [B·N, C·p·p] in (c, ky, kx) order: the Conv2d weight's.
    const rows = tf.reshape(tf.transpose(pixels, [0, 2, 4, 1, 3, 5]), [B * N, C * p * p]);
    const patches = tf.reshape(tf.add(tf.matMul(rows, projection, false, true), projectionBias), [B, N, H]);
    const tokens = tf.add(tf.concat([tf.tile(cls, [B, 1, 1]), patches], 1), position);
    let hidden = tf.reshape(tokens, [B * T, H]);
    for (const layer of layers) {
      const m = layer.modules;
      const x = layerNorm(hidden, layer.attentionNorm);
      const q = splitHeads(linear(x, m.q));
      const k = splitHeads(linear(x, m.k));
      const v = splitHeads(linear(x, m.v));
      const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)));
      const context = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * T, H]);
      hidden = tf.add(hidden, linear(context, m.o));
      hidden = tf.add(hidden, linear(gelu(linear(layerNorm(hidden, layer.ffnNorm), m.f1)), m.f2));
    }
    const first = tf.reshape(tf.slice(tf.reshape(layerNorm(hidden, finalNorm), [B, T, H]), [0, 0, 0], [B, 1, H]), [B, H]);
    const logits = tf.add(tf.matMul(first, classifier.weight, false, true), classifier.bias);
    return tf.losses.softmaxCrossEntropy(oneHot, logits) as TfScalar;
  };
  const adam = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  return {
    loss: async () => {
      const value = tf.tidy(loss);
      const [result] = await value.data();
      value.dispose();
      return result;
    },
    step: async () => {
      const value = tf.tidy(() => adam.minimize(loss, true, variables)!);
      const [result] = await value.data();
      value.dispose();
      return result;
    },
    dispose: () => {
      adam.dispose();
      for (const t of [...kept, ...variables]) t.dispose();
    },
  };
}

export async function runVitTrainBench(gpu: Gpu, tf: Tf): Promise<void> {
  const { device } = gpu;
  const scale = vitScale(gpu);
  const config = parseModelConfig(scale.config, 'benchmark config');
  const layout = describeModel(ARCHITECTURES.vit, config);
  const B = scale.batch;
  console.log(`\n## ViT training step vs TF.js WebGPU + autograd (same device; ${scale.note}; no dropout; median of ${scale.repeats})`);
  const weights = randomWeights(layout, 3);
  const data = randomImages(weights, B, 4);
  const T = data.batch.seq;
  const model = await GpuModel.create(device, weights, config.dropout, {
    maxBatch: B, maxSeq: T, trains: () => true, factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu',
  });
  const optimizer = new Optimizer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  model.setBatch(data.batch, data.labels);
  const peer = await tfVitStep(tf, model, weights, config, data);
  // Before any update both compute the same model: the same loss up to fp32 rounding.
  submitPlan(device, model.lossPlan(B, T, false));
  const oursFirst = (await readTensor(device, model.loss))[0];
  const theirsFirst = await peer.loss();
  if (!(Math.abs(oursFirst - theirsFirst) <= 1e-4 * Math.max(1, Math.abs(theirsFirst)))) throw new Error(`the TF.js ViT computes another loss: ours ${oursFirst}, tfjs ${theirsFirst}`);

  const ours = await timeOurs(gpu, model, optimizer, B, T, scale.repeats);
  let theirsLoss = 0;
  const liveTensors = new Set<number>();
  let peerSteps = 0;
  const theirs = await median(scale.repeats, async () => {
    theirsLoss = await peer.step();
    if (++peerSteps > 1) liveTensors.add(tf.memory().numTensors);
  });
  if (liveTensors.size > 1) throw new Error(`the TF.js step leaks tensors: ${[...liveTensors].join(' → ')} live after successive steps`);
  peer.dispose();

  const images = B;
  const widths = [10, 8, 10, 10];
  console.log(`images per step: ${images} (${T} tokens each); loss before training: ours ${oursFirst.toFixed(5)}, tfjs ${theirsFirst.toFixed(5)}; last: ours ${ours.loss.toFixed(4)}, tfjs ${theirsLoss.toFixed(4)}`);
  console.log(formatRow(['', 'steps/s', 'images/s', 'ms/step'], widths));
  console.log(formatRow(['ours', (1 / ours.seconds).toFixed(2), (images / ours.seconds).toFixed(1), (1000 * ours.seconds).toFixed(1)], widths));
  console.log(formatRow(['tfjs', (1 / theirs).toFixed(2), (images / theirs).toFixed(1), (1000 * theirs).toFixed(1)], widths));
  console.log(`ratio ours/tfjs: ${(theirs / ours.seconds).toFixed(2)}×`);
  record('train.vit.vectorfit.steps_per_s', 1 / ours.seconds);
  record('train.vit.vectorfit.tfjs.steps_per_s', 1 / theirs);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# ViT training benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runVitTrainBench(gpu, await tfOnDevice(gpu));
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
  process.exit(0);
}
