import { useEffect, useRef } from 'react';
import type { VectorRow } from '../model/types.ts';
import { useRun } from '../store/run.ts';
import { LEGEND_GRADIENT, strengthColor } from './heatmap-colors.ts';
import { rowLabels } from './labels.ts';

const LEFT = 48;
const TOP = 22;
const CELL_H = 22;
const MAX_CELL_W = 64;

const EMPTY: VectorRow[] = [];

export type Strength = NonNullable<ReturnType<typeof useRun.getState>['strength']>;

interface Cell {
  layer: number;
  row: number;
}

/**
 * The training strength S_v of every vector (x = layer, y = the model's rows: Σq … then the
 * biases it has; Σgate Σup Σdown for a gated MLP), drawn on a canvas straight
 * from the store's subscription: strength updates never re-render React. Frozen cells are hatched
 * and outlined; vectors the variant does not train are grey.
 */
export function Heatmap({ fixed, title, testId = 'heatmap' }: { fixed?: Strength; title?: string; testId?: string } = {}) {
  const liveLayers = useRun((s) => s.strength?.layers ?? s.summary?.layers ?? 0);
  const liveRows = useRun((s) => s.strength?.rows ?? s.summary?.vectorRows ?? EMPTY);
  // A saved run's strengths (the comparison) are drawn once; the live ones follow the store.
  const layers = fixed ? fixed.layers : liveLayers;
  const rows = fixed ? fixed.rows : liveRows;
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const tooltipRef = useRef<HTMLDivElement>(null);
  const maxRef = useRef<HTMLSpanElement>(null);
  const hover = useRef<{ cell: Cell; x: number; y: number } | null>(null);

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas || layers === 0) return;
    let frame = 0;
    const labels = rowLabels(rows);
    const ROWS = rows.length;
    const cellW = Math.max(8, Math.min(MAX_CELL_W, ((canvas.parentElement?.clientWidth ?? 600) - LEFT) / layers));
    const width = LEFT + layers * cellW;
    const height = TOP + ROWS * CELL_H;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;

    const draw = () => {
      frame = 0;
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const strength = fixed ?? useRun.getState().strength;
      const max = strength ? maxOf(strength.values) : 0;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, width, height);
      ctx.font = '12px system-ui, sans-serif';
      ctx.fillStyle = '#1d2433';
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      labels.forEach((label, row) => ctx.fillText(label, LEFT - 8, TOP + row * CELL_H + CELL_H / 2));
      ctx.textAlign = 'center';
      const labelEvery = Math.ceil(28 / cellW);
      for (let l = 0; l < layers; l += labelEvery) ctx.fillText(String(l), LEFT + l * cellW + cellW / 2, TOP / 2);
      for (let l = 0; l < layers; l++) {
        for (let row = 0; row < ROWS; row++) {
          const x = LEFT + l * cellW;
          const y = TOP + row * CELL_H;
          const i = l * ROWS + row;
          const frozen = strength ? strength.frozen[i] === 1 : false;
          const trained = strength ? strength.trainable[i] === 1 || frozen : true;
          ctx.fillStyle = !strength ? '#e4e7ef' : trained ? strengthColor(max > 0 ? strength.values[i] / max : 0) : '#c9ccd4';
          ctx.fillRect(x + 0.5, y + 0.5, cellW - 1, CELL_H - 1);
          if (frozen) hatch(ctx, x + 0.5, y + 0.5, cellW - 1, CELL_H - 1);
        }
      }
      canvas.dataset.step = String(strength?.step ?? -1);
      canvas.dataset.rows = labels.join(' ');
      canvas.dataset.frozen = String(strength ? strength.frozen.reduce((a, b) => a + b, 0) : 0);
      if (maxRef.current) maxRef.current.textContent = max > 0 ? max.toExponential(2) : '0';
      updateTooltip(tooltipRef.current, hover.current, strength, labels);
    };
    const schedule = () => {
      frame ||= requestAnimationFrame(draw);
    };
    draw();
    const unsubscribe = fixed
      ? () => undefined
      : useRun.subscribe((s, prev) => {
          if (s.strength !== prev.strength) schedule();
        });

    const onMove = (e: MouseEvent) => {
      const rect = canvas.getBoundingClientRect();
      const layer = Math.floor((e.clientX - rect.left - LEFT) / cellW);
      const row = Math.floor((e.clientY - rect.top - TOP) / CELL_H);
      hover.current =
        layer >= 0 && layer < layers && row >= 0 && row < ROWS
          ? { cell: { layer, row }, x: e.clientX - rect.left, y: e.clientY - rect.top }
          : null;
      updateTooltip(tooltipRef.current, hover.current, fixed ?? useRun.getState().strength, labels);
    };
    const onLeave = () => {
      hover.current = null;
      updateTooltip(tooltipRef.current, null, null, labels);
    };
    canvas.addEventListener('mousemove', onMove);
    canvas.addEventListener('mouseleave', onLeave);
    return () => {
      unsubscribe();
      if (frame) cancelAnimationFrame(frame);
      canvas.removeEventListener('mousemove', onMove);
      canvas.removeEventListener('mouseleave', onLeave);
    };
  }, [layers, rows, fixed]);

  return (
    <section className="panel heatmap-panel">
      <h3>{title ?? 'Training strength S_v = ‖v₀ − v_t‖₁ / dim(v)'}</h3>
      {layers === 0 ? (
        <p className="hint">The heatmap appears once a model is loaded.</p>
      ) : (
        <>
          <div className="heatmap-wrap">
            <canvas ref={canvasRef} data-testid={testId} aria-label="Training strength of every Σ and bias vector per layer" />
            <div ref={tooltipRef} className="tooltip" data-testid={`${testId}-tooltip`} hidden />
          </div>
          <div className="legend" data-testid={`${testId}-legend`}>
            <span>0</span>
            <span className="legend-bar" style={{ background: LEGEND_GRADIENT }} />
            <span ref={maxRef}>0</span>
            <span className="legend-key frozen-key" /> frozen by AVF
            <span className="legend-key untrained-key" /> not trained by this variant
            <span className="hint">x: layer</span>
          </div>
        </>
      )}
    </section>
  );
}

function maxOf(values: Float32Array): number {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  return max;
}

function hatch(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number) {
  ctx.save();
  ctx.beginPath();
  ctx.rect(x, y, w, h);
  ctx.clip();
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.85)';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  for (let d = -h; d < w; d += 6) {
    ctx.moveTo(x + d, y + h);
    ctx.lineTo(x + d + h, y);
  }
  ctx.stroke();
  ctx.restore();
  ctx.strokeStyle = '#d7263d';
  ctx.lineWidth = 2;
  ctx.strokeRect(x + 1, y + 1, w - 2, h - 2);
}

/** The tooltip is written imperatively so hovering re-renders nothing. */
function updateTooltip(el: HTMLDivElement | null, hover: { cell: Cell; x: number; y: number } | null, strength: Strength | null, labels: string[]) {
  if (!el) return;
  if (!hover) {
    el.hidden = true;
    return;
  }
  const { layer, row } = hover.cell;
  const i = layer * labels.length + row;
  const state = !strength
    ? 'not started'
    : strength.frozen[i]
      ? 'frozen'
      : strength.trainable[i]
        ? 'trainable'
        : 'not trained by this variant';
  const value = strength ? strength.values[i].toExponential(4) : '—';
  el.textContent = `layer ${layer} · ${labels[row]} · S = ${value} · ${state}`;
  el.hidden = false;
  el.style.left = `${hover.x + 12}px`;
  el.style.top = `${hover.y + 12}px`;
}
