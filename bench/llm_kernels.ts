// The decoder-LLM kernels (RMSNorm, rotary embeddings, the SiLU-gated product, the KV broadcast
// and the causal-LM loss) against the same ops written in TF.js's WebGPU backend on the same
// device, at SmolLM2-135M's shapes (hidden 576, 9 heads of 64 on 3 KV heads, MLP 1536, vocabulary
// 49,152), 2048 tokens; scaled down on a software adapter. These ops are memory-bound: each row
// prints the bandwidth of the least traffic the op needs (every input read once, every output
// written once), ours and TF.js's, and our speed-up.
import type { Gpu } from '../src/gpu/device.ts';
import { runDispatches, type Dispatch } from '../src/gpu/dispatch.ts';
import { createTensor, uploadTensor } from '../src/gpu/tensor.ts';
import { gatedForward } from '../src/kernels/activation.ts';
import { causalLmLoss } from '../src/kernels/causal_lm_loss.ts';
import { kvBroadcastForward } from '../src/kernels/kv_broadcast.ts';
import { rmsNormForward } from '../src/kernels/rmsnorm.ts';
import { createRopeTable, ropeForward, ropeTable } from '../src/kernels/rope.ts';
import { randomArray } from '../src/test/compare.ts';
import { formatRow, median, type Tf } from './peer.ts';

type TfTensor = ReturnType<Tf['zeros']>;

interface LlmShape {
  tokens: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  vocab: number;
  seq: number;
}

function shapes(gpu: Gpu): { shape: LlmShape; note: string } {
  const full = { tokens: 2048, hidden: 576, heads: 9, kvHeads: 3, headDim: 64, intermediate: 1536, vocab: 49152, seq: 512 };
  if (!gpu.adapter.isSoftware) return { shape: full, note: 'SmolLM2-135M shapes, 2048 tokens' };
  return { shape: { ...full, tokens: 128, seq: 64, vocab: 8192 }, note: 'software adapter: 128 tokens, vocabulary 8192' };
}

