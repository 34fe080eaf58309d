// The GPU script's first check (bench/gpu.sh): which adapter Dawn gives, its features and the
// limits that matter, and whether it is the GPU we came for. Exits 3 when --expect names a vendor
// the adapter is not (e.g. Dawn fell back to SwiftShader), so the script fails fast.
// Standalone: node --import ./scripts/register-raw.mjs bench/adapter.ts [--expect nvidia]
import { parseArgs } from 'node:util';
import { adapterName } from '../src/gpu/device.ts';
import { acquireNodeGpu, nodeGpu } from '../src/gpu/node.ts';

const { values } = parseArgs({ options: { expect: { type: 'string' } } });
const adapter = await (await nodeGpu()).requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.log('adapter: none (Dawn found no Vulkan device: is libvulkan.so.1 there and VK_DRIVER_FILES set?)');
  process.exit(3);
}
const { info } = adapter;
console.log(`adapter: ${info.vendor} / ${info.architecture} / ${info.device} / ${info.description}`);
console.log(`features: ${[...adapter.features].sort().join(' ')}`);
for (const name of ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupsPerDimension']) {
  console.log(`limit ${name}: ${adapter.limits[name as keyof GPUSupportedLimits]}`);
}
console.log(`subgroup sizes: ${info.subgroupMinSize ?? '?'}–${info.subgroupMaxSize ?? '?'}`);
const gpu = await acquireNodeGpu();
console.log(`device: ${adapterName(gpu.adapter)}${gpu.adapter.isSoftware ? ' (software)' : ''}; timestamp queries: ${gpu.timestamps}; subgroups: ${gpu.subgroups}`);
const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
if (values.expect && (!text.includes(values.expect.toLowerCase()) || gpu.adapter.isSoftware)) {
  console.log(`adapter check FAILED: expected ${values.expect}, got ${adapterName(gpu.adapter)}`);
  process.exit(3);
}
console.log('adapter check: ok');
process.exit(0);
