// Ownership of GPU buffers. JS garbage collection does not weigh GPU memory: a dropped model's
// buffers would stay allocated until the collector happens by. So every buffer is created through
// createBuffer here, and a long-lived owner (a model, an optimizer, a trainer, a plan) gathers
// the buffers of what it builds in `collect` and frees them all in `destroy`.
//
// `collect` is a synchronous scope: nothing else can run inside it, so every buffer created then
// is the builder's. An async builder is refused — after its first await, other work's buffers
// would be made while the scope is open (or its own after it closed).

/** Scopes open now, innermost last; null marks an `unowned` one. */
const scopes: (GpuBuffers | null)[] = [];

export class GpuBuffers {
  private readonly owned = new Set<GPUBuffer>();
  private ownedBytes = 0;

  constructor(readonly device: GPUDevice) {}

  /** Runs `build` and owns every buffer created on this device meanwhile (innermost scope
   * wins: a plan built inside takes its own). */
  collect<T>(build: () => T): T {
    scopes.push(this);
    let value: T;
    try {
      value = build();
    } finally {
      scopes.pop();
    }
    if (typeof (value as { then?: unknown } | null)?.then === 'function') throw new Error('GpuBuffers.collect: the builder must be synchronous');
    return value;
  }

  adopt(buffer: GPUBuffer): void {
    if (this.owned.has(buffer)) return;
    this.owned.add(buffer);
    this.ownedBytes += buffer.size;
  }

  /** The buffers owned now, in creation order. */
  get buffers(): GPUBuffer[] {
    return [...this.owned];
  }

  /** Bytes of the buffers owned now. */
  get bytes(): number {
    return this.ownedBytes;
  }

  /** Frees every buffer owned (work already submitted keeps them until it completes). */
  destroy(): void {
    for (const buffer of this.owned) buffer.destroy();
    this.owned.clear();
    this.ownedBytes = 0;
  }
}

/** Runs `build` with no owner: what it creates is shared device-wide (the placeholder, the
 * staging pool) and must outlive whichever scope happens to be open. */
export function unowned<T>(build: () => T): T {
  scopes.push(null);
  try {
    return build();
  } finally {
    scopes.pop();
  }
}

/** device.createBuffer, owned by the innermost open scope when it is this device's. */
export function createBuffer(device: GPUDevice, descriptor: GPUBufferDescriptor): GPUBuffer {
  const buffer = device.createBuffer(descriptor);
  const scope = scopes[scopes.length - 1];
  if (scope && scope.device === device) scope.adopt(buffer);
  return buffer;
}
