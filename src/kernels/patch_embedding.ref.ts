// Float64 reference for shaders/patch_embedding.wgsl (same op names as kernels/patch_embedding.ts).
import { checkPatchShape, type PatchShape } from './patch_embedding.ts';

/** rows[b·N + gy·cols + gx, c·p² + ky·p + kx] = pixels[b, c, gy·p + ky, gx·p + kx]. */
export function unfoldPatches(args: PatchShape & { pixels: ArrayLike<number> }): Float64Array {
  checkPatchShape(args);
  const { batch, channels, height, width, patch: p, pixels } = args;
  const rowsOfGrid = height / p;
  const cols = width / p;
  const k = channels * p * p;
  const out = new Float64Array(batch * rowsOfGrid * cols * k);
  for (let b = 0; b < batch; b++) {
    for (let gy = 0; gy < rowsOfGrid; gy++) {
      for (let gx = 0; gx < cols; gx++) {
        const row = (b * rowsOfGrid + gy) * cols + gx;
        for (let c = 0; c < channels; c++) {
          for (let ky = 0; ky < p; ky++) {
            for (let kx = 0; kx < p; kx++) out[row * k + (c * p + ky) * p + kx] = pixels[((b * channels + c) * height + gy * p + ky) * width + gx * p + kx];
          }
        }
      }
    }
  }
  return out;
}

/** out[b, 0] = cls + position[0]; out[b, 1 + n] = projected[b·N + n] + position[1 + n]. */
export function patchTokens(args: { projected: Float64Array; cls: Float64Array; position: Float64Array; batch: number; patches: number; dim: number }): Float64Array {
  const { projected, cls, position, batch, patches, dim } = args;
  const seq = patches + 1;
  const out = new Float64Array(batch * seq * dim);
  for (let b = 0; b < batch; b++) {
    for (let s = 0; s < seq; s++) {
      for (let h = 0; h < dim; h++) {
        const v = s === 0 ? cls[h] : projected[(b * patches + s - 1) * dim + h];
        out[(b * seq + s) * dim + h] = v + position[s * dim + h];
      }
    }
  }
  return out;
}
