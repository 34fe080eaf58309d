// A decoder LLM at SmolLM2-135M's shape (hidden 576, 9 heads of 64 on 3 KV heads, 30 layers,
// FFN 1536, vocabulary 49,152, tied head; scaled down on a software adapter):
//   1. one VectorFit training step (forward, causal-LM loss, backward of every Σ, AdamW) against
//      the same step in TF.js's WebGPU backend with its autograd, on the same device;
//   2. generation tokens/s with the KV cache (prefill, then one token per step: logits read back
//      and the argmax taken on the CPU, as the playground does), against the same cached decode
//      written with TF.js ops (TF.js has no KV-cache op: K, V are concatenated per step).
// Standalone: node --import ./scripts/register-raw.mjs bench/decoder.ts
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { encodePlan, submitPlan } from '../src/gpu/plan.ts';
import { readTensor } from '../src/gpu/readback.ts';
import { ropeTable } from '../src/kernels/rope.ts';
import { ARCHITECTURES, describeModel, tokenEmbeddings } from '../src/model/architectures.ts';
import type { TokenBatch } from '../src/model/batch.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { GpuDecoder } from '../src/model/gpu-decode.ts';
import { GpuModel } from '../src/model/gpu-model.ts';
import { causalLmLabels } from '../src/model/task.ts';
import type { ModelWeights } from '../src/model/weights.ts';
import { Optimizer } from '../src/train/optimizer.ts';
import { greedyToken } from '../src/train/sampling.ts';
import { seededRandom } from '../src/util/random.ts';
import { formatRow, median, tfAdamTrainer, tfOnDevice, type Tf, type TfScalar, type TfTensor, type TfVariable } from './peer.ts';
import { randomWeights, tunedTrainPlan } from './train.ts';


const SMOLLM2_135M = {
  model_type: 'llama', hidden_size: 576, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, head_dim: 64,
  intermediate_size: 1536, vocab_size: 49152, max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 100000,
  hidden_act: 'silu', tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 0,
};

interface Scale {
  config: Record<string, unknown>;
  batch: number;
  seq: number;
  prompt: number;
  newTokens: number;
  repeats: number;
  note: string;
}

function decoderScale(gpu: Gpu): Scale {
  if (!gpu.adapter.isSoftware) return { config: SMOLLM2_135M, batch: 8, seq: 256, prompt: 128, newTokens: 128, repeats: 5, note: 'SmolLM2-135M, batch 8 × 256; generation: 128-token prompt, 128 new tokens' };
  // SwiftShader runs ~1 GFLOP/s: keep the step near a GFLOP (the tied head dominates at this vocabulary).
  return {
    config: { ...SMOLLM2_135M, hidden_size: 192, num_hidden_layers: 2, num_attention_heads: 3, num_key_value_heads: 1, intermediate_size: 512, vocab_size: 8192 },
    batch: 4, seq: 32, prompt: 16, newTokens: 16, repeats: 3,
    note: 'software adapter: hidden 192, 2 layers, 3 heads of 64 on 1 KV head, FFN 512, vocabulary 8192, batch 4 × 32; generation: 16-token prompt, 16 new tokens',
  };
}

/** Random ids, every other row right-padded by a quarter. */
function randomBatch(vocab: number, B: number, T: number, seed: number): TokenBatch {
  const random = seededRandom(seed);
  const inputIds = new Uint32Array(B * T);
  const attentionMask = new Uint32Array(B * T);
  for (let b = 0; b < B; b++) {
    const length = b % 2 ? T - Math.floor(T / 4) : T;
    for (let t = 0; t < length; t++) {
      inputIds[b * T + t] = 1 + Math.floor(random() * (vocab - 1));
      attentionMask[b * T + t] = 1;
    }
  }
  return { batch: B, seq: T, inputIds, attentionMask };
}

/** The same step in TF.js: U, V and the (tied) embedding constant, Σ variables, RMSNorm, rotary
 * (rotate-half), grouped-query attention with the causal and padding masks, the SiLU-gated MLP,
 * the shifted cross-entropy over non-pad labels, Adam. */
