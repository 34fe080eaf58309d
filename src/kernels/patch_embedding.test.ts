import { describe, expect, it } from 'vitest';
import { runDispatches } from '../gpu/dispatch.ts';
import { readTensor } from '../gpu/readback.ts';
import { createTensor, uploadTensor } from '../gpu/tensor.ts';
import { expectClose, f32, randomArray } from '../test/compare.ts';
import { testGpu } from '../test/gpu.ts';
import { matmul } from './matmul.ref.ts';
import { patchTokens, unfoldPatches, type PatchShape } from './patch_embedding.ts';
import { patchTokens as patchTokensRef, unfoldPatches as unfoldPatchesRef } from './patch_embedding.ref.ts';

// Unfolding is a copy: exact. A token is one fp32 addition of two fp32 values: within half an
// ulp (2⁻²⁴ relative) of the exact sum.
const EXACT = { atol: 0, rtol: 0 };
const ONE_ADD = { atol: 0, rtol: 2 ** -24 };

/** Conv2d with stride = kernel = patch, written directly: out[b, gy, gx, h]. */
function conv2d(s: PatchShape, pixels: Float64Array, weight: Float64Array, bias: Float64Array, hidden: number): Float64Array {
  const { batch, channels: C, height: H, width: W, patch: p } = s;
  const rows = H / p;
  const cols = W / p;
  const out = new Float64Array(batch * rows * cols * hidden);
  for (let b = 0; b < batch; b++) for (let gy = 0; gy < rows; gy++) for (let gx = 0; gx < cols; gx++) for (let h = 0; h < hidden; h++) {
    let sum = bias[h];
    for (let c = 0; c < C; c++) for (let ky = 0; ky < p; ky++) for (let kx = 0; kx < p; kx++) {
      sum += weight[((h * C + c) * p + ky) * p + kx] * pixels[((b * C + c) * H + gy * p + ky) * W + gx * p + kx];
    }
    out[((b * rows + gy) * cols + gx) * hidden + h] = sum;
  }
  return out;
}

describe('unfoldPatches', () => {
  it('times the Conv2d weight read as [hidden, C·p·p] is the Conv2d (float64 reference, against a direct convolution)', () => {
    const s = { batch: 2, channels: 3, height: 12, width: 8, patch: 4 };
    const hidden = 5;
    const pixels = randomArray(s.batch * s.channels * s.height * s.width, 1);
    const weight = randomArray(hidden * s.channels * s.patch * s.patch, 2);
    const bias = randomArray(hidden, 3);
    const rows = unfoldPatchesRef({ ...s, pixels });
    const k = s.channels * s.patch * s.patch;
    const n = s.batch * (s.height / s.patch) * (s.width / s.patch);
    const viaMatmul = matmul({ a: rows, b: weight, m: n, n: hidden, k, transB: true, bias });
    expectClose(viaMatmul, conv2d(s, pixels, weight, bias, hidden), { atol: 1e-13, rtol: 0 }, 'unfold·Wᵀ vs Conv2d');
  });

  it('refuses an image that is not a whole number of patches', () => {
    expect(() => unfoldPatchesRef({ batch: 1, channels: 3, height: 10, width: 8, patch: 4, pixels: new Float64Array(240) })).toThrow('a 10×8 image is not a whole number of 4×4 patches');
  });

  async function checkUnfold(s: PatchShape) {
    const { device } = await testGpu();
    const pixels = f32(randomArray(s.batch * s.channels * s.height * s.width, 4));
    const expected = unfoldPatchesRef({ ...s, pixels });
    const out = createTensor(device, [expected.length]);
    runDispatches(device, [unfoldPatches(device, { ...s, pixels: uploadTensor(device, pixels, [pixels.length]), out })]);
    expectClose(await readTensor(device, out), expected, EXACT, `unfold ${JSON.stringify(s)}`);
  }

  it('matches its float64 reference: one grayscale image, one patch', () => checkUnfold({ batch: 1, channels: 1, height: 3, width: 3, patch: 3 }));
  it('matches its float64 reference: 2 channels, non-square 10×6 image, patch 2', () => checkUnfold({ batch: 3, channels: 2, height: 10, width: 6, patch: 2 }));
  it('matches its float64 reference: RGB, 16×16, patch 4, over several workgroups', () => checkUnfold({ batch: 5, channels: 3, height: 16, width: 16, patch: 4 }));
  it('matches its float64 reference: 5 channels, 7×14, patch 7', () => checkUnfold({ batch: 2, channels: 5, height: 7, width: 14, patch: 7 }));
});

describe('patchTokens matches its float64 reference', () => {
  async function check(batch: number, patches: number, dim: number) {
    const { device } = await testGpu();
    const projected = f32(randomArray(batch * patches * dim, 5));
    const cls = f32(randomArray(dim, 6));
    const position = f32(randomArray((patches + 1) * dim, 7));
    const expected = patchTokensRef({ projected, cls, position, batch, patches, dim });
    const out = createTensor(device, [expected.length]);
    const up = (data: Float64Array) => uploadTensor(device, data, [data.length]);
    runDispatches(device, [patchTokens(device, { projected: up(projected), cls: up(cls), position: up(position), out, batch, patches, dim })]);
    expectClose(await readTensor(device, out), expected, ONE_ADD, `tokens ${batch}×(1 + ${patches})×${dim}`);
  }
  it('on one image of one patch, width 1', () => check(1, 1, 1));
  it('on 3 images of 15 patches, width 33', () => check(3, 15, 33));
  it('on 12 images of 16 patches, width 32 (the hf-tiny ViT shape)', () => check(12, 16, 32));
});
