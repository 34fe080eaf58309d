// Comparing GPU (fp32) results with float64 references, and seeded test data.
import { expect } from 'vitest';
import { seededRandom } from '../util/random.ts';

export interface Tolerance {
  atol: number;
  rtol: number;
}

/** Asserts |actual − expected| ≤ atol + rtol·|expected| everywhere, naming the worst element. */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: Tolerance, label = ''): void {
  expect(actual.length, `${label}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]);
    const excess = err - (tol.atol + tol.rtol * Math.abs(expected[i]));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    expect.fail(
      `${label}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
        `(|error| ${Math.abs(actual[worst] - expected[worst]).toExponential(3)}, atol ${tol.atol}, rtol ${tol.rtol})`,
    );
  }
}

/** Deterministic uniform numbers in [−scale, scale) (mulberry32). */
export function randomArray(length: number, seed: number, scale = 1): Float64Array {
  const random = seededRandom(seed);
  return Float64Array.from({ length }, () => (2 * random() - 1) * scale);
}

/** Rounds float64 data to fp32, so references see exactly the GPU's inputs. */
export function f32(data: ArrayLike<number>): Float64Array {
  return Float64Array.from(Float32Array.from(data as ArrayLike<number>));
}
