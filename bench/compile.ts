// The one-time cost of compiling pipelines before a BERT model's first training step (issue #16):
// on its own device (cold caches), how many compute pipelines each phase compiles and how long
// that takes — the linear-form measurement (GPUs only), the model, the first train plan, the
// matmul tuner (all candidates of every product; software adapters run it too, here) and the plan
// rebuilt on the winners — then the same ten matmul candidates compiled one by one
// (createComputePipeline) against all at once (preparePipelines: createComputePipelineAsync),
// with the process's CPU time, which says whether the driver compiled them on other threads.
// Standalone: node --import ./scripts/register-raw.mjs bench/compile.ts
import { cpuUsage } from 'node:process';
import { pathToFileURL } from 'node:url';
import { adapterName, type Gpu } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { encodePlan } from '../src/gpu/plan.ts';
import { getPipeline, preparePipelines } from '../src/gpu/pipelines.ts';
import { matmulPipeline } from '../src/kernels/matmul.ts';
import { kernelName, NO_FLAGS, type OperandFlags } from '../src/kernels/matmul_tiles.ts';
import { TUNING_CANDIDATES } from '../src/kernels/matmul_tuning.ts';
import { describeModel } from '../src/model/architectures.ts';
import { architectureFor, parseModelConfig } from '../src/model/config.ts';
import { GpuModel, measuredForms } from '../src/model/gpu-model.ts';
import { Optimizer } from '../src/train/optimizer.ts';
import { record } from './figures.ts';
import { formatRow } from './peer.ts';
import { randomBatch, randomWeights, trainScale } from './train.ts';

/** Pipelines and shader modules the device was asked for, the seconds spent in the calls, and
 * the seconds during which an asynchronous compile was under way. */
interface Compiles {
  sync: number;
  syncSeconds: number;
  async: number;
  asyncSeconds: number;
  modules: number;
  moduleSeconds: number;
}

/** Counts the device's compiles from now on (the bench's own device: nothing else uses it). */
function countCompiles(device: GPUDevice): Compiles {
  const c: Compiles = { sync: 0, syncSeconds: 0, async: 0, asyncSeconds: 0, modules: 0, moduleSeconds: 0 };
  const timed = <A, R>(call: (arg: A) => R, done: (seconds: number) => void) => (arg: A): R => {
    const start = performance.now();
    try {
      return call(arg);
    } finally {
      done((performance.now() - start) / 1000);
    }
  };
  device.createComputePipeline = timed(device.createComputePipeline.bind(device), (s) => ((c.sync += 1), (c.syncSeconds += s)));
  device.createShaderModule = timed(device.createShaderModule.bind(device), (s) => ((c.modules += 1), (c.moduleSeconds += s)));
  const compileAsync = device.createComputePipelineAsync.bind(device);
  let pending = 0;
  let since = 0;
  device.createComputePipelineAsync = async (descriptor) => {
    c.async += 1;
    if (pending++ === 0) since = performance.now();
    try {
      return await compileAsync(descriptor);
    } finally {
      if (--pending === 0) c.asyncSeconds += (performance.now() - since) / 1000;
    }
  };
  return c;
}

export async function runCompileBench(): Promise<void> {
  // A device of its own: the pipeline cache and the measured kernels are per device, and another
  // benchmark having compiled them would hide the cost.
  const gpu = await acquireNodeGpu();
  try {
    await compileBench(gpu);
  } finally {
    gpu.device.destroy();
  }
}

