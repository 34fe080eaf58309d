// A line chart drawn on a canvas straight from a store subscription, at most once per frame: the
// live loss and metric curves update many times a second, and an SVG chart re-rendered by React
// that often kept the page's main thread busy for hundreds of milliseconds.
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
const TOP = 10;
const BOTTOM = 22;
const TICKS = 4;

function format(v: number, span: number): string {
  const digits = span > 0 ? Math.max(0, Math.min(6, 2 - Math.floor(Math.log10(span)))) : 2;
  return v.toFixed(digits);
}

export function LineCanvas({ read, subscribe, height, label, testId }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas) return;
    let frame = 0;
    const draw = () => {
      frame = 0;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const width = canvas.parentElement?.clientWidth ?? 400;
      const dpr = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
        canvas.width = Math.round(width * dpr);
        canvas.height = Math.round(height * dpr);
        canvas.style.width = `${width}px`;
        canvas.style.height = `${height}px`;
      }
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);
      const series = read().filter((s) => s.points.length > 0);
      const all = series.flatMap((s) => s.points);
      canvas.dataset.points = String(all.length);
      canvas.dataset.series = String(series.length);
      if (all.length === 0) return;
      let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
      for (const p of all) {
        if (!Number.isFinite(p.y)) continue;
        x0 = Math.min(x0, p.x);
        x1 = Math.max(x1, p.x);
        y0 = Math.min(y0, p.y);
        y1 = Math.max(y1, p.y);
      }
      if (!Number.isFinite(y0)) return;
      if (x1 === x0) x1 = x0 + 1;
      if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
      const px = (x: number) => LEFT + ((x - x0) / (x1 - x0)) * (width - LEFT - RIGHT);
      const py = (y: number) => TOP + ((y1 - y) / (y1 - y0)) * (height - TOP - BOTTOM);
      ctx.font = '11px system-ui, sans-serif';
      ctx.fillStyle = '#5c6370';
      ctx.strokeStyle = '#e4e7ef';
      ctx.lineWidth = 1;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'middle';
      for (let i = 0; i <= TICKS; i++) {
        const y = y0 + ((y1 - y0) * i) / TICKS;
        ctx.beginPath();
        ctx.moveTo(LEFT, py(y));
        ctx.lineTo(width - RIGHT, py(y));
        ctx.stroke();
        ctx.fillText(format(y, y1 - y0), LEFT - 6, py(y));
      }
      ctx.textAlign = 'center';
      ctx.textBaseline = 'top';
      for (let i = 0; i <= TICKS; i++) {
        const x = Math.round(x0 + ((x1 - x0) * i) / TICKS);
        ctx.fillText(String(x), px(x), height - BOTTOM + 6);
      }
      for (const s of series) {
        ctx.strokeStyle = s.color;
        ctx.fillStyle = s.color;
        ctx.lineWidth = 1.5;
        ctx.beginPath();
        s.points.forEach((p, i) => (i === 0 ? ctx.moveTo(px(p.x), py(p.y)) : ctx.lineTo(px(p.x), py(p.y))));
        ctx.stroke();
        // Few points (evaluations) get dots, as a sparse curve is read point by point.
        if (s.points.length <= 50) for (const p of s.points) ctx.fillRect(px(p.x) - 2, py(p.y) - 2, 4, 4);
      }
      if (series.length > 1) {
        ctx.textAlign = 'left';
        ctx.textBaseline = 'top';
        let x = LEFT + 8;
        for (const s of series) {
          ctx.fillStyle = s.color;
          ctx.fillRect(x, TOP + 2, 10, 3);
          ctx.fillText(s.name, x + 14, TOP - 2);
          x += 24 + ctx.measureText(s.name).width;
        }
      }
    };
    const schedule = () => {
      frame ||= requestAnimationFrame(draw);
    };
    draw();
    const unsubscribe = subscribe(schedule);
    const resize = new ResizeObserver(schedule);
    if (canvas.parentElement) resize.observe(canvas.parentElement);
    return () => {
      unsubscribe();
      resize.disconnect();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [read, subscribe, height]);
  return <canvas ref={ref} role="img" aria-label={label} data-testid={testId} />;
}
