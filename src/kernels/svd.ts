// GPU wrapper for shaders/svd.wgsl; the float64 reference of the same name is svd.ref.ts.
// Thin SVD of a weight already on the GPU by one-sided Jacobi in fp32 (see the shader's header).
// It runs once per weight when a model is factored, not per step, so it allocates freely and
// waits on one small readback per sweep (the convergence test). svdBatch runs same-shape
// matrices together, one dispatch per Jacobi round for the whole batch.
import code from '../../shaders/svd.wgsl?raw';
import { ceilDiv, makeDispatch, runDispatches, type Binding, type Dispatch } from '../gpu/dispatch.ts';
import { createBuffer, GpuBuffers } from '../gpu/buffers.ts';
import { readBuffer } from '../gpu/readback.ts';
import { createParams, createTensor, view, VIEW_ALIGNMENT_ELEMENTS, type Tensor } from '../gpu/tensor.ts';
import { matmul } from './matmul.ts';

export interface SvdArgs {
  /** rows×cols, row-major; left untouched. */
  w: Tensor;
  rows: number;
  cols: number;
  /** Converged when no column pair has |cos ∠| above this (default SVD_TOL). */
  tol?: number;
  /** Give up after this many sweeps even if not converged (default 40). */
  maxSweeps?: number;
}

export interface SvdReport {
  /** ‖W − U·diag(S)·Vᵀ‖_F / ‖W‖_F */
  reconstruction: number;
  /** max |UᵀU − I| */
  orthoU: number;
  /** max |VᵀV − I| */
  orthoV: number;
}

export interface SvdOutput {
  /** rows×r, row-major, r = min(rows, cols). */
  u: Tensor;
  /** r singular values, descending. */
  s: Tensor;
  /** cols×r, row-major. */
  v: Tensor;
  /** Sweeps run; equals maxSweeps when the tolerance was not reached. */
  sweeps: number;
  report: SvdReport;
}

/**
 * Converged |cos| of every column pair. fp32 dot products over a column carry relative errors
 * of a few ulp (sequential per thread, then a tree), so an orthogonal pair's computed |cos|
 * sits near 1e-7; 1e-6 is met in the same sweep count as 4e-6 (quadratic convergence) and
 * bounds max|UᵀU − I| at about 1e-6.
 */
export const SVD_TOL = 1e-6;
const DEFAULT_MAX_SWEEPS = 40;
const WG = 64; // the shader's workgroup size for rank_sort and the reductions
const TILE = 16;
// Uniform-buffer bindings must start at multiples of minUniformBufferOffsetAlignment (≤ 256).
const ROUND_STRIDE = 256;

/** Thin SVD of one matrix: svdBatch of a batch of one. */
export async function svd(device: GPUDevice, args: SvdArgs): Promise<SvdOutput> {
  const [out] = await svdBatch(device, [args], args);
  return out;
}

export interface SvdBatchOptions {
  tol?: number;
  maxSweeps?: number;
}

/**
 * Thin SVDs of many matrices, results in input order. Matrices with the same working shape
 * (max(rows, cols) × min(rows, cols): a 3072×768 f1 and a 768×3072 f2 share one) run their Jacobi
 * rounds together, one dispatch per round for the whole group, as many per group as one storage
 * binding holds. Each matrix's factors equal svd()'s of it alone: a matrix that has converged
 * rotates nothing while the rest of its group goes on.
 */
export async function svdBatch(device: GPUDevice, matrices: readonly SvdArgs[], options: SvdBatchOptions = {}): Promise<SvdOutput[]> {
  const groups = new Map<string, number[]>();
  matrices.forEach(({ w, rows, cols }, index) => {
    if (w.shape.reduce((a, b) => a * b, 1) !== rows * cols) throw new Error(`svd: tensor [${w.shape}] is not ${rows}×${cols}`);
    const n = Math.min(rows, cols);
    if (n < 1) throw new Error(`svd: empty ${rows}×${cols} matrix`);
    if (n > 65535) throw new Error(`svd: r = ${n} exceeds one workgroup per column (65535)`);
    const key = `${Math.max(rows, cols)}×${n}`;
    groups.set(key, [...(groups.get(key) ?? []), index]);
  });
  const outputs: SvdOutput[] = new Array(matrices.length);
  for (const indices of groups.values()) {
    const { rows, cols } = matrices[indices[0]];
    const perChunk = Math.max(1, Math.min(65535, Math.floor(bindingLimit(device) / (paddedWords(rows * cols) * 4))));
    for (let at = 0; at < indices.length; at += perChunk) {
      const chunk = indices.slice(at, at + perChunk);
      const results = await svdSameShape(device, chunk.map((i) => matrices[i]), options);
      chunk.forEach((i, k) => (outputs[i] = results[k]));
    }
  }
  return outputs;
}

/** Words rounded up to a whole number of 256-byte storage-view alignments. */
function paddedWords(words: number): number {
  return Math.ceil(words / VIEW_ALIGNMENT_ELEMENTS) * VIEW_ALIGNMENT_ELEMENTS;
}

