import { describe, expect, it, vi } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { getPipeline } from '../gpu/pipelines.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { blockMatmul, matmul, matmulPipeline, type BlockMatmulArgs, type MatmulShape } from './matmul.ts';
import { matmul as matmulRef } from './matmul.ref.ts';
import { bankPitch, chosenKernel, DEFAULT_TILE, kernelName, MATMUL_TILES, NO_FLAGS, tileHeader, tileName, unmeasuredProducts, type MatmulKernel, type MatmulTile } from './matmul_tiles.ts';
import { tuneMatmuls } from './matmul_tuning.ts';

// fp32 accumulation over k ≤ 200 terms of size ≤ 1: |error| stays below ~k·2⁻²⁴·Σ|ab| ≈ 1e-5·k/100.
const TOL = { atol: 2e-5, rtol: 1e-5 };

async function check(shape: MatmulShape, options: { bias?: boolean; kScale?: boolean } = {}, seed = 1) {
  const { device } = await testGpu();
  const batch = shape.batch ?? 1;
  const strideA = shape.strideA ?? shape.m * shape.k;
  const strideB = shape.strideB ?? shape.k * shape.n;
  const strideC = shape.strideC ?? shape.m * shape.n;
  const a = f32(randomArray(Math.max(1, (batch - 1) * strideA + shape.m * shape.k), seed));
  const b = f32(randomArray(Math.max(1, (batch - 1) * strideB + shape.k * shape.n), seed + 1));
  const c0 = f32(randomArray((batch - 1) * strideC + shape.m * shape.n, seed + 2));
  const bias = options.bias ? f32(randomArray(shape.n, seed + 3)) : undefined;
  const kScale = options.kScale ? f32(randomArray(shape.k, seed + 4, 2)) : undefined;
  const out = uploadTensor(device, c0, [c0.length]);
  runDispatches(device, [
    matmul(device, {
      ...shape,
      a: uploadTensor(device, a, [a.length]),
      b: uploadTensor(device, b, [b.length]),
      out,
      bias: bias && uploadTensor(device, bias, [bias.length]),
      kScale: kScale && uploadTensor(device, kScale, [kScale.length]),
    }),
  ]);
  const expected = matmulRef({ ...shape, a, b, out: c0, bias, kScale });
  // Entries outside the batch's C blocks (stride gaps) must be untouched: compare them too.
  if (!shape.accumulate) for (let i = 0; i < c0.length; i++) if (!isWritten(i, shape)) expected[i] = c0[i];
  expectClose(await readTensor(device, out), expected, TOL, `matmul ${JSON.stringify(shape)} ${JSON.stringify(options)}`);
}

function isWritten(index: number, shape: MatmulShape): boolean {
  const strideC = shape.strideC ?? shape.m * shape.n;
  return index % strideC < shape.m * shape.n && Math.floor(index / strideC) < (shape.batch ?? 1);
}

describe.each(['tiled', 'direct'] as const)('matmul (%s) matches its float64 reference', (variant) => {
  it('on a single element', () => check({ variant, m: 1, n: 1, k: 1 }));
  it('on shapes that are not multiples of the 64×64×16 tile', () => check({ variant, m: 65, n: 33, k: 17 }));
  it('with a long inner dimension', () => check({ variant, m: 7, n: 70, k: 200 }));
  it('with A transposed', () => check({ variant, m: 70, n: 5, k: 31, transA: true }));
  it('with B transposed', () => check({ variant, m: 3, n: 129, k: 40, transB: true }));
  it('with both transposed', () => check({ variant, m: 66, n: 67, k: 19, transA: true, transB: true }));
  it('batched, with gaps between the batch entries of C', () => check({ variant, m: 9, n: 11, k: 13, batch: 3, strideC: 9 * 11 + 5 }));
  it('batched with B broadcast (stride 0)', () => check({ variant, m: 17, n: 8, k: 5, batch: 4, strideB: 0 }));
  it('with alpha, bias and an inner-dimension scale', () => check({ variant, m: 33, n: 65, k: 21, alpha: 0.125, transB: true }, { bias: true, kScale: true }));
  it('accumulating into C', () => check({ variant, m: 20, n: 30, k: 10, accumulate: true }, { bias: true }));
  it('with k = 0 (C = bias)', async () => {
    const { device } = await testGpu();
    const out = createTensor(device, [2, 3]);
    const bias = uploadTensor(device, [1, 2, 3], [3]);
    runDispatches(device, [matmul(device, { variant, m: 2, n: 3, k: 0, a: createTensor(device, [0]), b: createTensor(device, [0]), out, bias })]);
    expectClose(await readTensor(device, out), [1, 2, 3, 1, 2, 3], { atol: 0, rtol: 0 }, 'k = 0');
  });
  it('blockMatmul with offsets: every operand starts past element 0, at no 64-element boundary', async () => {
    const { device } = await testGpu();
    const [m, n, k] = [5, 7, 3];
    const [offA, offB, offC] = [3, 11, 2];
    const a = f32(randomArray(offA + m * k, 1));
    const b = f32(randomArray(offB + k * n, 2));
    const c0 = f32(randomArray(offC + m * n + 4, 3));
    const out = uploadTensor(device, c0, [c0.length]);
    runDispatches(device, [blockMatmul(device, {
      label: 'offsets', variant, m, n, k, blocks: 1, heads: 1,
      a: [uploadTensor(device, a, [a.length]), { offset: offA, batchStride: 0, headStride: 0, ld: k }],
      b: [uploadTensor(device, b, [b.length]), { offset: offB, batchStride: 0, headStride: 0, ld: n }],
      out: [out, { offset: offC, batchStride: 0, headStride: 0, ld: n }],
    })]);
    const expected = Float64Array.from(c0);
    expected.set(matmulRef({ m, n, k, a: a.subarray(offA), b: b.subarray(offB) }), offC);
    expectClose(await readTensor(device, out), expected, TOL, 'offsets');
  });
});

