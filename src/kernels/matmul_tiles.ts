// The tiled matmul's tile shapes (shaders/matmul.wgsl's `main`): which outputs a workgroup owns,
// how deep its shared tiles go, each thread's register block, the shared rows' padding and whether
// global loads overlap the math. Which one is fastest depends on the adapter and the shape
// (occupancy against reuse, registers against latency), so several are compiled and the choice is
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
  /** Pads each k-row of the shared tiles (bankPitch) so the stores that walk k with consecutive
   * threads (A stored M×K, B stored N×K) hit 32 distinct banks, where up to TK of them shared one. */
  pad?: boolean;
  /** Loads the next k-tile from global memory into registers while the math runs on this one
   * from shared memory, storing it after the barrier: hides load latency, costs registers. */
  prefetch?: boolean;
}

/** The tile GPUs get until a measurement says otherwise: 64×64 outputs, 4×4 per thread, padded
 * shared rows (x·Wᵀ, the model's commonest product, stores both operands k-major). */
export const DEFAULT_TILE: MatmulTile = { tm: 64, tn: 64, tk: 16, rm: 4, rn: 4, pad: true };

/** The candidates measured per adapter: the default, the classic 128×128 SGEMM block (unpadded at
 * 16 deep: padding would pass 16 KiB), the rectangular ones for tall or wide outputs, a small one
 * for many small blocks (attention heads) where big tiles leave most of the GPU idle, the default
 * unpadded (what the padding buys, measured), and register prefetch on the two square shapes.
 * Each keeps 256 threads and ≤ 16 KiB shared. */
export const MATMUL_TILES: readonly MatmulTile[] = [
  DEFAULT_TILE,
  { tm: 128, tn: 128, tk: 8, rm: 8, rn: 8, pad: true },
  { tm: 128, tn: 128, tk: 16, rm: 8, rn: 8 },
  { tm: 128, tn: 64, tk: 16, rm: 8, rn: 4, pad: true },
  { tm: 64, tn: 128, tk: 16, rm: 4, rn: 8, pad: true },
  { tm: 32, tn: 32, tk: 32, rm: 2, rn: 2, pad: true },
  { ...DEFAULT_TILE, pad: false },
  { ...DEFAULT_TILE, prefetch: true },
  { tm: 128, tn: 128, tk: 8, rm: 8, rn: 8, pad: true, prefetch: true },
];

export function tileName(t: MatmulTile): string {
  return `${t.tm}x${t.tn}x${t.tk}/${t.rm}x${t.rn}${t.pad ? '+pad' : ''}${t.prefetch ? '+prefetch' : ''}`;
}

/** Shared-memory banks, and threads served together (NVIDIA's warp; AMD's LDS serves 32 lanes a cycle). */
const BANKS = 32;

/** The smallest row pitch ≥ width (words between a shared tile's k-rows) at which every 32
 * consecutive threads of the k-major store (element e at k = e % tk, column e / tk, the way
 * matmul.wgsl walks A stored M×K and B stored N×K) hit distinct banks. Reads are unaffected: a
 * warp reads one k-row, consecutive or equal words. */
export function bankPitch(width: number, tk: number): number {
  const conflictFree = (pitch: number) => {
    for (let w = 0; w < tk * width; w += BANKS) {
      const banks = new Set<number>();
      for (let e = w; e < Math.min(w + BANKS, tk * width); e++) banks.add((((e % tk) * pitch) + Math.floor(e / tk)) % BANKS);
      if (banks.size < Math.min(BANKS, tk * width - w)) return false;
    }
    return true;
  };
  // Banks depend on the pitch mod 32 only.
  for (let pitch = width; pitch < width + BANKS; pitch++) if (conflictFree(pitch)) return pitch;
  throw new Error(`no shared pitch makes a ${tk}-deep tile ${width} wide conflict-free`);
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
  const [ap, bp] = t.pad ? [bankPitch(t.tm, t.tk), bankPitch(t.tn, t.tk)] : [t.tm, t.tn];
  if (4 * t.tk * (ap + bp) > 16384) throw new Error(`matmul tile ${tileName(t)}: its shared tiles exceed 16 KiB`);
  const consts: [string, number][] = [
    ['TM', t.tm], ['TN', t.tn], ['TK', t.tk], ['RM', t.rm], ['RN', t.rn], ['WX', wx], ['WY', wy], ['AP', ap], ['BP', bp],
  ];
  return consts.map(([name, v]) => `const ${name} = ${v}u;\n`).join('') + `const PREFETCH = ${!!t.prefetch};\n`;
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

/** What else a product's pipeline depends on: the shader's override constants for its operands.
 * Plans use several per product (a bias forward, accumulation backward …), each its own pipeline. */
export interface OperandFlags {
  bias: boolean;
  kScale: boolean;
  accumulate: boolean;
  dropoutA: boolean;
}

export function productKey(s: ProductShape): string {
  return `${s.blocks}×${s.m}×${s.n}×${s.k}${s.transA ? 'ᵀ' : ''}${s.transB ? ' Bᵀ' : ''}`;
}

interface DeviceChoices {
  /** Measured winners by productKey. */
  chosen: Map<string, MatmulKernel>;
  /** Products built with the default that no measurement has covered yet, with the operand flags
   * each was built with (the tuner compiles its winner's pipelines for them ahead of the plan). */
  unmeasured: Map<string, { shape: ProductShape; flags: Map<string, OperandFlags> }>;
}

const choices = new WeakMap<GPUDevice, DeviceChoices>();

function deviceChoices(device: GPUDevice): DeviceChoices {
  let c = choices.get(device);
  if (!c) choices.set(device, (c = { chosen: new Map(), unmeasured: new Map() }));
  return c;
}

export const NO_FLAGS: OperandFlags = { bias: false, kScale: false, accumulate: false, dropoutA: false };

/** The kernel this product runs with: the measured winner, else `fallback` (and the product is
 * remembered with its operand flags, so the next tuning pass measures it). */
export function chosenKernel(device: GPUDevice, shape: ProductShape, fallback: MatmulKernel, flags: OperandFlags = NO_FLAGS): MatmulKernel {
  const c = deviceChoices(device);
  const key = productKey(shape);
  const kernel = c.chosen.get(key);
  if (kernel) return kernel;
  let product = c.unmeasured.get(key);
  if (!product) c.unmeasured.set(key, (product = { shape, flags: new Map() }));
  product.flags.set(JSON.stringify(flags), flags);
  return fallback;
}

/** Products used on this device since the last tuning pass that have no measured kernel yet. */
export function unmeasuredProducts(device: GPUDevice): ProductShape[] {
  return [...deviceChoices(device).unmeasured.values()].map((p) => p.shape);
}

/** The operand flags an unmeasured product was built with. */
export function productFlags(device: GPUDevice, shape: ProductShape): OperandFlags[] {
  return [...(deviceChoices(device).unmeasured.get(productKey(shape))?.flags.values() ?? [])];
}

export function setChosenKernel(device: GPUDevice, shape: ProductShape, kernel: MatmulKernel): void {
  const c = deviceChoices(device);
  const key = productKey(shape);
  c.chosen.set(key, kernel);
  c.unmeasured.delete(key);
}