function bindingLimit(device: GPUDevice): number {
  return Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
}

/** One group: every matrix has the working shape m×n (n columns of length m). */
async function svdSameShape(device: GPUDevice, matrices: readonly SvdArgs[], options: SvdBatchOptions): Promise<SvdOutput[]> {
  const tol = options.tol ?? SVD_TOL;
  const maxSweeps = options.maxSweeps ?? DEFAULT_MAX_SWEEPS;
  const count = matrices.length;
  const m = Math.max(matrices[0].rows, matrices[0].cols);
  const n = Math.min(matrices[0].rows, matrices[0].cols);
  // Matrix i's working columns start at i·gStride in G, its rotations at i·vStride in V: both
  // multiples of 64 words, so each matrix is also a storage view for the per-matrix passes.
  const gStride = paddedWords(n * m);
  const vStride = paddedWords(n * n);
  const nStride = paddedWords(n);
  const g = createTensor(device, [count * gStride], 'f32', 'svd G');
  const vAcc = createTensor(device, [count * vStride], 'f32', 'svd V');
  const maxCos = createTensor(device, [count], 'u32', 'svd max |cos|');
  const sigmaRaw = createTensor(device, [count * nStride], 'f32', 'svd column norms');
  const order = createTensor(device, [count * nStride], 'u32', 'svd order');
  const uniforms: GPUBuffer[] = [];
  const pass = (entryPoint: string, fields: number[], bindings: Binding[], workgroups: [number, number?]): Dispatch => {
    const params = createParams(device, fields.map((x) => ['u32', x] as const));
    uniforms.push(params);
    const [dst, ...rest] = bindings;
    return makeDispatch(device, { label: `svd ${entryPoint}`, code, entryPoint, bindings: [dst, params, ...rest], workgroups });
  };
  const gOf = (i: number) => view(g, i * gStride, [n, m]);
  const vOf = (i: number) => view(vAcc, i * vStride, [n, n]);
  const sigmaOf = (i: number) => view(sigmaRaw, i * nStride, [n]);
  const orderOf = (i: number) => view(order, i * nStride, [n]);

  const setup: Dispatch[] = [];
  const copies: [Tensor, Tensor][] = [];
  matrices.forEach(({ w, rows, cols }, i) => {
    setup.push(pass('identity', [n, n], [vOf(i)], [ceilDiv(n, 64), n]));
    // Work on the taller orientation: for a wide W the columns of Wᵀ are W's rows, already contiguous.
    if (rows >= cols) setup.push(pass('load_columns', [rows, cols], [gOf(i), w], [ceilDiv(cols, TILE), ceilDiv(rows, TILE)]));
    else copies.push([w, gOf(i)]);
  });
  copyTensors(device, copies, m * n);
  runDispatches(device, setup);

  // One dispatch per round of the circle method, covering every matrix (workgroup row = matrix);
  // each binds its slice of one uniform buffer.
  const nPad = n + (n % 2);
  const roundCount = nPad - 1;
  const dims = createBuffer(device, { label: 'svd rounds', size: roundCount * ROUND_STRIDE, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  const dimsData = new DataView(new ArrayBuffer(roundCount * ROUND_STRIDE));
  const rounds: Dispatch[] = [];
  for (let round = 0; round < roundCount; round++) {
    const o = round * ROUND_STRIDE;
    [m, n, nPad, round].forEach((x, i) => dimsData.setUint32(o + 4 * i, x, true));
    dimsData.setFloat32(o + 16, tol, true);
    dimsData.setUint32(o + 20, gStride, true);
    dimsData.setUint32(o + 24, vStride, true);
    rounds.push(
      makeDispatch(device, {
        label: `svd jacobi_round ${round}`,
        code,
        entryPoint: 'jacobi_round',
        bindings: [g, vAcc, maxCos, { buffer: dims, offset: o, size: 32 }],
        workgroups: [nPad / 2, count],
      }),
    );
  }
  device.queue.writeBuffer(dims, 0, dimsData.buffer);

  const zeros = new Uint32Array(count);
  // sweeps[i]: the sweeps matrix i needed, counted as svd() alone counts them (the sweep that
  // found it converged included); the group runs until its slowest matrix converges.
  const sweeps = new Array<number>(count).fill(0);
  const converged = new Array<boolean>(count).fill(false);
  for (let sweep = 1; sweep <= maxSweeps && converged.includes(false); sweep++) {
    device.queue.writeBuffer(maxCos.buffer, 0, zeros);
    runDispatches(device, rounds);
    // The largest |cos| met this sweep: at or below tol, no pair was rotated and G is final.
    const largest = new Float32Array(await readBuffer(device, maxCos.buffer, count * 4));
    for (let i = 0; i < count; i++) {
      if (converged[i]) continue;
      sweeps[i] = sweep;
      converged[i] = largest[i] <= tol;
    }
  }

  const factors: { u: Tensor; s: Tensor; v: Tensor }[] = [];
  const finish: Dispatch[] = [];
  matrices.forEach(({ rows, cols }, i) => {
    const u = createTensor(device, [rows, n], 'f32', 'svd U');
    const s = createTensor(device, [n], 'f32', 'svd S');
    const v = createTensor(device, [cols, n], 'f32', 'svd V');
    const [fromG, fromV] = rows >= cols ? [u, v] : [v, u];
    finish.push(
      pass('column_norms', [m, n], [sigmaOf(i), gOf(i)], [n]),
      pass('rank_sort', [1, n], [s, sigmaOf(i), orderOf(i)], [ceilDiv(n, WG)]),
      pass('gather', [m, n, 1], [fromG, gOf(i), orderOf(i), s], [ceilDiv(n, TILE), ceilDiv(m, TILE)]),
      pass('gather', [n, n, 0], [fromV, vOf(i), orderOf(i), s], [ceilDiv(n, TILE), ceilDiv(n, TILE)]),
    );
    factors.push({ u, s, v });
  });
  runDispatches(device, finish);
  const outputs: SvdOutput[] = [];
  for (const [i, { w, rows, cols }] of matrices.entries()) {
    outputs.push({ ...factors[i], sweeps: sweeps[i], report: await svdReport(device, { w, ...factors[i], rows, cols }) });
  }
  for (const t of [g, vAcc, maxCos, sigmaRaw, order]) t.buffer.destroy();
  for (const b of [dims, ...uniforms]) b.destroy();
  return outputs;
}

function copyTensors(device: GPUDevice, pairs: readonly [Tensor, Tensor][], count: number): void {
  if (!pairs.length) return;
  const encoder = device.createCommandEncoder();
  for (const [from, to] of pairs) encoder.copyBufferToBuffer(from.buffer, from.byteOffset ?? 0, to.buffer, to.byteOffset ?? 0, count * 4);
  device.queue.submit([encoder.finish()]);
}

export interface SvdReportArgs {
  w: Tensor;
  u: Tensor;
  s: Tensor;
  v: Tensor;
  rows: number;
  cols: number;
}

/** The SVD's quality, measured on the GPU (fp32 products, per-workgroup partials summed in float64). */
export async function svdReport(device: GPUDevice, args: SvdReportArgs): Promise<SvdReport> {
  const { w, u, s, v, rows, cols } = args;
  const r = Math.min(rows, cols);
  const reductionGroups = (count: number) => Math.min(1024, Math.max(1, ceilDiv(count, 16 * WG)));
  const diffGroups = reductionGroups(rows * cols);
  const orthoGroups = reductionGroups(r * r);
  // Its products, partials and their uniforms are scratch, freed together below.
  const scratch = new GpuBuffers(device);
  const { diffPartials, uPartials, vPartials, dispatches } = scratch.collect(() => {
    const recon = createTensor(device, [rows, cols], 'f32', 'svd report U·S·Vᵀ');
    const utu = createTensor(device, [r, r], 'f32', 'svd report UᵀU');
    const vtv = createTensor(device, [r, r], 'f32', 'svd report VᵀV');
    const partials = { diffPartials: createTensor(device, [2 * diffGroups]), uPartials: createTensor(device, [orthoGroups]), vPartials: createTensor(device, [orthoGroups]) };
    const params = [createParams(device, [['u32', rows], ['u32', cols]]), createParams(device, [['u32', r], ['u32', r]])];
    const reduce = (entryPoint: string, dst: Tensor, p: GPUBuffer, rest: Tensor[], groups: number) =>
      makeDispatch(device, { label: `svd ${entryPoint}`, code, entryPoint, bindings: [dst, p, ...rest], workgroups: [groups] });
    return {
      ...partials,
      dispatches: [
        matmul(device, { m: rows, n: cols, k: r, a: u, b: v, transB: true, kScale: s, out: recon }),
        matmul(device, { m: r, n: r, k: rows, a: u, b: u, transA: true, out: utu }),
        matmul(device, { m: r, n: r, k: cols, a: v, b: v, transA: true, out: vtv }),
        reduce('sq_diff_partials', partials.diffPartials, params[0], [recon, w], diffGroups),
        reduce('max_identity_partials', partials.uPartials, params[1], [utu], orthoGroups),
        reduce('max_identity_partials', partials.vPartials, params[1], [vtv], orthoGroups),
      ],
    };
  });
  runDispatches(device, dispatches);
  const read = async (t: Tensor, count: number) => new Float32Array(await readBuffer(device, t.buffer, count * 4));
  const diff = await read(diffPartials, 2 * diffGroups);
  let err = 0;
  let norm = 0;
  for (let i = 0; i < diffGroups; i++) {
    err += diff[2 * i];
    norm += diff[2 * i + 1];
  }
  const orthoU = Math.max(...(await read(uPartials, orthoGroups)));
  const orthoV = Math.max(...(await read(vPartials, orthoGroups)));
  scratch.destroy();
  return { reconstruction: norm > 0 ? Math.sqrt(err / norm) : Math.sqrt(err), orthoU, orthoV };
}
