// Central finite differences of the float64 reference's loss against its analytic gradients: the
// check every family's reference takes (reference*.test.ts, vit.test.ts, token-heads.test.ts).
import { expect } from 'vitest';
import { parameter, type ReferenceModel } from './reference.ts';

/** h = 1e-5: truncation error ~h²·|f'''| ≈ 1e-10, rounding ~1e-16/h ≈ 1e-11, against gradients of
 * ~1e-3…1e-1: agreement to 1e-6 relative (with a 1e-9 absolute floor) is the most the method can
 * promise, and far tighter than any real bug. */
const H = 1e-5;

/** An entry of a parameter: its index, or the entry whose analytic gradient is largest. */
export type Entry = number | 'largest';

/** (loss(p + h) − loss(p − h)) / 2h at each sampled [export name, entry] equals `grads` there. */
export function expectCentralDifferences(
  model: ReferenceModel,
  grads: ReadonlyMap<string, ArrayLike<number>>,
  samples: readonly (readonly [string, Entry])[],
  loss: () => number,
): void {
  for (const [name, entry] of samples) {
    const g = grads.get(name);
    if (!g) throw new Error(`no analytic gradient for ${name}`);
    const i = entry === 'largest' ? largestEntry(g) : entry;
    const p = parameter(model, name);
    const saved = p[i];
    p[i] = saved + H;
    const up = loss();
    p[i] = saved - H;
    const down = loss();
    p[i] = saved;
    const numeric = (up - down) / (2 * H);
    expect(Math.abs(numeric - g[i]), `${name}[${i}]: ${g[i]} vs ${numeric}`).toBeLessThan(1e-6 * Math.abs(numeric) + 1e-9);
  }
}

function largestEntry(g: ArrayLike<number>): number {
  let i = 0;
  for (let j = 1; j < g.length; j++) if (Math.abs(g[j]) > Math.abs(g[i])) i = j;
  return i;
}
