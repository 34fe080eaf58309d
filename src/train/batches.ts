// The order in which examples are seen: a seeded permutation per epoch, so a run (and a run
// resumed from a checkpoint) sees exactly the same batches.
import { seededRandom, shuffledIndices } from '../util/random.ts';

export function epochOrder(count: number, seed: number, epoch: number): Uint32Array {
  return shuffledIndices(count, seededRandom(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + epoch * 0x27d4eb2f));
}

/** Maps step t (from 1) to its epoch and the examples of its batch; the last batch of an
 * epoch may be short. Keeps the current epoch's permutation. */
export class BatchSampler {
  private cachedEpoch = -1;
  private order: Uint32Array = new Uint32Array(0);
  readonly stepsPerEpoch: number;

  constructor(
    private readonly count: number,
    private readonly batchSize: number,
    private readonly seed: number,
  ) {
    this.stepsPerEpoch = Math.ceil(count / batchSize);
  }

  batch(step: number): { epoch: number; indices: Uint32Array } {
    const epoch = Math.floor((step - 1) / this.stepsPerEpoch);
    if (epoch !== this.cachedEpoch) {
      this.order = epochOrder(this.count, this.seed, epoch);
      this.cachedEpoch = epoch;
    }
    const b = (step - 1) % this.stepsPerEpoch;
    return { epoch, indices: this.order.subarray(b * this.batchSize, Math.min(this.count, (b + 1) * this.batchSize)) };
  }
}
