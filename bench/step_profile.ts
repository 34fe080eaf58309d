// A training step kernel by kernel (src/gpu/profile.ts): what share of the step each kind of
// kernel takes, and the slowest products with their GFLOP/s, so a GPU run says what stands
// between the step and PyTorch's.
import type { Gpu } from '../src/gpu/device.ts';
import type { PlanOp } from '../src/gpu/plan.ts';
import { profilePlan } from '../src/gpu/profile.ts';
import { planGpuSeconds } from '../src/gpu/timing.ts';
import { record } from './figures.ts';
import { formatRow } from './peer.ts';

export async function printStepProfile(gpu: Gpu, ops: readonly PlanOp[], key: string, stepSeconds: number): Promise<void> {
  const gpuSeconds = await planGpuSeconds(gpu, ops);
  if (gpuSeconds !== null) {
    // Where submit-to-done is well above the GPU time, the CPU's encoding and the wait cost the gap.
    console.log(`\nstep on the GPU (timestamps, first dispatch to last; one run): ${(1000 * gpuSeconds).toFixed(1)} ms; from submit to done (median): ${(1000 * stepSeconds).toFixed(1)} ms`);
    record(`${key}.gpu_ms`, 1000 * gpuSeconds);
  }
  const profile = await profilePlan(gpu, ops);
  console.log(`\nstep kernel by kernel (${profile.source}, each dispatch timed alone: ${(1000 * profile.seconds).toFixed(1)} ms in all against ${(1000 * stepSeconds).toFixed(1)} ms for the step as one submit)`);
  const widths = [34, 6, 9, 7, 9];
  console.log(formatRow(['kernel', 'count', 'ms', 'share', 'GFLOP/s'], widths));
  const rate = (r: { flops: number; seconds: number }) => (r.flops ? (r.flops / r.seconds / 1e9).toPrecision(3) : '–');
  for (const r of profile.kinds) {
    console.log(formatRow([r.kind, r.dispatches, (1000 * r.seconds).toFixed(2), `${((100 * r.seconds) / profile.seconds).toFixed(1)}%`, rate(r)], widths));
    record(`${key}.profile.${r.kind.replaceAll(' ', '_')}.ms`, 1000 * r.seconds);
  }
  console.log('slowest products:');
  for (const r of profile.products.slice(0, 8)) {
    console.log(formatRow([r.kind, r.dispatches, (1000 * r.seconds).toFixed(2), `${((100 * r.seconds) / profile.seconds).toFixed(1)}%`, rate(r)], [58, 6, 9, 7, 9]));
  }
}