// Every tile a GPU may be given (matmul_tiles.ts), on shapes that cut through its edges.
describe.each(MATMUL_TILES.map((tile) => [tileName(tile), tile] as const))('matmul with the %s tile matches its float64 reference', (_, tile) => {
  it('on an edge-cutting shape', () => check({ tile, m: tile.tm + 3, n: tile.tn - 5, k: tile.tk * 2 + 7 }));
  it('with both transposed, batched with gaps', () => check({ tile, m: 37, n: 29, k: 45, transA: true, transB: true, batch: 2, strideC: 37 * 29 + 3 }));
  it('with A transposed, alpha, bias and an inner-dimension scale', () => check({ tile, m: 19, n: 131, k: 9, transA: true, alpha: 0.5 }, { bias: true, kScale: true }));
  it('accumulating into C with B transposed, bias and an inner-dimension scale', () =>
    check({ tile, m: 2 * tile.tm - 1, n: tile.tn + 1, k: 3 * tile.tk - 1, transB: true, accumulate: true }, { bias: true, kScale: true }));
});

// The candidates differ in how outputs are spread over threads, in shared layout and in when loads
// are issued, never in the order each output's k terms are summed: the tuner's choice cannot
// change a bit of the result. Each case cuts every tile's edges (k a multiple of no TK) in 2 batch
// entries of 2 heads with gaps, and turns on some of the shader's options: together all of them
// (the option sets but dropout's are the per-tile tests' above, whose pipelines are reused).
describe('every kernel gives bit-identical products', () => {
  const [m, n, k] = [70, 45, 39];
  type Case = Pick<BlockMatmulArgs, 'transA' | 'transB' | 'alpha' | 'accumulate'> & { biasAndScale?: boolean; dropout?: boolean };
  const cases: [string, Case][] = [
    ['plain', {}],
    ['both transposed', { transA: true, transB: true }],
    ['A transposed, alpha, bias and an inner-dimension scale', { transA: true, alpha: 0.25, biasAndScale: true }],
    ['B transposed, accumulating with bias', { transB: true, accumulate: true, biasAndScale: true }],
    ['with dropout on A', { dropout: true }],
  ];
  it.each(cases)('%s', async (label, { biasAndScale, dropout, ...options }) => {
    const { device } = await testGpu();
    const blocks = 4;
    const heads = 2;
    // Block z = b·heads + h at b·batchStride + h·headStride: heads laid side by side, gaps after each batch entry.
    const layout = (rows: number, cols: number) => ({ batchStride: heads * rows * cols + 5, headStride: rows * cols, ld: cols });
    const la = options.transA ? layout(k, m) : layout(m, k);
    const lb = options.transB ? layout(n, k) : layout(k, n);
    const lc = layout(m, n);
    const size = (l: { batchStride: number }) => (blocks / heads) * l.batchStride;
    const a = uploadTensor(device, f32(randomArray(size(la), 11)), [size(la)]);
    const b = uploadTensor(device, f32(randomArray(size(lb), 12)), [size(lb)]);
    const c0 = f32(randomArray(size(lc), 13));
    const fused = biasAndScale ? { bias: uploadTensor(device, f32(randomArray(n, 14)), [n]), kScale: uploadTensor(device, f32(randomArray(k, 15, 2)), [k]) } : {};
    const dropoutA = dropout ? { p: 0.3, stream: 2, seed: uploadTensor(device, Uint32Array.of(7), [1], 'u32') } : undefined;
    const results = new Map<string, Float32Array>();
    for (const kernel of [...MATMUL_TILES, 'direct'] as MatmulKernel[]) {
      const out = uploadTensor(device, c0, [c0.length]);
      runDispatches(device, [blockMatmul(device, {
        label, m, n, k, blocks, heads, ...options, ...fused, dropoutA,
        ...(kernel === 'direct' ? { variant: 'direct' as const } : { tile: kernel }),
        a: [a, la], b: [b, lb], out: [out, lc],
      })]);
      results.set(kernelName(kernel), await readTensor(device, out));
    }
    const [first, ...rest] = [...results];
    expect(first[1]).not.toEqual(c0);
    for (const [name, values] of rest) expectClose(values, first[1], { atol: 0, rtol: 0 }, `${label}: ${name} against ${first[0]}`);
  });
});