export async function runLlmKernelBench(gpu: Gpu, tf: Tf): Promise<void> {
  const { device } = gpu;
  const { shape: s, note } = shapes(gpu);
  const repeats = gpu.adapter.isSoftware ? 3 : 20;
  console.log(`\n## Decoder-LLM kernels vs TF.js WebGPU (same device; ${note}; median of ${repeats})`);
  const widths = [36, 12, 12, 8];
  console.log(formatRow(['op', 'ours GB/s', 'tfjs GB/s', 'ratio'], widths));
  const data = (n: number, seed: number) => Float32Array.from(randomArray(n, seed));
  const row = async (name: string, bytes: number, ours: Dispatch[], theirs: () => TfTensor[]) => {
    const t = await median(repeats, async () => {
      runDispatches(device, ours);
      await device.queue.onSubmittedWorkDone();
    });
    const u = await median(repeats, async () => {
      const outs = theirs();
      await Promise.all(outs.map((o) => o.data()));
      outs.forEach((o) => o.dispose());
    });
    console.log(formatRow([name, (bytes / t / 1e9).toPrecision(3), (bytes / u / 1e9).toPrecision(3), (u / t).toFixed(2)], widths));
  };

  // RMSNorm forward: read x, write y.
  const { tokens, hidden, heads, kvHeads, headDim, intermediate, vocab, seq } = s;
  const x = data(tokens * hidden, 1);
  const w = data(hidden, 2);
  const xTf = tf.tensor2d(x, [tokens, hidden]);
  const wTf = tf.tensor1d(w);
  await row(`rmsnorm [${tokens}×${hidden}]`, 8 * tokens * hidden,
    [rmsNormForward(device, { x: uploadTensor(device, x, [tokens, hidden]), weight: uploadTensor(device, w, [hidden]), y: createTensor(device, [tokens, hidden]), rstd: createTensor(device, [tokens]), rows: tokens, d: hidden, eps: 1e-5 })],
    () => [tf.tidy(() => tf.mul(wTf, tf.mul(xTf, tf.rsqrt(tf.add(tf.mean(tf.square(xTf), -1, true), 1e-5)))))]);

  // Rotary embeddings on q: read q, write the rotated q (the table is small and cached).
  const half = headDim / 2;
  const q = data(tokens * heads * headDim, 3);
  const config = { headDim, theta: 100000 };
  const table = ropeTable(config, seq);
  const cos = tf.tensor3d(Float32Array.from({ length: seq * half }, (_, i) => table[2 * i]), [seq, 1, half]);
  const sin = tf.tensor3d(Float32Array.from({ length: seq * half }, (_, i) => table[2 * i + 1]), [seq, 1, half]);
  const qTf = tf.tensor4d(q, [tokens / seq, seq, heads, headDim]);
  await row(`rope q [${tokens}×${heads}×${headDim}]`, 8 * q.length,
    [ropeForward(device, { x: uploadTensor(device, q, [tokens, heads * headDim]), y: createTensor(device, [tokens, heads * headDim]), table: createRopeTable(device, config, seq), tokens, seq, heads, headDim })],
    () => [tf.tidy(() => {
      const [a, b] = tf.split(qTf, 2, -1);
      return tf.concat([tf.sub(tf.mul(a, cos), tf.mul(b, sin)), tf.add(tf.mul(b, cos), tf.mul(a, sin))], -1);
    })]);

  // KV broadcast of k: read [tokens, kvHeads, d], write [tokens, heads, d].
  const k = data(tokens * kvHeads * headDim, 4);
  const kTf = tf.tensor3d(k, [tokens, kvHeads, headDim]);
  const group = heads / kvHeads;
  const headIndex = tf.tensor1d(Int32Array.from({ length: heads }, (_, h) => Math.floor(h / group)), 'int32');
  await row(`kv broadcast [${tokens}×${kvHeads}→${heads}×${headDim}]`, 4 * (k.length + tokens * heads * headDim),
    [kvBroadcastForward(device, { kv: uploadTensor(device, k, [tokens, kvHeads * headDim]), out: createTensor(device, [tokens, heads * headDim]), tokens, heads, kvHeads, headDim })],
    () => [tf.gather(kTf, headIndex, 1)]);

  // Gated MLP product silu(g) ⊙ u: read g and u, write h.
  const n = tokens * intermediate;
  const g = data(n, 5);
  const u = data(n, 6);
  const gTf = tf.tensor1d(g);
  const uTf = tf.tensor1d(u);
  await row(`silu(g) ⊙ u [${tokens}×${intermediate}]`, 12 * n,
    [gatedForward(device, { gate: uploadTensor(device, g, [n]), up: uploadTensor(device, u, [n]), h: createTensor(device, [n]), n, kind: 'silu' })],
    () => [tf.tidy(() => tf.mul(tf.mul(gTf, tf.sigmoid(gTf)), uTf))]);

  // Causal-LM loss with its gradient: read the logits, write dLogits (ours writes them in place,
  // so each timed run starts from the previous run's dLogits: the same traffic and arithmetic).
  const logits = data(tokens * vocab, 7).map((v) => 3 * v);
  const labels = Int32Array.from({ length: tokens }, (_, i) => (i * 7919) % vocab);
  const logitsTf = tf.tensor2d(logits, [tokens, vocab]);
  const batch = tokens / seq;
  const targets = Int32Array.from({ length: tokens }, (_, i) => (i % seq === seq - 1 ? 0 : labels[i + 1]));
  const keep = tf.tensor2d(Float32Array.from({ length: tokens }, (_, i) => (i % seq === seq - 1 ? 0 : 1)), [tokens, 1]);
  const count = tokens - batch;
  const onehot = tf.oneHot(tf.tensor1d(targets, 'int32'), vocab);
  await row(`causal-LM loss + dLogits [${tokens}×${vocab}]`, 8 * tokens * vocab,
    causalLmLoss(device, { logits: uploadTensor(device, logits, [tokens, vocab]), labels: uploadTensor(device, labels, [tokens], 'i32'), rowLoss: createTensor(device, [tokens]), loss: createTensor(device, [2]), batch, seq, vocab }),
    () => tf.tidy(() => {
      const logp = tf.logSoftmax(logitsTf);
      const loss = tf.div(tf.neg(tf.sum(tf.mul(tf.mul(logp, onehot), keep))), count);
      return [loss, tf.div(tf.mul(tf.sub(tf.exp(logp), onehot), keep), count)];
    }));
}