export async function tfStep(tf: Tf, model: GpuModel, weights: ModelWeights, batch: TokenBatch, labels: Int32Array) {
  const { layout } = weights;
  const { batch: B, seq: T } = batch;
  const { heads, kvHeads, headDim } = layout;
  const A = heads * headDim;
  const group = heads / kvHeads;
  const kept: TfTensor[] = [];
  const keep = <X extends TfTensor>(t: X) => (kept.push(t), t);
  const constant = (name: string) => {
    const w = weights.tensors.get(name)!;
    return keep(tf.tensor(w.data, w.shape));
  };
  const variables: TfVariable[] = [];
  const factors = await model.readFactors();
  if (layout.normPlacement !== 'pre' || layout.mlp !== 'gated' || !layout.rotary || !layout.tiedHead) throw new Error('the TF.js decoder peer builds a tied Llama only');
  const layers = layout.layers.map((layer) => ({
    modules: Object.fromEntries(layer.modules.map((m) => {
      const f = factors.get(m.path)!;
      const sigma = tf.variable(tf.tensor(f.sigma, [m.rank]));
      variables.push(sigma);
      return [m.kind, { u: keep(tf.tensor(f.u, [m.dOut, m.rank])), v: keep(tf.tensor(f.v, [m.dIn, m.rank])), sigma }];
    })),
    attentionNorm: constant(layer.attentionNorm.weight),
    ffnNorm: constant(layer.ffnNorm.weight),
    eps: layer.attentionNorm.eps,
  }));
  const finalNorm = constant(layout.finalNorm!.weight);
  const word = constant(tokenEmbeddings(layout, 'the decoder benchmark').word.key);
  const table = ropeTable({ headDim, theta: layout.rotary.theta }, T);
  const half = headDim / 2;
  const cos = keep(tf.tensor(Float32Array.from({ length: T * half }, (_, i) => table[2 * i]), [1, T, 1, half]));
  const sin = keep(tf.tensor(Float32Array.from({ length: T * half }, (_, i) => table[2 * i + 1]), [1, T, 1, half]));
  const ids = keep(tf.tensor1d(Int32Array.from(batch.inputIds), 'int32'));
  const causal = Float32Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? -1e9 : 0));
  const maskBias = keep(tf.add(tf.tensor4d(causal, [1, 1, T, T]), tf.tensor4d(Float32Array.from(batch.attentionMask, (m) => (m ? 0 : -1e9)), [B, 1, 1, T])));
  // Position t predicts token t + 1: rows (b, t < T − 1) against labels (b, t + 1), −100 weighted 0.
  const rows = Int32Array.from({ length: B * (T - 1) }, (_, i) => Math.floor(i / (T - 1)) * T + (i % (T - 1)));
  const targets = Array.from(rows, (r) => labels[r + 1]);
  const predictRows = keep(tf.tensor1d(rows, 'int32'));
  const oneHot = keep(tf.oneHot(tf.tensor1d(Int32Array.from(targets, (t) => Math.max(t, 0)), 'int32'), tokenEmbeddings(layout, 'the decoder benchmark').word.rows));
  const lossWeights = keep(tf.tensor1d(Float32Array.from(targets, (t) => (t < 0 ? 0 : 1))));

  const rms = (x: TfTensor, w: TfTensor, eps: number) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w);
  const linear = (x: TfTensor, m: { u: TfTensor; v: TfTensor; sigma: TfVariable }) => tf.matMul(tf.mul(tf.matMul(x, m.v), m.sigma), m.u, false, true);
  const rope = (x: TfTensor) => {
    const [x1, x2] = tf.split(x, 2, -1);
    return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], -1);
  };
  // Query head h reads KV head h / group (a gather: TF.js's WebGPU tile reads back to the CPU).
  const kvIndex = keep(tf.tensor1d(Int32Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32'));
  const broadcast = (x: TfTensor) => tf.gather(x, kvIndex, 2);
  const toHeads = (x: TfTensor) => tf.transpose(x, [0, 2, 1, 3]);

  const loss = (): TfScalar => {
    let x = tf.gather(word, ids);
    for (const layer of layers) {
      const m = layer.modules;
      const n = rms(x, layer.attentionNorm, layer.eps);
      const q = toHeads(rope(tf.reshape(linear(n, m.q), [B, T, heads, headDim])));
      const k = toHeads(broadcast(rope(tf.reshape(linear(n, m.k), [B, T, kvHeads, headDim]))));
      const v = toHeads(broadcast(tf.reshape(linear(n, m.v), [B, T, kvHeads, headDim])));
      const probs = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(headDim)), maskBias));
      const context = tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [B * T, A]);
      const h = tf.add(x, linear(context, m.o));
      const n2 = rms(h, layer.ffnNorm, layer.eps);
      const gate = linear(n2, m.gate);
      x = tf.add(h, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(n2, m.up)), m.down));
    }
    const last = rms(x, finalNorm, layout.finalNorm!.eps);
    const logits = tf.matMul(tf.gather(last, predictRows), word, false, true);
    return tf.losses.softmaxCrossEntropy(oneHot, logits, lossWeights) as TfScalar;
  };
  return tfAdamTrainer(tf, loss, variables, kept);
}

