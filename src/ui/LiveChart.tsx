// A line chart drawn as SVG straight from a store subscription, at most twice a second, by setting
// attributes (no React render): the live loss and metric curves update many times a second. Not a
// canvas: on a software adapter a 2D canvas waits on the GPU process that the training keeps busy,
// and an SVG chart re-rendered by React that often (recharts) cost the page hundreds of ms.
import { useEffect, useRef } from 'react';

export interface Series {
  name: string;
  color: string;
  points: { x: number; y: number }[];
}

interface Props {
  read(): Series[];
  /** Call `changed` whenever read() would return something new; returns the unsubscribe. */
  subscribe(changed: () => void): () => void;
  height: number;
  label: string;
  testId: string;
}

const LEFT = 52;
const RIGHT = 12;
const TOP = 14;
const BOTTOM = 22;
const TICKS = 4;
const SVG = 'http://www.w3.org/2000/svg';
/** Thinned to this many points per series: more than a chart's width of pixels is wasted work. */
const MAX_POINTS = 600;
/** Redrawn at most this often, in a task of its own (not inside the frame's rendering work). */
const REDRAW_MS = 500;

function format(v: number, span: number): string {
  // Huge or finely split values (a diverging loss, a near-constant metric) in exponent form.
  if (Math.abs(v) >= 1e5 || (span > 0 && span < 1e-4)) return v.toExponential(2);
  const digits = span > 0 ? Math.max(0, Math.min(6, 2 - Math.floor(Math.log10(span)))) : 2;
  return v.toFixed(digits);
}

function thin<T>(points: T[]): T[] {
  if (points.length <= MAX_POINTS) return points;
  const every = Math.ceil(points.length / MAX_POINTS);
  const out = points.filter((_, i) => i % every === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

function element<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function LiveChart({ read, subscribe, height, label, testId }: Props) {
  const ref = useRef<SVGSVGElement>(null);
  useEffect(() => {
    const svg = ref.current;
    if (!svg) return;
    let timer: ReturnType<typeof setTimeout> | null = null;
    let last = 0;
    // The width comes from the ResizeObserver: reading it in draw would force a layout each time.
    let width = svg.parentElement?.clientWidth ?? 400;
    const draw = () => {
      timer = null;
      last = performance.now();
      svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
      svg.setAttribute('width', String(width));
      const series = read()
        .filter((s) => s.points.length > 0)
        .map((s) => ({ ...s, points: thin(s.points.filter((p) => Number.isFinite(p.y))) }));
      const all = series.flatMap((s) => s.points);
      svg.dataset.points = String(series.reduce((n, s) => n + s.points.length, 0));
      svg.dataset.series = String(series.length);
      const parts: SVGElement[] = [];
      if (all.length > 0) {
        let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
        for (const p of all) {
          x0 = Math.min(x0, p.x);
          x1 = Math.max(x1, p.x);
          y0 = Math.min(y0, p.y);
          y1 = Math.max(y1, p.y);
        }
        if (x1 === x0) x1 = x0 + 1;
        if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
        const px = (x: number) => LEFT + ((x - x0) / (x1 - x0)) * (width - LEFT - RIGHT);
        const py = (y: number) => TOP + ((y1 - y) / (y1 - y0)) * (height - TOP - BOTTOM);
        for (let i = 0; i <= TICKS; i++) {
          const y = y0 + ((y1 - y0) * i) / TICKS;
          parts.push(element('line', { x1: LEFT, x2: width - RIGHT, y1: py(y), y2: py(y), stroke: '#e4e7ef' }));
          parts.push(element('text', { x: LEFT - 6, y: py(y), 'text-anchor': 'end', 'dominant-baseline': 'middle', class: 'chart-tick' }, format(y, y1 - y0)));
          const x = Math.round(x0 + ((x1 - x0) * i) / TICKS);
          parts.push(element('text', { x: px(x), y: height - 6, 'text-anchor': 'middle', class: 'chart-tick' }, String(x)));
        }
        let legendX = LEFT + 8;
        for (const s of series) {
          const points = s.points.map((p) => `${px(p.x).toFixed(1)},${py(p.y).toFixed(1)}`).join(' ');
          parts.push(element('polyline', { points, fill: 'none', stroke: s.color, 'stroke-width': 1.5, class: 'chart-line' }));
          // Few points (evaluations) get dots, as a sparse curve is read point by point.
          if (s.points.length <= 50) for (const p of s.points) parts.push(element('circle', { cx: px(p.x), cy: py(p.y), r: 2.5, fill: s.color }));
          if (series.length > 1) {
            parts.push(element('rect', { x: legendX, y: 4, width: 10, height: 3, fill: s.color }));
            parts.push(element('text', { x: legendX + 14, y: 8, 'dominant-baseline': 'middle', class: 'chart-tick' }, s.name));
            legendX += 28 + 7 * s.name.length;
          }
        }
      }
      svg.replaceChildren(...parts);
    };
    const schedule = () => {
      timer ??= setTimeout(draw, Math.max(0, last + REDRAW_MS - performance.now()));
    };
    draw();
    const unsubscribe = subscribe(schedule);
    const resize = new ResizeObserver((entries) => {
      width = entries[0]?.contentRect.width || width;
      schedule();
    });
    if (svg.parentElement) resize.observe(svg.parentElement);
    return () => {
      unsubscribe();
      resize.disconnect();
      if (timer !== null) clearTimeout(timer);
    };
  }, [read, subscribe, height]);
  return <svg ref={ref} height={height} role="img" aria-label={label} data-testid={testId} className="line-chart" />;
}
