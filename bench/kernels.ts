// Matmul and the factored linear (forward + backward) against TF.js's WebGPU backend on the same
// device, at BERT-base shapes (4096 tokens, 768×768 and 3072×768 weights), scaled down on a
// software adapter. Prints GFLOP/s of both, our ratio, and with the card's fp32 peak given
// (--peak-tflops, e.g. 67 for an H200's non-tensor fp32) the share of it we reach. The matmul
// kernels are timed on a GPU: the tiled one in each candidate tile, and 'direct' (what software
// adapters get); the training step uses the one measured fastest per product (matmul_tuning.ts).
import type { Gpu } from '../src/gpu/device.ts';
import { runDispatches, type Dispatch } from '../src/gpu/dispatch.ts';
import { createTensor, uploadTensor } from '../src/gpu/tensor.ts';
import { factoredLinearBackward, factoredLinearForward } from '../src/kernels/factored_linear.ts';
import { matmul } from '../src/kernels/matmul.ts';
import { kernelName, tileName, type MatmulKernel } from '../src/kernels/matmul_tiles.ts';
import { TUNING_CANDIDATES } from '../src/kernels/matmul_tuning.ts';
import { randomArray } from '../src/test/compare.ts';
import { record } from './figures.ts';
import { formatRow, median, type Tf } from './peer.ts';

interface Shape {
  tokens: number;
  dIn: number;
  dOut: number;
}

export function benchShapes(gpu: Gpu): { shapes: Shape[]; note: string } {
  const full = [
    { tokens: 4096, dIn: 768, dOut: 768 },
    { tokens: 4096, dIn: 768, dOut: 3072 },
    { tokens: 4096, dIn: 3072, dOut: 768 },
  ];
  if (!gpu.adapter.isSoftware) return { shapes: full, note: 'BERT-base shapes' };
  // SwiftShader runs ~1 GFLOP/s: 1/16 of the tokens and half the widths keep a run in minutes.
  return { shapes: full.map((s) => ({ tokens: 256, dIn: s.dIn / 2, dOut: s.dOut / 2 })), note: 'software adapter: 256 tokens, widths halved' };
}

async function timeOurs(gpu: Gpu, dispatches: Dispatch[], repeats: number): Promise<number> {
  return median(repeats, async () => {
    runDispatches(gpu.device, dispatches);
    await gpu.device.queue.onSubmittedWorkDone();
  });
}

async function timeTf(repeats: number, op: () => TF_Tensor[]): Promise<number> {
  return median(repeats, async () => {
    const outs = op();
    await Promise.all(outs.map((o) => o.data()));
    outs.forEach((o) => o.dispose());
  });
}
type TF_Tensor = ReturnType<Tf['zeros']>;

