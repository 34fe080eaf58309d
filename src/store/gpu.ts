// Whether this browser offers WebGPU at all, checked on the main thread at first paint so a
// missing adapter is said before any file is dropped (the engine reports its own adapter too).
import { create } from 'zustand';
import { acquireGpu, adapterName } from '../gpu/device.ts';

export type GpuStatus =
  | { kind: 'checking' }
  | { kind: 'ready'; name: string; software: boolean }
  | { kind: 'missing'; message: string };

export const useGpu = create<{ status: GpuStatus }>()(() => ({ status: { kind: 'checking' } }));

export async function detectAdapter() {
  try {
    const gpu = await acquireGpu(navigator.gpu);
    useGpu.setState({ status: { kind: 'ready', name: adapterName(gpu.adapter), software: gpu.adapter.isSoftware } });
    // Only a probe: the engine worker acquires its own device.
    gpu.device.destroy();
  } catch (error) {
    useGpu.setState({ status: { kind: 'missing', message: error instanceof Error ? error.message : String(error) } });
  }
}
