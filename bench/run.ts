// `npm run bench`: every benchmark in one process on one device, each against its peer.
import { adapterName } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { runDecoderBench } from './decoder.ts';
import { runKernelBench } from './kernels.ts';
import { runLlmKernelBench } from './llm_kernels.ts';
import { tfOnDevice } from './peer.ts';
import { runSvdBench } from './svd.ts';
import { runTrainBench } from './train.ts';

const gpu = await acquireNodeGpu();
console.log(`# VectorFit Studio benchmarks — adapter: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`);
const tf = await tfOnDevice(gpu);
await runKernelBench(gpu, tf);
await runLlmKernelBench(gpu, tf);
await runTrainBench(gpu, tf);
await runDecoderBench(gpu, tf);
await runSvdBench(gpu);
if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
process.exit(0);