it('pads shared rows just enough for conflict-free k-major stores, counting the padding in 16 KiB', () => {
  // 32 threads store k = e % TK, column e / TK: a pitch ≡ 32 / TK (mod 32) spreads them over 32 banks.
  expect([bankPitch(64, 16), bankPitch(128, 8), bankPitch(128, 16), bankPitch(32, 32)]).toEqual([66, 132, 130, 33]);
  expect(tileHeader({ ...DEFAULT_TILE, pad: true })).toMatch(/const AP = 66u;\nconst BP = 66u;/);
  expect(tileHeader({ ...DEFAULT_TILE, pad: false })).toMatch(/const AP = 64u;\nconst BP = 64u;/);
  expect(() => tileHeader({ tm: 128, tn: 128, tk: 16, rm: 8, rn: 8, pad: true })).toThrow(/exceed 16 KiB/);
});

it('refuses a tile whose threads cannot cover its shared tiles', () => {
  expect(() => tileHeader({ tm: 64, tn: 64, tk: 3, rm: 4, rn: 4 })).toThrow(/cover the 3-deep tiles/);
  expect(() => tileHeader({ tm: 64, tn: 64, tk: 16, rm: 1, rn: 1 })).toThrow(/≤ 256 threads/);
  expect(() => tileHeader({ tm: 128, tn: 128, tk: 32, rm: 8, rn: 8 })).toThrow(/exceed 16 KiB/);
});

/** Makes the device refuse the asynchronous compile of the tile's pipelines whose override
 * constants pass `when`, with a GPUPipelineError as a real driver out of registers does (the
 * module is recognised by the tile's header). Returns how many it refused, and the undo. */
function refuseCompiles(device: GPUDevice, tile: MatmulTile, when: (constants: Record<string, number>) => boolean) {
  const header = tileHeader(tile);
  const tileModules = new Set<GPUShaderModule>();
  const createModule = device.createShaderModule.bind(device);
  const createAsync = device.createComputePipelineAsync.bind(device);
  const refused = { count: 0 };
  const modules = vi.spyOn(device, 'createShaderModule').mockImplementation((descriptor) => {
    const module = createModule(descriptor);
    if (descriptor.code.startsWith(header)) tileModules.add(module);
    return module;
  });
  const compiles = vi.spyOn(device, 'createComputePipelineAsync').mockImplementation((descriptor) => {
    if (!tileModules.has(descriptor.compute.module) || !when(descriptor.compute.constants as Record<string, number>)) return createAsync(descriptor);
    refused.count++;
    return Promise.reject(new GPUPipelineError('too many registers', { reason: 'internal' }));
  });
  return { refused, restore: () => (modules.mockRestore(), compiles.mockRestore()) };
}

