// WebGPU in Node through Dawn (the `webgpu` npm package). On a machine without a GPU,
// Dawn needs a software Vulkan driver: Debian's chromium ships SwiftShader's ICD.
import { existsSync, readdirSync } from 'node:fs';
import { acquireGpu, type AcquireOptions, type Gpu } from './device.ts';

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function hasHardwareGpu(): boolean {
  if (existsSync('/dev/nvidiactl')) return true;
  try {
    return readdirSync('/dev/dri').some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

// Dawn's instance must outlive every device made from it: if it is garbage-collected first,
// the process aborts or segfaults at exit. One instance per process, held here for good.
let instance: GPU | undefined;

export async function nodeGpu(): Promise<GPU> {
  if (instance) return instance;
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && !hasHardwareGpu() && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  const { create, globals } = await import('webgpu');
  Object.assign(globalThis, globals);
  // Dawn rounds timestamps to 65,536 ns by default (a browser's timing-attack guard); the profiles
  // of one dispatch at a time (profile.ts) need them exact.
  instance = create(['disable-dawn-features=timestamp_quantization']) as GPU;
  return instance;
}

export async function acquireNodeGpu(options?: AcquireOptions): Promise<Gpu> {
  try {
    return await acquireGpu(await nodeGpu(), options);
  } catch (error) {
    if (error instanceof Error && !existsSync(SWIFTSHADER_ICD) && !hasHardwareGpu()) {
      error.message += ` (no GPU here and no SwiftShader: apt-get install -y chromium libvulkan1)`;
    }
    throw error;
  }
}