export async function runKernelBench(gpu: Gpu, tf: Tf, peakTflops?: number): Promise<void> {
  const { device } = gpu;
  const { shapes, note } = benchShapes(gpu);
  const repeats = gpu.adapter.isSoftware ? 3 : 20;
  console.log(`\n## Kernels vs TF.js WebGPU (same device; ${note}; median of ${repeats}${peakTflops ? `; % of ${peakTflops} TFLOP/s fp32 peak` : ''})`);
  const widths = [42, 12, 12, 8, 9];
  console.log(formatRow(['op [tokens×dIn→dOut]', 'ours GFLOP/s', 'tfjs GFLOP/s', 'ratio', '% peak'], widths));
  const row = (label: string, key: string, flops: number, ours: number, theirs: number) => {
    const gflops = flops / ours / 1e9;
    record(`${key}.gflops`, gflops);
    record(`${key}.tfjs.gflops`, flops / theirs / 1e9);
    const share = peakTflops ? `${((100 * gflops) / (1000 * peakTflops)).toFixed(1)}%` : '–';
    if (peakTflops) record(`${key}.percent_of_peak`, (100 * gflops) / (1000 * peakTflops));
    console.log(formatRow([label, gflops.toFixed(2), (flops / theirs / 1e9).toFixed(2), (theirs / ours).toFixed(2), share], widths));
  };
  for (const s of shapes) {
    const dims = `${s.tokens}x${s.dIn}x${s.dOut}`;
    const r = Math.min(s.dIn, s.dOut);
    const x = uploadTensor(device, randomArray(s.tokens * s.dIn, 1), [s.tokens, s.dIn]);
    const w = uploadTensor(device, randomArray(s.dOut * s.dIn, 2, 0.05), [s.dOut, s.dIn]);
    const y = createTensor(device, [s.tokens, s.dOut]);
    const f32 = (data: Float64Array) => Float32Array.from(data);
    const xTf = tf.tensor2d(f32(randomArray(s.tokens * s.dIn, 1)), [s.tokens, s.dIn]);
    const wTf = tf.tensor2d(f32(randomArray(s.dOut * s.dIn, 2, 0.05)), [s.dOut, s.dIn]);

    // Dense y = x·Wᵀ.
    const flops = 2 * s.tokens * s.dIn * s.dOut;
    const theirs = await timeTf(repeats, () => [tf.matMul(xTf, wTf, false, true)]);
    let best = Infinity;
    // A GPU gets every kernel the tuner chooses among timed (the sweep says which tile suits the
    // card); a software adapter only the direct one it runs (the tiled ones' barriers make them
    // ~10× slower there, minutes at these shapes).
    const kernels: readonly MatmulKernel[] = gpu.adapter.isSoftware ? ['direct'] : TUNING_CANDIDATES;
    for (const kernel of kernels) {
      const forced = kernel === 'direct' ? { variant: 'direct' as const } : { tile: kernel };
      const ours = await timeOurs(gpu, [matmul(device, { m: s.tokens, n: s.dOut, k: s.dIn, a: x, b: w, transB: true, out: y, ...forced })], repeats);
      best = Math.min(best, ours);
      const name = kernel === 'direct' ? 'direct' : `tiled.${tileName(kernel)}`;
      row(`matmul ${kernelName(kernel)} x·Wᵀ [${s.tokens}×${s.dIn}→${s.dOut}]`, `matmul.${dims}.${name}`, flops, ours, theirs);
    }
    // The faster variant under the name PyTorch's figure shares.
    record(`matmul.${dims}.gflops`, flops / best / 1e9);

    // Factored forward + backward: t = x·V, y = (t⊙Σ)·Uᵀ + b; h = g·U, dΣ, db, dx = (h⊙Σ)·Vᵀ.
    const u = uploadTensor(device, randomArray(s.dOut * r, 3, 0.05), [s.dOut, r]);
    const v = uploadTensor(device, randomArray(s.dIn * r, 4, 0.05), [s.dIn, r]);
    const sigma = uploadTensor(device, randomArray(r, 5), [r]);
    const bias = uploadTensor(device, randomArray(s.dOut, 6), [s.dOut]);
    const t = createTensor(device, [s.tokens, r]);
    const h = createTensor(device, [s.tokens, r]);
    const g = uploadTensor(device, randomArray(s.tokens * s.dOut, 7), [s.tokens, s.dOut]);
    const dx = createTensor(device, [s.tokens, s.dIn]);
    const dSigma = createTensor(device, [r]);
    const dBias = createTensor(device, [s.dOut]);
    const shape = { n: s.tokens, dIn: s.dIn, dOut: s.dOut, r };
    const factored = [
      ...factoredLinearForward(device, { ...shape, x, u, sigma, v, bias, t, y }),
      ...factoredLinearBackward(device, { ...shape, g, t, u, sigma, v, h, dSigma, dBias, dx }),
    ];
    const factoredFlops = 4 * s.tokens * r * (s.dIn + s.dOut);
    const oursF = await timeOurs(gpu, factored, repeats);
    const uTf = tf.tensor2d(f32(randomArray(s.dOut * r, 3, 0.05)), [s.dOut, r]);
    const vTf = tf.tensor2d(f32(randomArray(s.dIn * r, 4, 0.05)), [s.dIn, r]);
    const sTf = tf.tensor1d(f32(randomArray(r, 5)));
    const bTf = tf.tensor1d(f32(randomArray(s.dOut, 6)));
    const gTf = tf.tensor2d(f32(randomArray(s.tokens * s.dOut, 7)), [s.tokens, s.dOut]);
    const theirsF = await timeTf(repeats, () =>
      tf.tidy(() => {
        const tt = tf.matMul(xTf, vTf);
        const yy = tf.add(tf.matMul(tf.mul(tt, sTf), uTf, false, true), bTf);
        const hh = tf.matMul(gTf, uTf);
        const dS = tf.sum(tf.mul(hh, tt), 0);
        const dB = tf.sum(gTf, 0);
        const dX = tf.matMul(tf.mul(hh, sTf), vTf, false, true);
        return [yy, dS, dB, dX];
      }),
    );
    row(`factored fwd+bwd [${s.tokens}×${s.dIn}→${s.dOut}]`, `factored.${dims}`, factoredFlops, oursF, theirsF);
    for (const tensor of [x, w, y, u, v, sigma, bias, t, h, g, dx, dSigma, dBias]) tensor.buffer.destroy();
    for (const tensor of [xTf, wTf, uTf, vTf, sTf, bTf, gTf]) tensor.dispose();
  }
}
