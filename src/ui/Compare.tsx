// Two or more saved runs side by side (App shows it once two are ticked): loss and metric curves overlaid, a table of final metrics,
// their strength heatmaps and their ΔW spectra next to each other (the paper's ablation views).
import { useMemo, useState } from 'react';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { strengthEvent, useRuns, type RunRecord } from '../store/runs.ts';
import { DeltaSpectra } from './DeltaView.tsx';
import { Heatmap } from './Heatmap.tsx';
import { differingSettings } from './setting-diff.ts';

const COLORS = ['#2f6fde', '#d7263d', '#1b998b', '#f49d37', '#8b5fbf', '#5c6370'];
const MAX_POINTS = 500;

/** Rows keyed by step with one column per run, as recharts overlays them. */
function overlay(runs: RunRecord[], points: (run: RunRecord) => { step: number; value: number }[]) {
  const rows = new Map<number, Record<string, number>>();
  for (const run of runs) {
    const series = points(run);
    const every = Math.max(1, Math.ceil(series.length / MAX_POINTS));
    series.forEach((p, i) => {
      if (i % every !== 0 && i !== series.length - 1) return;
      const row = rows.get(p.step) ?? { step: p.step };
      row[run.id] = p.value;
      rows.set(p.step, row);
    });
  }
  return [...rows.values()].sort((a, b) => a.step - b.step);
}

function OverlayChart({ runs, data, title, testId }: { runs: RunRecord[]; data: Record<string, number>[]; title: string; testId: string }) {
  return (
    <section className="panel chart" data-testid={testId}>
      <h3>{title}</h3>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 0 }}>
          <CartesianGrid stroke="#e4e7ef" />
          <XAxis dataKey="step" type="number" domain={['dataMin', 'dataMax']} />
          <YAxis width={48} tickFormatter={(v: number) => v.toFixed(2)} />
          <Tooltip formatter={(v) => Number(v).toFixed(4)} />
          <Legend />
          {runs.map((run, i) => (
            <Line key={run.id} dataKey={run.id} name={label(run, i)} stroke={COLORS[i % COLORS.length]} dot={false} connectNulls isAnimationActive={false} />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </section>
  );
}

const label = (run: RunRecord, i: number) => `${i + 1}. ${run.config.variant} · ${run.name}`;

export default function Compare() {
  const all = useRuns((s) => s.runs);
  const selected = useRuns((s) => s.selected);
  const runs = useMemo(() => all.filter((r) => selected.includes(r.id)), [all, selected]);
  const keys = useMemo(() => [...new Set(runs.flatMap((r) => r.evals.flatMap((e) => Object.keys(e.metrics))))], [runs]);
  const differing = useMemo(() => differingSettings(runs.map((r) => r.config)), [runs]);
  const [picked, setMetric] = useState<string | null>(null);
  const metric = picked && keys.includes(picked) ? picked : keys[0];
  const losses = useMemo(() => overlay(runs, (r) => r.losses.map((p) => ({ step: p.step, value: p.loss }))), [runs]);
  const metrics = useMemo(
    () => (metric ? overlay(runs, (r) => r.evals.filter((e) => metric in e.metrics).map((e) => ({ step: e.step, value: e.metrics[metric] }))) : []),
    [runs, metric],
  );
  return (
    <section className="panel compare" data-testid="compare">
      <h3>Compare runs</h3>
      <table className="run-table" data-testid="compare-table">
        <thead>
          <tr>
            <th scope="col">Run</th>
            <th scope="col">Variant</th>
            <th scope="col">Settings that differ</th>
            <th scope="col">Steps</th>
            <th scope="col">Final loss</th>
            {keys.map((k) => (
              <th key={k} scope="col">
                {k}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {runs.map((run, i) => {
            const last = run.evals.at(-1);
            return (
              <tr key={run.id} data-testid="compare-row">
                <th scope="row">{label(run, i)}</th>
                <td>{run.config.variant}</td>
                <td data-testid="compare-settings">{differing[i].join(' · ') || '—'}</td>
                <td>{run.lastStep?.step ?? 0}</td>
                <td>{run.losses.at(-1)?.loss.toFixed(4) ?? '—'}</td>
                {keys.map((k) => (
                  <td key={k}>{last && k in last.metrics ? last.metrics[k].toFixed(4) : '—'}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      <div className="charts">
        <OverlayChart runs={runs} data={losses} title="Training loss" testId="compare-loss" />
        {metric && (
          <div>
            <label className="hint">
              Validation metric{' '}
              <select value={metric} onChange={(e) => setMetric(e.currentTarget.value)} data-testid="compare-metric">
                {keys.map((k) => (
                  <option key={k} value={k}>
                    {k}
                  </option>
                ))}
              </select>
            </label>
            <OverlayChart runs={runs} data={metrics} title={`Validation ${metric}`} testId="compare-metric-chart" />
          </div>
        )}
      </div>
      <div className="side-by-side">
        {runs.map((run, i) => (
          <div key={run.id} className="side" data-testid="compare-run">
            <h4>{label(run, i)}</h4>
            {run.strength ? (
              <Heatmap fixed={strengthEvent(run.strength)} title={`S_v at step ${run.strength.step}`} testId={`compare-heatmap-${i}`} />
            ) : (
              <p className="hint">No strengths recorded.</p>
            )}
            {run.spectrum ? (
              <DeltaSpectra spectrum={run.spectrum} testId={`compare-spectra-${i}`} />
            ) : (
              <p className="hint">No ΔW spectra recorded.</p>
            )}
          </div>
        ))}
      </div>
    </section>
  );
}
