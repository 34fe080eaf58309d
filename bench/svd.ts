// Thin SVD of BERT-base's weight shapes (768×768 for q, k, v, o; 3072×768 for f1 and its
// transpose for f2 — the kernel works on the taller orientation, so all 24 MLP matrices share one
// batch), scaled to 1/4 on a software adapter. Times the matrices one at a time (svd) and
// batched per shape (svdBatch: one dispatch per Jacobi round for the whole batch), wall clock
// with readbacks and the SvdReport included, beside the float64 reference on the CPU, and
// extrapolates to BERT-base's 72 matrices (48 square + 24 MLP).
// Standalone: node --import ./scripts/register-raw.mjs bench/svd.ts
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { uploadTensor, type Tensor } from '../src/gpu/tensor.ts';
import { svd, svdBatch, type SvdOutput } from '../src/kernels/svd.ts';
import { svd as svdRef } from '../src/kernels/svd.ref.ts';
import { randomArray } from '../src/test/compare.ts';
import { record } from './figures.ts';
import { formatRow } from './peer.ts';

export async function runSvdBench(gpu: Gpu): Promise<void> {
  const { device } = gpu;
  const software = gpu.adapter.isSoftware;
  const scale = software ? 4 : 1;
  // On a GPU the batch is the model's whole group; one at a time is sampled on 4 of them. On
  // SwiftShader both run on 4 (a 192×192 matrix takes seconds there).
  const shapes = [
    { name: 'q,k,v,o', rows: 768 / scale, cols: 768 / scale, count: 48 },
    { name: 'f1,f2', rows: 3072 / scale, cols: 768 / scale, count: 24 },
  ];
  const sample = 4;
  console.log(`\n## Thin SVD, one-sided Jacobi (${scale === 1 ? 'BERT-base shapes' : `software adapter: shapes scaled by 1/${scale}`})`);
  const widths = [16, 6, 7, 12, 12, 8, 10, 8, 9, 9];
  console.log(formatRow(['shape', 'batch', 'sweeps', 'one-by-one s', 'batched s', 'speedup', 'f64 CPU s', 'recon', 'orthoU', 'orthoV'], widths));
  let oneByOne = 0;
  let batched = 0;
  for (const { name, rows, cols, count } of shapes) {
    const batch = software ? sample : count;
    // Random entries of BERT's scale (std ≈ 0.04); f2's are the transposed shape, as in the model.
    const matrices = Array.from({ length: batch }, (_, i) => {
      const [r, c] = i % 2 && rows !== cols ? [cols, rows] : [rows, cols];
      const a = Float64Array.from(Float32Array.from(randomArray(r * c, 1000 * i + r + c, 0.07)));
      return { a, w: uploadTensor(device, a, [r, c]), rows: r, cols: c };
    });
    // Compile the pipelines on a two-column matrix of the same height.
    const m = Math.max(rows, cols);
    await svd(device, { w: uploadTensor(device, matrices[0].a.subarray(0, 2 * m), [m, 2]), rows: m, cols: 2 });
    const destroy = (outs: SvdOutput[]) => outs.forEach((o) => [o.u, o.s, o.v].forEach((t: Tensor) => t.buffer.destroy()));

    let start = performance.now();
    const alone: SvdOutput[] = [];
    for (const x of matrices.slice(0, sample)) alone.push(await svd(device, x));
    const aloneSeconds = (performance.now() - start) / 1000 / sample;
    start = performance.now();
    const together = await svdBatch(device, matrices);
    const batchedSeconds = (performance.now() - start) / 1000 / batch;
    const refStart = performance.now();
    svdRef(matrices[0].a, matrices[0].rows, matrices[0].cols);
    const refSeconds = (performance.now() - refStart) / 1000;
    oneByOne += count * aloneSeconds;
    batched += count * batchedSeconds;
    const worst = (key: 'reconstruction' | 'orthoU' | 'orthoV') => Math.max(...together.map((o) => o.report[key])).toExponential(1);
    const sweeps = together.map((o) => o.sweeps);
    console.log(
      formatRow(
        [`${name} ${rows}×${cols}`, batch, `${Math.min(...sweeps)}–${Math.max(...sweeps)}`, aloneSeconds.toFixed(3), batchedSeconds.toFixed(3),
          `${(aloneSeconds / batchedSeconds).toFixed(2)}×`, refSeconds.toFixed(2), worst('reconstruction'), worst('orthoU'), worst('orthoV')],
        widths,
      ),
    );
    record(`svd.${rows}x${cols}.one_by_one.seconds`, aloneSeconds);
    record(`svd.${rows}x${cols}.seconds`, batchedSeconds);
    destroy(alone);
    destroy(together);
    matrices.forEach((x) => x.w.buffer.destroy());
  }
  const what = scale === 1 ? "BERT-base's 72 matrices" : `72 matrices at 1/${scale} scale`;
  record('svd.72.one_by_one.seconds', oneByOne);
  record('svd.72.seconds', batched);
  console.log(`${what}: one by one ${oneByOne.toFixed(1)} s, batched ${batched.toFixed(1)} s (${(oneByOne / batched).toFixed(2)}×), extrapolated per matrix` +
    ' (PyTorch torch.linalg.svd on an H200: 2.6 s at full size)');
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# SVD benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runSvdBench(gpu);
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
  process.exit(0);
}
