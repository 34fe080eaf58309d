// GPU wrapper for shaders/patch_embedding.wgsl; the float64 reference of the same name is
// patch_embedding.ref.ts. ViT's patch embedding is unfoldPatches, a matmul with the Conv2d's
// weight and bias (matmul.ts), then patchTokens.
import code from '../../shaders/patch_embedding.wgsl?raw';
import { makeDispatch, type Dispatch } from '../gpu/dispatch.ts';
import { createParams, type Tensor } from '../gpu/tensor.ts';
import { gridStride } from './grid.ts';

export interface PatchShape {
  batch: number;
  channels: number;
  height: number;
  width: number;
  /** Side of a square patch; must divide height and width. */
  patch: number;
}

export function checkPatchShape(s: PatchShape): void {
  if (s.height % s.patch !== 0 || s.width % s.patch !== 0) throw new Error(`a ${s.height}×${s.width} image is not a whole number of ${s.patch}×${s.patch} patches`);
}

export interface UnfoldPatchesArgs extends PatchShape {
  /** [batch, channels, height, width] */
  pixels: Tensor;
  /** [batch · patches, channels · patch · patch], patches in row-major grid order. */
  out: Tensor;
}

/** Cuts every image into its patches, one row per patch in (channel, row, column) order. */
export function unfoldPatches(device: GPUDevice, args: UnfoldPatchesArgs): Dispatch {
  checkPatchShape(args);
  const { batch, channels, height, width, patch } = args;
  return makeDispatch(device, {
    label: `unfold patches ${batch}×${channels}×${height}×${width} /${patch}`,
    code,
    entryPoint: 'unfold',
    bindings: [args.pixels, args.out, createParams(device, [['u32', batch], ['u32', channels], ['u32', height], ['u32', width], ['u32', patch]])],
    workgroups: gridStride(batch * channels * height * width),
  });
}

export interface PatchTokensArgs {
  /** [batch · patches, dim]: the projected patches. */
  projected: Tensor;
  /** [dim] */
  cls: Tensor;
  /** [1 + patches, dim] */
  position: Tensor;
  /** [batch · (1 + patches), dim] */
  out: Tensor;
  batch: number;
  patches: number;
  dim: number;
}

/** Each image's tokens: the CLS token, then its projected patches, plus the position embeddings. */
export function patchTokens(device: GPUDevice, args: PatchTokensArgs): Dispatch {
  const { batch, patches, dim } = args;
  return makeDispatch(device, {
    label: `patch tokens ${batch}×(1 + ${patches})×${dim}`,
    code,
    entryPoint: 'tokens',
    bindings: [args.projected, args.cls, args.position, args.out, createParams(device, [['u32', batch], ['u32', patches], ['u32', dim]])],
    workgroups: gridStride(batch * (patches + 1) * dim),
  });
}
