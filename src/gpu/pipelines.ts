// Compute pipelines are compiled once per (shader, entry point, override constants) and device.
// Plans get them synchronously (getPipeline); code that knows ahead which ones it will need
// (the matmul tuner) compiles them with preparePipelines first, which a driver may do on several
// threads at once, and which reports a pipeline the driver refuses instead of failing later.

const caches = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
const modules = new WeakMap<GPUDevice, Map<string, GPUShaderModule>>();
/** Asynchronous compiles under way, so two preparations of one pipeline share one compile. */
const compiling = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

export type Constants = Record<string, number>;

export interface PipelineSpec {
  code: string;
  entryPoint?: string;
  constants?: Constants;
}

function deviceMap<T>(maps: WeakMap<GPUDevice, Map<string, T>>, device: GPUDevice): Map<string, T> {
  let map = maps.get(device);
  if (!map) maps.set(device, (map = new Map()));
  return map;
}

function pipelineKey({ code, entryPoint = 'main', constants = {} }: PipelineSpec): string {
  const constantKey = Object.keys(constants)
    .sort()
    .map((k) => `${k}=${constants[k]}`)
    .join(',');
  return `${entryPoint}|${constantKey}|${code}`;
}

function descriptor(device: GPUDevice, { code, entryPoint = 'main', constants = {} }: PipelineSpec): GPUComputePipelineDescriptor {
  return { label: entryPoint, layout: 'auto', compute: { module: getModule(device, code), entryPoint, constants } };
}

export function getPipeline(device: GPUDevice, code: string, entryPoint = 'main', constants: Constants = {}): GPUComputePipeline {
  const spec = { code, entryPoint, constants };
  const cache = deviceMap(caches, device);
  const key = pipelineKey(spec);
  let pipeline = cache.get(key);
  if (!pipeline) {
    pipeline = device.createComputePipeline(descriptor(device, spec));
    cache.set(key, pipeline);
  }
  return pipeline;
}

/** Compiles the pipelines not compiled yet, all at once, into the cache getPipeline reads.
 * Resolves to one entry per spec: the error the driver refused it with (a GPUPipelineError,
 * e.g. a real GPU out of registers or shared memory), or undefined once it is ready. */
export async function preparePipelines(device: GPUDevice, specs: readonly PipelineSpec[]): Promise<(Error | undefined)[]> {
  const cache = deviceMap(caches, device);
  const pending = deviceMap(compiling, device);
  return Promise.all(specs.map(async (spec) => {
    const key = pipelineKey(spec);
    if (cache.has(key)) return undefined;
    let compile = pending.get(key);
    if (!compile) {
      compile = device.createComputePipelineAsync(descriptor(device, spec));
      pending.set(key, compile);
    }
    try {
      cache.set(key, await compile);
      return undefined;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    } finally {
      pending.delete(key);
    }
  }));
}

function getModule(device: GPUDevice, code: string): GPUShaderModule {
  const cache = deviceMap(modules, device);
  let module = cache.get(code);
  if (!module) {
    module = device.createShaderModule({ code });
    cache.set(code, module);
  }
  return module;
}