describe('tuning the kernel per product', () => {
  it('measures each unmeasured product with every candidate, keeps the fastest and compiles it for the plan', async () => {
    const gpu = await testGpu();
    const { device } = gpu;
    const shape = { m: 24, n: 40, k: 8, blocks: 3, transA: false, transB: true };
    // A GPU building a plan asks for the kernel; until measured it gets the default.
    const accumulating = { ...NO_FLAGS, accumulate: true };
    expect(chosenKernel(device, shape, DEFAULT_TILE, accumulating)).toBe(DEFAULT_TILE);
    expect(unmeasuredProducts(device)).toContainEqual(shape);
    const candidates: MatmulKernel[] = [DEFAULT_TILE, MATMUL_TILES[5], 'direct'];
    const results = await tuneMatmuls(gpu, { candidates, repeats: 1 });
    const result = results.find((r) => r.shape === shape)!;
    expect(result.timings.map((t) => t.kernel)).toEqual(candidates);
    expect(result.refused).toEqual([]);
    const fastest = result.timings.reduce((best, t) => (t.seconds < best.seconds ? t : best));
    expect(result.chosen).toBe(fastest.kernel);
    expect(chosenKernel(device, shape, DEFAULT_TILE)).toBe(fastest.kernel);
    expect(unmeasuredProducts(device)).not.toContainEqual(shape);
    // The plan rebuilt on the winner finds its pipeline (with the plan's flags) compiled.
    const compile = vi.spyOn(device, 'createComputePipeline');
    try {
      const spec = matmulPipeline(result.chosen, shape, accumulating);
      getPipeline(device, spec.code, spec.entryPoint, spec.constants);
      expect(compile).not.toHaveBeenCalled();
    } finally {
      compile.mockRestore();
    }
  });

  it('drops a candidate whose pipeline the driver refuses, with its reason, and measures the rest', async () => {
    const gpu = await testGpu();
    const { device } = gpu;
    const shape = { m: 40, n: 24, k: 16, blocks: 2, transA: true, transB: false };
    chosenKernel(device, shape, DEFAULT_TILE);
    // A tile no other test compiles, refused whatever its flags.
    const tile = { tm: 32, tn: 64, tk: 16, rm: 2, rn: 4, pad: true };
    const { refused, restore } = refuseCompiles(device, tile, () => true);
    try {
      const candidates: MatmulKernel[] = [DEFAULT_TILE, tile, 'direct'];
      const results = await tuneMatmuls(gpu, { candidates, repeats: 1 });
      expect(refused.count).toBe(1);
      const result = results.find((r) => r.shape === shape)!;
      expect(result.refused).toEqual([{ kernel: tile, reason: 'internal: too many registers' }]);
      expect(result.timings.map((t) => t.kernel)).toEqual([DEFAULT_TILE, 'direct']);
      expect(result.chosen).not.toBe(tile);
      expect(chosenKernel(device, shape, DEFAULT_TILE)).toBe(result.chosen);
    } finally {
      restore();
    }
  });

  it('replaces a winner the driver refuses with the operand flags the plan uses', async () => {
    const gpu = await testGpu();
    const { device } = gpu;
    const shape = { m: 40, n: 24, k: 16, blocks: 2, transA: false, transB: false };
    chosenKernel(device, shape, DEFAULT_TILE, { ...NO_FLAGS, bias: true });
    // Another tile no other test compiles: it compiles for the timing, not with a bias.
    const tile = { tm: 64, tn: 32, tk: 16, rm: 4, rn: 2, pad: true };
    const { refused, restore } = refuseCompiles(device, tile, (constants) => constants.HAS_BIAS === 1);
    try {
      const [result] = (await tuneMatmuls(gpu, { candidates: [tile], repeats: 1 })).filter((r) => r.shape === shape);
      expect(refused.count).toBe(1);
      expect(result.timings.map((t) => t.kernel)).toEqual([tile]);
      expect(result.refused).toEqual([{ kernel: tile, reason: 'internal: too many registers' }]);
      // No other candidate was measured: the product keeps the default.
      expect(result.chosen).toBe(DEFAULT_TILE);
      expect(chosenKernel(device, shape, tile)).toBe(DEFAULT_TILE);
    } finally {
      restore();
    }
  });

  it('leaves products too large to measure beside the model at the default, measured once', async () => {
    const gpu = await testGpu();
    const shape = { m: 512, n: 512, k: 512, blocks: 1, transA: true, transB: false };
    chosenKernel(gpu.device, shape, 'direct');
    const results = await tuneMatmuls(gpu, { maxBytes: 1 << 20, candidates: ['direct'] });
    expect(results.find((r) => r.shape === shape)).toEqual({ shape, timings: [], refused: [], chosen: DEFAULT_TILE });
    expect(unmeasuredProducts(gpu.device)).not.toContainEqual(shape);
  });
});