async function compileBench(gpu: Gpu): Promise<void> {
  const { device } = gpu;
  const scale = trainScale(gpu);
  const config = parseModelConfig(scale.config, 'benchmark config');
  // The training benchmark's model; on a software adapter a smaller batch, which keeps every
  // product and so every pipeline, but cuts the tuner's timing of slow tiled kernels there.
  const [B, T] = gpu.adapter.isSoftware ? [2, 16] : [scale.batch, scale.seq];
  const note = gpu.adapter.isSoftware ? `${scale.note.replace(/, batch .*/, '')}, batch ${B} × ${T}` : scale.note;
  console.log(`\n## Pipeline compiles before the first training step (own device, cold caches; ${note})`);
  const compiles = countCompiles(device);
  const widths = [32, 8, 6, 8, 6, 8, 8];
  console.log(formatRow(['phase', 'wall s', 'sync', 'sync s', 'async', 'async s', 'modules'], widths));
  async function phase<V>(name: string, key: string, run: () => V | Promise<V>): Promise<V> {
    const before = { ...compiles };
    const start = performance.now();
    const value = await run();
    const wall = (performance.now() - start) / 1000;
    const sync = compiles.sync - before.sync;
    const syncSeconds = compiles.syncSeconds - before.syncSeconds;
    const async = compiles.async - before.async;
    const asyncSeconds = compiles.asyncSeconds - before.asyncSeconds;
    console.log(formatRow([name, wall.toFixed(2), sync, syncSeconds.toFixed(2), async, asyncSeconds.toFixed(2), compiles.modules - before.modules], widths));
    record(`compile.${key}.seconds`, wall);
    record(`compile.${key}.sync_pipelines`, sync);
    record(`compile.${key}.sync_seconds`, syncSeconds);
    record(`compile.${key}.async_pipelines`, async);
    record(`compile.${key}.async_seconds`, asyncSeconds);
    return value;
  }

  const weights = randomWeights(describeModel(architectureFor(config), config), 1);
  const shape = { maxBatch: B, maxSeq: T, trains: () => true };
  const measured = await phase('linear forms (GPUs only)', 'linear_forms', () => GpuModel.measureLinearForms(gpu, weights.layout, shape));
  const model = await phase('model (factors)', 'model', () => GpuModel.create(device, weights, config.dropout, {
    ...shape, factorOn: gpu.adapter.isSoftware ? 'cpu' : 'gpu', linearForms: measuredForms(measured),
  }));
  const data = randomBatch(config, B, T, 2);
  model.setBatch(data.batch, data.labels);
  const optimizer = await phase('first train plan + optimizer', 'plan', () => {
    model.trainPlan(B, T);
    return new Optimizer(model, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, () => true);
  });
  // Software adapters keep their one kernel in training; here they run the tuner as a GPU does.
  const tuned = await phase('matmul tuner', 'tuner', () => model.tuneMatmuls(gpu, { onSoftware: true, ...(gpu.adapter.isSoftware && { repeats: 1 }) }));
  const plan = await phase('train plan on the winners', 'replan', () => model.trainPlan(B, T));
  await phase('first step (submit + wait)', 'first_step', async () => {
    const encoder = device.createCommandEncoder();
    encodePlan(encoder, [...plan, ...optimizer.update]);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  });
  console.log(`shader modules: ${compiles.modules} in ${compiles.moduleSeconds.toFixed(2)} s (included above)`);
  const refused = tuned.flatMap((t) => t.refused.map((r) => `${kernelName(r.kernel)} (${r.reason})`));
  console.log(`tuner: ${tuned.length} products × ${TUNING_CANDIDATES.length} candidates; refused by the driver: ${refused.length ? [...new Set(refused)].join('; ') : 'none'}`);
  record('compile.tuner.products', tuned.length);
  record('compile.tuner.refused', refused.length);

  // The same ten candidates at two flag sets no phase above used (each set compiles afresh).
  const candidateSpecs = (flags: OperandFlags) => TUNING_CANDIDATES.map((kernel) => matmulPipeline(kernel, { transA: true, transB: true }, flags));
  const oneByOne = candidateSpecs({ ...NO_FLAGS, accumulate: true });
  const together = candidateSpecs({ ...NO_FLAGS, accumulate: true, kScale: true });
  const timedCpu = async (run: () => unknown) => {
    const cpu = cpuUsage();
    const start = performance.now();
    await run();
    const { user, system } = cpuUsage(cpu);
    return { wall: (performance.now() - start) / 1000, cpu: (user + system) / 1e6 };
  };
  const sync = await timedCpu(() => oneByOne.forEach((s) => getPipeline(device, s.code, s.entryPoint, s.constants)));
  const async = await timedCpu(() => preparePipelines(device, together));
  console.log(`${TUNING_CANDIDATES.length} matmul candidates: one by one ${sync.wall.toFixed(2)} s wall (${sync.cpu.toFixed(2)} s CPU); ` +
    `all at once (async) ${async.wall.toFixed(2)} s wall (${async.cpu.toFixed(2)} s CPU); speed-up ${(sync.wall / async.wall).toFixed(2)}×`);
  record('compile.candidates.sync_seconds', sync.wall);
  record('compile.candidates.async_seconds', async.wall);
  record('compile.candidates.sync_cpu_seconds', sync.cpu);
  record('compile.candidates.async_cpu_seconds', async.cpu);
  if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const gpu = await acquireNodeGpu();
  console.log(`# Compile benchmark — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
  await runCompileBench();
  process.exit(0);
}