/** KV-cached greedy decoding written with TF.js ops (the model as factored now: U·diag(Σ)·Vᵀ per
 * linear, Σ read from the GPU model): feed(ids) runs the new tokens against the cached K, V
 * (concatenated per layer, per KV head, after rotary) and returns the last token's logits. */
async function tfDecoder(tf: Tf, model: GpuModel, weights: ModelWeights, capacity: number) {
  const { layout } = weights;
  const { heads, kvHeads, headDim } = layout;
  const group = heads / kvHeads;
  const half = headDim / 2;
  const kept: TfTensor[] = [];
  const keep = <X extends TfTensor>(t: X) => (kept.push(t), t);
  const constant = (name: string) => keep(tf.tensor(weights.tensors.get(name)!.data, weights.tensors.get(name)!.shape));
  const factors = await model.readFactors();
  const layers = layout.layers.map((layer) => ({
    modules: Object.fromEntries(layer.modules.map((m) => {
      const f = factors.get(m.path)!;
      return [m.kind, { u: keep(tf.tensor(f.u, [m.dOut, m.rank])), v: keep(tf.tensor(f.v, [m.dIn, m.rank])), sigma: keep(tf.tensor(f.sigma, [m.rank])) }];
    })),
    attentionNorm: constant(layer.attentionNorm.weight),
    ffnNorm: constant(layer.ffnNorm.weight),
    eps: layer.attentionNorm.eps,
  }));
  const finalNorm = constant(layout.finalNorm!.weight);
  const word = constant(tokenEmbeddings(layout, 'the decoder benchmark').word.key);
  const table = ropeTable({ headDim, theta: layout.rotary!.theta }, capacity);
  const cosAll = keep(tf.tensor(Float32Array.from({ length: capacity * half }, (_, i) => table[2 * i]), [1, capacity, 1, half]));
  const sinAll = keep(tf.tensor(Float32Array.from({ length: capacity * half }, (_, i) => table[2 * i + 1]), [1, capacity, 1, half]));
  const kvIndex = keep(tf.tensor1d(Int32Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32'));
  const rms = (x: TfTensor, w: TfTensor, eps: number) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w);
  const linear = (x: TfTensor, m: { u: TfTensor; v: TfTensor; sigma: TfTensor }) => tf.matMul(tf.mul(tf.matMul(x, m.v), m.sigma), m.u, false, true);
  let caches: { k: TfTensor; v: TfTensor }[] = [];
  let length = 0;
  return {
    async feed(ids: number[]): Promise<Float32Array> {
      const n = ids.length;
      const start = length;
      const result = tf.tidy(() => {
        const cos = tf.slice(cosAll, [0, start, 0, 0], [1, n, 1, half]);
        const sin = tf.slice(sinAll, [0, start, 0, 0], [1, n, 1, half]);
        const rope = (x: TfTensor) => {
          const [x1, x2] = tf.split(x, 2, -1);
          return tf.concat([tf.sub(tf.mul(x1, cos), tf.mul(x2, sin)), tf.add(tf.mul(x2, cos), tf.mul(x1, sin))], -1);
        };
        const keys = start + n;
        const causal = Float32Array.from({ length: n * keys }, (_, i) => (i % keys > start + Math.floor(i / keys) ? -1e9 : 0));
        const mask = tf.tensor4d(causal, [1, 1, n, keys]);
        let x = tf.gather(word, tf.tensor1d(Int32Array.from(ids), 'int32'));
        const next: { k: TfTensor; v: TfTensor }[] = [];
        layers.forEach((layer, l) => {
          const m = layer.modules;
          const normed = rms(x, layer.attentionNorm, layer.eps);
          const q = tf.transpose(rope(tf.reshape(linear(normed, m.q), [1, n, heads, headDim])), [0, 2, 1, 3]);
          const kNew = rope(tf.reshape(linear(normed, m.k), [1, n, kvHeads, headDim]));
          const vNew = tf.reshape(linear(normed, m.v), [1, n, kvHeads, headDim]);
          const k = start ? tf.concat([caches[l].k, kNew], 1) : kNew;
          const v = start ? tf.concat([caches[l].v, vNew], 1) : vNew;
          next.push({ k: tf.keep(k), v: tf.keep(v) });
          const kh = tf.transpose(tf.gather(k, kvIndex, 2), [0, 2, 1, 3]);
          const vh = tf.transpose(tf.gather(v, kvIndex, 2), [0, 2, 1, 3]);
          const probs = tf.softmax(tf.add(tf.mul(tf.matMul(q, kh, false, true), 1 / Math.sqrt(headDim)), mask));
          const context = tf.reshape(tf.transpose(tf.matMul(probs, vh), [0, 2, 1, 3]), [n, heads * headDim]);
          const h = tf.add(x, linear(context, m.o));
          const n2 = rms(h, layer.ffnNorm, layer.eps);
          const gate = linear(n2, m.gate);
          x = tf.add(h, linear(tf.mul(tf.mul(gate, tf.sigmoid(gate)), linear(n2, m.up)), m.down));
        });
        const last = rms(tf.slice(x, [n - 1, 0], [1, -1]), finalNorm, layout.finalNorm!.eps);
        return { logits: tf.matMul(last, word, false, true), next };
      });
      for (const c of caches) c.k.dispose(), c.v.dispose();
      caches = result.next;
      length += n;
      const logits = (await result.logits.data()) as Float32Array;
      result.logits.dispose();
      return logits;
    },
    dispose() {
      for (const c of caches) c.k.dispose(), c.v.dispose();
      for (const t of kept) t.dispose();
    },
  };
}

/** Prefill `prompt`, then greedy tokens: seconds of the prefill and tokens/s of the decode steps,
 * and the tokens (the two implementations should choose the same ones). */
async function timeGeneration(feed: (ids: number[]) => Promise<Float32Array>, prompt: number[], newTokens: number) {
  const prefillStart = performance.now();
  let logits = await feed(prompt);
  const prefill = (performance.now() - prefillStart) / 1000;
  const tokens = [greedyToken(logits)];
  const start = performance.now();
  for (let i = 1; i < newTokens; i++) {
    logits = await feed([tokens[tokens.length - 1]]);
    tokens.push(greedyToken(logits));
  }
  return { prefill, perSecond: (newTokens - 1) / ((performance.now() - start) / 1000), tokens };
}

export async function runDecoderBench(gpu: Gpu, tf: Tf): Promise<void> {
  const { device } = gpu;
  const scale = decoderScale(gpu);
  const config = parseModelConfig(scale.config, 'benchmark config');
  const layout = describeModel(ARCHITECTURES.llama, config);
  const { batch: B, seq: T, repeats } = scale;
  const vocab = config.vocabSize;
  console.log(`\n## Decoder training step vs TF.js WebGPU + autograd (same device; ${scale.note}; Σ of all seven linears trained, head frozen; median of ${repeats})`);
  const weights = randomWeights(layout, 1);
  const model = await GpuModel.create(device, weights, config.dropout, { maxBatch: B, maxSeq: T, trains: () => true, factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu' });
  const optimizer = new Optimizer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  const batch = randomBatch(vocab, B, T, 2);
  const labels = causalLmLabels(batch.inputIds, batch.attentionMask);
  model.setBatch(batch, labels);
  submitPlan(device, model.lossPlan(B, T, false));
  const oursInitial = (await readTensor(device, model.loss))[0];
  // The peer reads Σ before our steps move it: both start from the same factors.
  const peer = await tfStep(tf, model, weights, batch, labels);
  const theirsInitial = await peer.loss();
  const ops = [...(await tunedTrainPlan(gpu, model, B, T)), ...optimizer.update];
  const ours = await median(repeats, async () => {
    const encoder = device.createCommandEncoder();
    encodePlan(encoder, ops);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  const oursLoss = (await readTensor(device, model.loss))[0];
  let theirsLoss = 0;
  const theirs = await median(repeats, async () => {
    theirsLoss = await peer.step();
  });
  peer.dispose();
  const tokens = B * T;
  const widths = [10, 8, 10, 10];
  // The same forward from the same factors: the initial losses agree to fp32 rounding, and the
  // same Adam steps keep them close.
  console.log(`tokens per step: ${tokens}; initial loss: ours ${oursInitial.toFixed(6)}, tfjs ${theirsInitial.toFixed(6)}; ` +
    `after ${repeats + 1} steps: ours ${oursLoss.toFixed(4)}, tfjs ${theirsLoss.toFixed(4)} (ln vocab = ${Math.log(vocab).toFixed(4)})`);
  console.log(formatRow(['', 'steps/s', 'tokens/s', 'ms/step'], widths));
  console.log(formatRow(['ours', (1 / ours).toFixed(2), Math.round(tokens / ours), (1000 * ours).toFixed(1)], widths));
  console.log(formatRow(['tfjs', (1 / theirs).toFixed(2), Math.round(tokens / theirs), (1000 * theirs).toFixed(1)], widths));
  console.log(`ratio ours/tfjs: ${(theirs / ours).toFixed(2)}×`);

  console.log(`\n## Generation with the KV cache vs the same cached decode in TF.js ops (greedy; the trained model; logits read back each token)`);
  const capacity = scale.prompt + scale.newTokens;
  const decoder = new GpuDecoder(model, { capacity, weights: 'tuned' });
  const prompt = Array.from(batch.inputIds.slice(0, scale.prompt));
  const oursGen = await timeGeneration((ids) => decoder.feed(ids), prompt, scale.newTokens);
  decoder.destroy();
  const peerDecoder = await tfDecoder(tf, model, weights, capacity);
  const theirsGen = await timeGeneration((ids) => peerDecoder.feed(ids), prompt, scale.newTokens);
  peerDecoder.dispose();
  const same = oursGen.tokens.filter((t, i) => t === theirsGen.tokens[i]).length;
  console.log(`${scale.prompt}-token prompt, ${scale.newTokens} new tokens; the same greedy token at ${same} of ${scale.newTokens} steps (random weights: near-ties may differ)`);
  console.log(formatRow(['', 'prefill ms', 'tokens/s', 'ms/token'], widths));
  for (const [label, g] of [['ours', oursGen], ['tfjs', theirsGen]] as const) {
    console.log(formatRow([label, (1000 * g.prefill).toFixed(1), g.perSecond.toFixed(1), (1000 / g.perSecond).toFixed(1)], widths));
  }
  console.log(`decode ratio ours/tfjs: ${(oursGen.perSecond / theirsGen.perSecond).toFixed(2)}× (prefill includes each side's first-call pipeline builds)`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# Decoder benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runDecoderBench(gpu, await tfOnDevice(gpu));
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
  process.exit(0);
}
