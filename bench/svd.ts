// Thin SVD of BERT-base's weight shapes (768×768 for q, k, v, o; 3072×768 for f1 and its
// transpose for f2 — the kernel works on the taller orientation, so both cost the same), scaled
// to 1/4 on a software adapter. Prints seconds per matrix on the GPU (wall clock, readbacks
// and the SvdReport included), the float64 reference on the CPU as the peer, their ratio, and
// the extrapolated time for BERT-base's 72 matrices (48 square + 24 of 3072×768).
// Standalone: node --import ./scripts/register-raw.mjs bench/svd.ts
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { uploadTensor } from '../src/gpu/tensor.ts';
import { svd } from '../src/kernels/svd.ts';
import { svd as svdRef } from '../src/kernels/svd.ref.ts';
import { randomArray } from '../src/test/compare.ts';
import { formatRow } from './peer.ts';

export async function runSvdBench(gpu: Gpu): Promise<void> {
  const { device } = gpu;
  const scale = gpu.adapter.isSoftware ? 4 : 1;
  const shapes = [
    { rows: 768 / scale, cols: 768 / scale, count: 48 },
    { rows: 3072 / scale, cols: 768 / scale, count: 24 },
  ];
  console.log(`\n## Thin SVD, one-sided Jacobi (${scale === 1 ? 'BERT-base shapes' : `software adapter: shapes scaled by 1/${scale}`})`);
  const widths = [12, 7, 10, 10, 8, 10, 9, 9];
  console.log(formatRow(['shape', 'sweeps', 'GPU s', 'f64 CPU s', 'CPU/GPU', 'recon', 'orthoU', 'orthoV'], widths));
  let total = 0;
  for (const { rows, cols, count } of shapes) {
    // A trained-like spectrum: random Gaussian-ish entries of BERT's scale (std ≈ 0.04).
    const a = Float64Array.from(Float32Array.from(randomArray(rows * cols, rows + cols, 0.07)));
    const w = uploadTensor(device, a, [rows, cols]);
    // Compile the pipelines (jacobi_round's workgroup size depends on the column length) on a
    // two-column matrix of the same height.
    await svd(device, { w: uploadTensor(device, a.subarray(0, 2 * Math.max(rows, cols)), [Math.max(rows, cols), 2]), rows: Math.max(rows, cols), cols: 2 });
    const start = performance.now();
    const out = await svd(device, { w, rows, cols });
    const gpuSeconds = (performance.now() - start) / 1000;
    const refStart = performance.now();
    svdRef(a, rows, cols);
    const refSeconds = (performance.now() - refStart) / 1000;
    total += count * gpuSeconds;
    const { reconstruction, orthoU, orthoV } = out.report;
    console.log(
      formatRow(
        [`${rows}×${cols}`, out.sweeps, gpuSeconds.toFixed(3), refSeconds.toFixed(2), `${(refSeconds / gpuSeconds).toFixed(2)}×`,
          reconstruction.toExponential(1), orthoU.toExponential(1), orthoV.toExponential(1)],
        widths,
      ),
    );
    for (const t of [w, out.u, out.s, out.v]) t.buffer.destroy();
  }
  const what = scale === 1 ? "BERT-base's 72 matrices" : `72 matrices at 1/${scale} scale`;
  console.log(`${what}: ${total.toFixed(1)} s extrapolated (PyTorch torch.linalg.svd on an H200: 2.6 s at full size)`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# SVD benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runSvdBench(gpu);
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
  process.exit(0);
}
