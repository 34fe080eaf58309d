// Acquiring a WebGPU device: one code path for the browser and Node; the caller injects the
// `GPU` object (navigator.gpu in a page or worker, Dawn's in Node — see ./node.ts).

/** Limits the engine relies on; requested at the adapter's maximum where it offers more. */
const NEEDED_LIMITS = {
  maxStorageBuffersPerShaderStage: 8,
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupStorageSize: 16384,
} as const;

/** Limits requested as high as the adapter allows (large models need big bindings). */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
] as const;

export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software rasterizers (SwiftShader): expect ~1 GFLOP/s. */
  isSoftware: boolean;
}

/** The size limits the device was created with (the adapter's maximum, requested below). */
export interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
}

export interface Gpu {
  device: GPUDevice;
  limits: GpuLimits;
  adapter: AdapterDescription;
  /** The device was created with 'timestamp-query': GPU-side kernel timing is available. */
  timestamps: boolean;
  /** The device was created with 'subgroups' (and WGSL has subgroup_id): row reductions use
   * subgroupAdd/subgroupMax instead of workgroup-memory trees. */
  subgroups: boolean;
  /** Validation and out-of-memory errors no error scope caught. WebGPU otherwise drops the
   * offending call silently (a dispatch with an invalid bind group just does nothing). */
  errors: string[];
}

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** Skip 'timestamp-query' even when offered (it costs a little on some drivers). */
  noTimestamps?: boolean;
  /** Skip 'subgroups' even when offered, so the workgroup-memory reductions run (tests). */
  noSubgroups?: boolean;
}

const softwareDevices = new WeakSet<GPUDevice>();
const subgroupDevices = new WeakSet<GPUDevice>();

/** Whether the device runs on a software adapter: kernels pick barrier-free variants there. */
export function isSoftwareDevice(device: GPUDevice): boolean {
  return softwareDevices.has(device);
}

/** Whether shaders on the device may `enable subgroups;` and read @builtin(subgroup_id). */
export function hasSubgroups(device: GPUDevice): boolean {
  return subgroupDevices.has(device);
}

export async function acquireGpu(gpu: GPU | undefined, options: AcquireOptions = {}): Promise<Gpu> {
  if (!gpu) {
    throw new WebGpuUnavailableError(
      'WebGPU is not available here (navigator.gpu is missing). Use a recent Chrome, Edge or ' +
        'another browser with WebGPU enabled, on a page served over https or from localhost.',
    );
  }
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new WebGpuUnavailableError(
      'WebGPU is present but no GPU adapter was offered (the GPU may be blocklisted or the driver missing).',
    );
  }
  for (const [name, needed] of Object.entries(NEEDED_LIMITS)) {
    const offered = adapter.limits[name as keyof GPUSupportedLimits] as number;
    if (offered < needed) {
      throw new WebGpuUnavailableError(`The GPU adapter offers ${name} = ${offered}; VectorFit needs at least ${needed}.`);
    }
  }
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name] as number;
  const timestamps = !options.noTimestamps && adapter.features.has('timestamp-query');
  // The subgroup reductions place each subgroup's partial by @builtin(subgroup_id) (WebGPU does
  // not say how invocations map onto subgroups), a WGSL language feature newer than 'subgroups'.
  const subgroups = !options.noSubgroups && adapter.features.has('subgroups') && !!gpu.wgslLanguageFeatures?.has('subgroup_id');
  const requiredFeatures: GPUFeatureName[] = [];
  if (timestamps) requiredFeatures.push('timestamp-query');
  if (subgroups) requiredFeatures.push('subgroups');
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  const errors: string[] = [];
  device.addEventListener('uncapturederror', (event) => {
    const message = (event as GPUUncapturedErrorEvent).error.message;
    if (errors.length < 100) errors.push(message);
    console.error(`WebGPU error: ${message}`);
  });
  const description = describeAdapter(adapter.info);
  if (description.isSoftware) softwareDevices.add(device);
  if (subgroups) subgroupDevices.add(device);
  const limits = { maxBufferSize: device.limits.maxBufferSize, maxStorageBufferBindingSize: device.limits.maxStorageBufferBindingSize };
  return { device, limits, adapter: description, timestamps, subgroups, errors };
}

function describeAdapter(info: GPUAdapterInfo): AdapterDescription {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isSoftware: text.includes('swiftshader') || text.includes('llvmpipe') || text.includes('software') || info.vendor === '',
  };
}

export function adapterName(adapter: AdapterDescription): string {
  const parts = [adapter.vendor, adapter.architecture, adapter.description || adapter.device].filter(Boolean);
  return parts.length ? parts.join(' / ') : 'unnamed adapter';
}
