// Test instrumentation: which buffers a device created and which were destroyed. The device's
// createBuffer and each new buffer's destroy are wrapped until `stop` (tests only: the code under
// test creates buffers through gpu/buffers.ts and knows nothing of this).

export interface LedgerEntry {
  buffer: GPUBuffer;
  label: string;
  destroyed: boolean;
}

/** Buffers shared device-wide (the placeholder, the readback staging pool): no owner frees them. */
export function isShared(entry: LedgerEntry): boolean {
  return entry.label === 'placeholder' || entry.label === 'staging';
}

export function recordBuffers(device: GPUDevice) {
  const entries: LedgerEntry[] = [];
  const hadOwn = Object.prototype.hasOwnProperty.call(device, 'createBuffer');
  const original = device.createBuffer;
  device.createBuffer = (descriptor: GPUBufferDescriptor) => {
    const buffer = original.call(device, descriptor);
    const entry = { buffer, label: descriptor.label ?? '', destroyed: false };
    const destroy = buffer.destroy;
    buffer.destroy = () => {
      entry.destroyed = true;
      destroy.call(buffer);
    };
    entries.push(entry);
    return buffer;
  };
  return {
    entries,
    /** Labels of the buffers created from entry `from` up to `to` that are alive and not shared. */
    live: (from = 0, to = entries.length) => entries.slice(from, to).filter((e) => !e.destroyed && !isShared(e)).map((e) => e.label),
    stop: () => {
      if (hadOwn) device.createBuffer = original;
      else delete (device as { createBuffer?: unknown }).createBuffer;
    },
  };
}
