// `npm run bench`: every benchmark in one process on one device, each against its peer.
//   --json FILE        also write every figure, by name, to FILE as it is measured (bench/figures.ts)
//   --torch FILE       print "ratio vs PyTorch" lines against bench/torch/step_bench.py's figures
//   --peak-tflops X    the card's fp32 peak, for the kernels' "% of peak" (H200: 67)
//   --only a,b         run only these of kernels, train, deberta, vit, decoder, svd, compile
import { parseArgs } from 'node:util';
import { adapterName } from '../src/gpu/device.ts';
import { acquireNodeGpu } from '../src/gpu/node.ts';
import { record, torchRatioLines, writeFigures, writeFiguresAsRecorded } from './figures.ts';
import { runCompileBench } from './compile.ts';
import { runDebertaTrainBench } from './deberta.ts';
import { runDecoderBench } from './decoder.ts';
import { runKernelBench } from './kernels.ts';
import { runLlmKernelBench } from './llm_kernels.ts';
import { runRowKernelBench } from './row_kernels.ts';
import { tfOnDevice } from './peer.ts';
import { runSvdBench } from './svd.ts';
import { runTrainBench } from './train.ts';
import { runVitTrainBench } from './vit.ts';

const { values } = parseArgs({
  options: { json: { type: 'string' }, torch: { type: 'string' }, 'peak-tflops': { type: 'string' }, only: { type: 'string', default: 'kernels,train,deberta,vit,decoder,svd,compile' } },
});
const only = new Set(values.only.split(','));
const BENCHMARKS = ['kernels', 'train', 'deberta', 'vit', 'decoder', 'svd', 'compile'];
for (const name of only) if (!BENCHMARKS.includes(name)) throw new Error(`--only: unknown benchmark "${name}" (${BENCHMARKS.join(', ')})`);
const peak = values['peak-tflops'] === undefined ? undefined : Number(values['peak-tflops']);
if (peak !== undefined && !(peak > 0)) throw new Error(`--peak-tflops: "${values['peak-tflops']}" is not a positive number`);

if (values.json) writeFiguresAsRecorded(values.json);
const gpu = await acquireNodeGpu();
const adapter = `${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}`;
console.log(`# VectorFit Studio benchmarks — adapter: ${adapter}`);
record('adapter', adapter);
// The shapes every benchmark picks from the adapter; step_bench.py writes the same key.
record('scale', gpu.adapter.isSoftware ? 'small' : 'bert-base');
const tf = await tfOnDevice(gpu);
// One benchmark failing (a shader the real adapter refuses, memory) must not cost the others'
// figures: the GPU run is one call of a few scarce minutes. Failures are printed, recorded and
// fail the run at the end.
const failed: string[] = [];
async function part<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
  try {
    return await run();
  } catch (error) {
    failed.push(name);
    console.log(`\nFAILED: ${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    record(`failed.${name}`, error instanceof Error ? error.message : String(error));
    return undefined;
  }
}
if (only.has('kernels')) await part('kernels', () => runKernelBench(gpu, tf, peak));
if (only.has('kernels')) await part('llm kernels', () => runLlmKernelBench(gpu, tf));
if (only.has('kernels')) await part('row kernels', () => runRowKernelBench(gpu));
// The DeBERTa step is set beside the BERT step's figure when that ran at the same shapes.
const bertSeconds = only.has('train') ? await part('train', () => runTrainBench(gpu, tf)) : undefined;
// The figures first (kernels, the BERT step, the SVD), then the other families: a run cut
// short by the GPU script's time limit loses the least.
if (only.has('svd')) await part('svd', () => runSvdBench(gpu));
if (only.has('deberta')) await part('deberta', () => runDebertaTrainBench(gpu, bertSeconds));
if (only.has('vit')) await part('vit', () => runVitTrainBench(gpu, tf));
if (only.has('decoder')) await part('decoder', () => runDecoderBench(gpu, tf));
// Last: it builds and tunes the BERT model again on a device of its own (cold caches).
if (only.has('compile')) await part('compile', () => runCompileBench());
if (values.torch) {
  console.log('');
  for (const line of torchRatioLines(values.torch)) console.log(line);
}
if (values.json) writeFigures(values.json);
if (gpu.errors.length) throw new Error(`WebGPU errors: ${gpu.errors.join('; ')}`);
if (failed.length) throw new Error(`benchmarks failed: ${failed.join(', ')}`);
process.exit(0);
