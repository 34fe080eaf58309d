import { useMemo } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useRun, type LossPoint } from '../store/run.ts';

/** Recharts draws SVG: keep a long run's loss curve to about this many points. */
const MAX_POINTS = 500;
const COLORS = ['#2f6fde', '#d7263d', '#1b998b', '#f49d37', '#8b5fbf'];

/** Every n-th point (the last one always kept) so a long run draws as fast as a short one. */
function thin(points: LossPoint[]): LossPoint[] {
  if (points.length <= MAX_POINTS) return points;
  const every = Math.ceil(points.length / MAX_POINTS);
  const out = points.filter((_, i) => i % every === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

export function LossChart() {
  const losses = useRun((s) => s.losses);
  const data = useMemo(() => thin(losses), [losses]);
  return (
    <section className="panel chart" data-testid="loss-chart">
      <h3>Training loss</h3>
      {data.length === 0 ? (
        <p className="hint">The loss appears with the first step.</p>
      ) : (
        <ResponsiveContainer width="100%" height={220}>
          <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
            <CartesianGrid stroke="#e4e7ef" />
            <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} />
            <YAxis width={48} tickFormatter={(v: number) => v.toFixed(2)} />
            <Tooltip formatter={(v) => Number(v).toFixed(4)} />
            <Line dataKey="loss" stroke={COLORS[0]} dot={false} isAnimationActive={false} />
          </LineChart>
        </ResponsiveContainer>
      )}
    </section>
  );
}

export function MetricChart() {
  const evals = useRun((s) => s.evals);
  const { data, keys } = useMemo(() => {
    const keys = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))];
    return { keys, data: evals.map((e) => ({ step: e.step, ...e.metrics })) };
  }, [evals]);
  const last = evals[evals.length - 1];
  return (
    <section className="panel chart" data-testid="metric-chart">
      <h3>Validation</h3>
      {data.length === 0 ? (
        <p className="hint">Metrics appear after the first evaluation (each epoch).</p>
      ) : (
        <>
          <ResponsiveContainer width="100%" height={200}>
            <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
              <CartesianGrid stroke="#e4e7ef" />
              <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} />
              <YAxis width={48} tickFormatter={(v: number) => v.toFixed(2)} />
              <Tooltip formatter={(v) => Number(v).toFixed(4)} />
              <Legend />
              {keys.map((key, i) => (
                <Line key={key} dataKey={key} stroke={COLORS[i % COLORS.length]} isAnimationActive={false} />
              ))}
            </LineChart>
          </ResponsiveContainer>
          <p className="metrics-latest" data-testid="metrics-latest">
            Epoch {last.epoch + 1}, step {last.step}:{' '}
            {Object.entries(last.metrics)
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join(' · ')}
          </p>
        </>
      )}
    </section>
  );
}
