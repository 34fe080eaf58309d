// The tiled matmul's tile shapes (shaders/matmul.wgsl's `main`): which outputs a workgroup owns,
// how deep its shared tiles go, and each thread's register block. Which one is fastest depends on
// the adapter and the shape (occupancy against reuse), so several are compiled and the choice is
// measured per adapter (matmul_tuning.ts); every one is parity-tested (matmul.test.ts).

export interface MatmulTile {
  /** Outputs per workgroup: tm rows × tn columns. */
  tm: number;
  tn: number;
  /** Inner-dimension depth of the shared tiles loaded per barrier pair. */
  tk: number;
  /** Each thread's register block: rm rows × rn columns, so the workgroup is (tn/rn)×(tm/rm). */
  rm: number;
  rn: number;
}

/** The tile GPUs get until a measurement says otherwise: 64×64 outputs, 4×4 per thread. */
export const DEFAULT_TILE: MatmulTile = { tm: 64, tn: 64, tk: 16, rm: 4, rn: 4 };

/** The candidates measured per adapter: the default, the classic 128×128 SGEMM block, the
 * rectangular ones for tall or wide outputs, and a small one for many small blocks (attention
 * heads) where big tiles leave most of the GPU idle. Each keeps 256 threads and ≤ 16 KiB shared. */
export const MATMUL_TILES: readonly MatmulTile[] = [
  DEFAULT_TILE,
  { tm: 128, tn: 128, tk: 8, rm: 8, rn: 8 },
  { tm: 128, tn: 128, tk: 16, rm: 8, rn: 8 },
  { tm: 128, tn: 64, tk: 16, rm: 8, rn: 4 },
  { tm: 64, tn: 128, tk: 16, rm: 4, rn: 8 },
  { tm: 32, tn: 32, tk: 32, rm: 2, rn: 2 },
];

export function tileName(t: MatmulTile): string {
  return `${t.tm}x${t.tn}x${t.tk}/${t.rm}x${t.rn}`;
}

/** The module-scope constants the shader's `main` is written against. Throws on a tile the
 * shader cannot run: the per-thread loads must cover the shared tiles exactly. */
export function tileHeader(t: MatmulTile): string {
  const wx = t.tn / t.rn;
  const wy = t.tm / t.rm;
  const threads = wx * wy;
  const whole = (x: number) => Number.isInteger(x) && x > 0;
  if (!whole(wx) || !whole(wy) || threads > 256 || !whole((t.tk * t.tm) / threads) || !whole((t.tk * t.tn) / threads)) {
    throw new Error(`matmul tile ${tileName(t)}: the register block must divide the tile, with ≤ 256 threads whose loads cover the ${t.tk}-deep tiles exactly`);
  }
  if (4 * t.tk * (t.tm + t.tn) > 16384) throw new Error(`matmul tile ${tileName(t)}: its shared tiles exceed 16 KiB`);
  return `const TM = ${t.tm}u;\nconst TN = ${t.tn}u;\nconst TK = ${t.tk}u;\nconst RM = ${t.rm}u;\nconst RN = ${t.rn}u;\nconst WX = ${wx}u;\nconst WY = ${wy}u;\n`;
}

/** What runs a product: the barrier-free 'direct' kernel or the tiled one with this tile. */
export type MatmulKernel = 'direct' | MatmulTile;

export function kernelName(kernel: MatmulKernel): string {
  return kernel === 'direct' ? 'direct' : `tiled ${tileName(kernel)}`;
}

/** What the choice of kernel depends on: the product's sizes and which operands are transposed
 * (strides, scales and bias change neither the work nor the access pattern much). */
export interface ProductShape {
  m: number;
  n: number;
  k: number;
  blocks: number;
  transA: boolean;
  transB: boolean;
}

export function productKey(s: ProductShape): string {
  return `${s.blocks}×${s.m}×${s.n}×${s.k}${s.transA ? 'ᵀ' : ''}${s.transB ? ' Bᵀ' : ''}`;
}

interface DeviceChoices {
  /** Measured winners by productKey. */
  chosen: Map<string, MatmulKernel>;
  /** Products built with the default that no measurement has covered yet. */
  unmeasured: Map<string, ProductShape>;
}

const choices = new WeakMap<GPUDevice, DeviceChoices>();

function deviceChoices(device: GPUDevice): DeviceChoices {
  let c = choices.get(device);
  if (!c) choices.set(device, (c = { chosen: new Map(), unmeasured: new Map() }));
  return c;
}

/** The kernel this product runs with: the measured winner, else `fallback` (and the product is
 * remembered, so the next tuning pass measures it). */
export function chosenKernel(device: GPUDevice, shape: ProductShape, fallback: MatmulKernel): MatmulKernel {
  const c = deviceChoices(device);
  const key = productKey(shape);
  const kernel = c.chosen.get(key);
  if (kernel) return kernel;
  c.unmeasured.set(key, shape);
  return fallback;
}

/** Products used on this device since the last tuning pass that have no measured kernel yet. */
export function unmeasuredProducts(device: GPUDevice): ProductShape[] {
  return [...deviceChoices(device).unmeasured.values()];
}

export function setChosenKernel(device: GPUDevice, shape: ProductShape, kernel: MatmulKernel): void {
  const c = deviceChoices(device);
  const key = productKey(shape);
  c.chosen.set(key, kernel);
  c.unmeasured.delete(key);
}
