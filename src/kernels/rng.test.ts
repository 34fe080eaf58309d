import { describe, expect, it } from 'vitest';
import { makeDispatch, runDispatches } from '../gpu/dispatch.ts';
import { readTensorU32 } from '../gpu/readback.ts';
import { createParams, createTensor } from '../gpu/tensor.ts';
import { testGpu } from '../test/gpu.ts';
import rng from '../../shaders/rng.wgsl?raw';
import { dropoutKeep, rngU32 } from './rng.ref.ts';

// A probe kernel: out[2i] = rngU32(seed, stream, index0 + i), out[2i+1] = dropoutKeep(…, p).
const probe = /* wgsl */ `
struct Params { seed: u32, stream: u32, index0: u32, n: u32, p: f32 }
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.n) { return; }
  let index = params.index0 + i;
  out[2u * i] = rngU32(params.seed, params.stream, index);
  out[2u * i + 1u] = select(0u, 1u, dropoutKeep(params.seed, params.stream, index, params.p));
}`;

async function gpuDraws(seed: number, stream: number, index0: number, n: number, p: number): Promise<Uint32Array> {
  const { device } = await testGpu();
  const out = createTensor(device, [2 * n], 'u32');
  const params = createParams(device, [['u32', seed], ['u32', stream], ['u32', index0], ['u32', n], ['f32', p]]);
  runDispatches(device, [makeDispatch(device, { label: 'rng probe', code: rng + probe, bindings: [out, params], workgroups: [Math.ceil(n / 64)] })]);
  return readTensorU32(device, out);
}

describe('rng', () => {
  const cases: [seed: number, stream: number, index0: number, p: number][] = [
    [0, 0, 0, 0.1],
    [42, 7, 1000, 0.5],
    [0xffffffff, 0xffffffff, 0xffffffff - 99, 0.9],
    [123456789, 3, 77, 0],
    [5, 1, 0, 1],
  ];
  for (const [seed, stream, index0, p] of cases) {
    it(`draws the same bits on the GPU as its TS twin (seed ${seed}, stream ${stream}, from index ${index0}, p ${p})`, async () => {
      const n = 100;
      const got = await gpuDraws(seed, stream, index0, n, p);
      for (let i = 0; i < n; i++) {
        const index = (index0 + i) >>> 0;
        expect(got[2 * i], `rngU32 at index ${index}`).toBe(rngU32(seed, stream, index));
        expect(got[2 * i + 1] === 1, `dropoutKeep at index ${index}`).toBe(dropoutKeep(seed, stream, index, p));
      }
    });
  }

  it('gives every output bit probability ½ and decorrelates neighbouring seeds, streams and indices', () => {
    const n = 20000;
    const ones = new Array<number>(32).fill(0);
    let flips = 0;
    for (let i = 0; i < n; i++) {
      const h = rngU32(1, 2, i);
      for (let b = 0; b < 32; b++) ones[b] += (h >>> b) & 1;
      // Avalanche: one changed input bit flips about half the output bits.
      flips += popcount(h ^ rngU32(1, 2, i ^ 1)) + popcount(h ^ rngU32(1, 3, i)) + popcount(h ^ rngU32(0, 2, i));
    }
    // 5 standard deviations of a binomial(n, ½) count.
    for (const count of ones) expect(Math.abs(count - n / 2)).toBeLessThan(5 * Math.sqrt(n / 4));
    expect(Math.abs(flips / (3 * n) - 16)).toBeLessThan(0.1);
  });
});

function popcount(x: number): number {
  let c = 0;
  for (let v = x >>> 0; v; v &= v - 1) c++;
  return c;
}
