// A perceptually ordered scale (viridis stops) for the strength heatmap and its legend.
const STOPS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Color of t ∈ [0, 1]. */
export function strengthColor(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const [a, b] = [STOPS[i], STOPS[i + 1]];
  const c = a.map((v, j) => Math.round(v + (b[j] - v) * f));
  return `rgb(${c[0]}, ${c[1]}, ${c[2]})`;
}

export const LEGEND_GRADIENT = `linear-gradient(to right, ${STOPS.map((s) => `rgb(${s.join(', ')})`).join(', ')})`;
