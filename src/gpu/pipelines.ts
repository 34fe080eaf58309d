// Compute pipelines are compiled once per (shader, entry point, override constants) and device.

const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();

export type Constants = Record<string, number>;

export function getPipeline(device: GPUDevice, code: string, entryPoint = 'main', constants: Constants = {}): GPUComputePipeline {
  let cache = caches.get(device);
  if (!cache) caches.set(device, (cache = new Map()));
  const constantKey = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  const key = `${entryPoint}|${constantKey}|${code}`;
  let pipeline = cache.get(key);
  if (!pipeline) {
    pipeline = device.createComputePipeline({
      label: entryPoint,
      layout: 'auto',
      compute: { module: getModule(device, code), entryPoint, constants },
    });
    cache.set(key, pipeline);
  }
  return pipeline;
}

function getModule(device: GPUDevice, code: string): GPUShaderModule {
  let cache = modules.get(device);
  if (!cache) modules.set(device, (cache = new Map()));
  let module = cache.get(code);
  if (!module) {
    module = device.createShaderModule({ code });
    cache.set(code, module);
  }
  return module;
}
