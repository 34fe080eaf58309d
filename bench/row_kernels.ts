// The row kernels whose workgroup reductions have a subgroup variant (src/kernels/reduction.ts):
// LayerNorm and RMSNorm forward and input-gradient, the attention softmax and its backward, at
// BERT-base shapes (4096 tokens of 768; 32 sequences × 12 heads × 128 keys), scaled down on a
// software adapter. Memory-bound ops: each row prints the bandwidth of the least traffic (every
// input read once, every output written once) of each variant the device runs, and the speed
// of the subgroup variant over the workgroup tree ('plain'). On a software adapter the figures
// say how SwiftShader runs them (and whether 'subgroup' beats the 'rows' it gets), not a GPU.
import type { Gpu } from '../src/gpu/device.ts';
import type { Dispatch } from '../src/gpu/dispatch.ts';
import { createTensor, uploadTensor } from '../src/gpu/tensor.ts';
import { timeDispatches } from '../src/gpu/timing.ts';
import { attentionSoftmax, attentionSoftmaxBackward } from '../src/kernels/attention.ts';
import { layerNormBackward, layerNormForward } from '../src/kernels/layernorm.ts';
import type { RowVariant } from '../src/kernels/reduction.ts';
import { rmsNormBackward, rmsNormForward } from '../src/kernels/rmsnorm.ts';
import { randomArray } from '../src/test/compare.ts';
import { record } from './figures.ts';
import { formatRow } from './peer.ts';

export async function runRowKernelBench(gpu: Gpu): Promise<void> {
  const { device } = gpu;
  const software = gpu.adapter.isSoftware;
  const [tokens, d, batch, heads, seq] = software ? [256, 384, 2, 12, 64] : [4096, 768, 32, 12, 128];
  // Dispatches per timed pass (one submit), and passes whose median is kept.
  const [perPass, passes] = software ? [2, 3] : [50, 7];
  const variants: RowVariant[] = [...(gpu.subgroups ? ['subgroup' as const] : []), 'workgroup', 'rows'];
  console.log(`\n## Row kernels by reduction variant (${software ? 'software adapter: ' : 'BERT-base: '}${tokens}×${d} norms, ` +
    `${batch}×${heads}×${seq}² softmax; median of ${passes} passes of ${perPass}${gpu.subgroups ? '' : '; no subgroups on this device'})`);
  const widths = [34, ...variants.map(() => 14), 10];
  console.log(formatRow(['op', ...variants.map((v) => `${v} GB/s`), 'sg/plain'], widths));

  const tensor = (n: number, seed: number, shape: number[]) => uploadTensor(device, Float32Array.from(randomArray(n, seed)), shape);
  const x = tensor(tokens * d, 1, [tokens, d]);
  const dy = tensor(tokens * d, 2, [tokens, d]);
  const gamma = tensor(d, 3, [d]);
  const beta = tensor(d, 4, [d]);
  const y = createTensor(device, [tokens, d]);
  const dx = createTensor(device, [tokens, d]);
  // The forwards, timed first, leave their mean and rstd here for the backwards.
  const mean = createTensor(device, [tokens]);
  const rstd = createTensor(device, [tokens]);
  const scoreCount = batch * heads * seq * seq;
  const probs = tensor(scoreCount, 5, [batch, heads, seq, seq]);
  const dScores = tensor(scoreCount, 6, [batch, heads, seq, seq]);
  const mask = uploadTensor(device, new Uint32Array(batch * seq).fill(1), [batch * seq], 'u32');
  const attention = { batch, heads, seq, headDim: 64, scale: 0.125 };
  const norm = { rows: tokens, d };

  const ops: [name: string, key: string, bytes: number, build: (variant: RowVariant) => Dispatch[]][] = [
    [`layernorm forward [${tokens}×${d}]`, 'layernorm.forward', 8 * tokens * d,
      (variant) => [layerNormForward(device, { ...norm, x, gamma, beta, y, mean, rstd, eps: 1e-12, variant })]],
    [`layernorm backward dx [${tokens}×${d}]`, 'layernorm.backward_dx', 12 * tokens * d,
      (variant) => layerNormBackward(device, { ...norm, dy, x, gamma, mean, rstd, dx, variant })],
    [`rmsnorm forward [${tokens}×${d}]`, 'rmsnorm.forward', 8 * tokens * d,
      (variant) => [rmsNormForward(device, { ...norm, x, weight: gamma, y, rstd, eps: 1e-5, variant })]],
    [`rmsnorm backward dx [${tokens}×${d}]`, 'rmsnorm.backward_dx', 12 * tokens * d,
      (variant) => rmsNormBackward(device, { ...norm, dy, x, weight: gamma, rstd, dx, variant })],
    [`attention softmax [${batch}×${heads}×${seq}²]`, 'softmax.forward', 8 * scoreCount,
      (variant) => [attentionSoftmax(device, { ...attention, probs, mask, softmaxVariant: variant })]],
    [`softmax backward [${batch}×${heads}×${seq}²]`, 'softmax.backward', 12 * scoreCount,
      (variant) => [attentionSoftmaxBackward(device, { ...attention, probs, dScores, softmaxVariant: variant })]],
  ];
  for (const [name, key, bytes, build] of ops) {
    const seconds: Partial<Record<RowVariant, number>> = {};
    for (const variant of variants) {
      const dispatches = build(variant);
      await timeDispatches(gpu, dispatches, 1); // compiles the pipeline, warms the caches
      const times: number[] = [];
      for (let i = 0; i < passes; i++) times.push((await timeDispatches(gpu, dispatches, perPass)).seconds / perPass);
      seconds[variant] = times.sort((a, b) => a - b)[Math.floor(passes / 2)];
      record(`rows.${key}.${variant}.gbps`, bytes / seconds[variant] / 1e9);
    }
    const ratio = seconds.subgroup === undefined ? '–' : (seconds.workgroup! / seconds.subgroup).toFixed(2);
    console.log(formatRow([name, ...variants.map((v) => (bytes / seconds[v]! / 1e9).toPrecision(3)), ratio], widths));
  }
  for (const t of [x, dy, gamma, beta, y, dx, mean, rstd, probs, dScores, mask]) t.buffer.destroy();
}
