// Inside ΔW: per module the singular values of ΔW (the sorted |ΔΣ|) on a log scale, the effective
// rank, the share the top 1 / 8 / 64 values carry, and the change of the leading singular values
// per layer. Drawn as SVG from numbers only (no markup from data).
import { useMemo } from 'react';
import { LEADING, moduleSpectrum, type ModuleDelta, type ModuleSpectrum } from '../store/spectrum.ts';
import { useRuns } from '../store/runs.ts';
import { MODULE_KINDS } from '../worker/protocol.ts';

const W = 120;
const H = 36;

/** log10 |ΔΣ| sorted, as a polyline: a flat line is a full-rank change, a cliff a low-rank one. */
function SpectrumLine({ values }: { values: number[] }) {
  const positive = values.filter((v) => v > 0);
  if (positive.length === 0) return <svg width={W} height={H} aria-label="no change" />;
  const logs = positive.map(Math.log10);
  const top = logs[0];
  const bottom = Math.min(logs[logs.length - 1], top - 1);
  const points = logs.map((v, i) => `${((i / Math.max(1, values.length - 1)) * (W - 2) + 1).toFixed(1)},${(((top - v) / (top - bottom)) * (H - 4) + 2).toFixed(1)}`);
  return (
    <svg width={W} height={H} className="spectrum-line" aria-label={`spectrum of ${values.length} values`}>
      <polyline points={points.join(' ')} fill="none" stroke="#2f6fde" strokeWidth={1.5} />
    </svg>
  );
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function DeltaSpectra({ deltas, testId = 'delta-spectra' }: { deltas: ModuleDelta[]; testId?: string }) {
  const spectra = useMemo(() => deltas.map(moduleSpectrum), [deltas]);
  const layers = [...new Set(spectra.map((s) => s.layer))].sort((a, b) => a - b);
  const at = (layer: number, module: string): ModuleSpectrum | undefined => spectra.find((s) => s.layer === layer && s.module === module);
  return (
    <div className="delta-spectra" data-testid={testId}>
      <table className="spectrum-table">
        <thead>
          <tr>
            <th scope="col">Module</th>
            <th scope="col">|ΔΣ| sorted (log)</th>
            <th scope="col">Effective rank</th>
            <th scope="col">Top 1</th>
            <th scope="col">Top 8</th>
            <th scope="col">Top 64</th>
          </tr>
        </thead>
        <tbody>
          {spectra.map((s) => (
            <tr key={`${s.layer}-${s.module}`} data-testid="spectrum-row">
              <th scope="row">
                L{s.layer} {s.module}
              </th>
              <td>
                <SpectrumLine values={s.values} />
              </td>
              <td data-testid="effective-rank">
                {s.effectiveRank.toFixed(1)} / {s.values.length}
              </td>
              <td>{pct(s.top1)}</td>
              <td>{pct(s.top8)}</td>
              <td>{pct(s.top64)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="spectrum-table" data-testid={`${testId}-leading`}>
        <caption>Change of the leading singular values σ₁…σ{LEADING} per layer</caption>
        <thead>
          <tr>
            <th scope="col">Layer</th>
            {MODULE_KINDS.map((m) => (
              <th key={m} scope="col">
                {m}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {layers.map((layer) => (
            <tr key={layer}>
              <th scope="row">{layer}</th>
              {MODULE_KINDS.map((m) => (
                <td key={m}>
                  {at(layer, m)
                    ?.leading.map((d) => d.toExponential(1))
                    .join(' ') ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The open run's ΔW, as of its last checkpoint (every epoch, and at a pause or stop). */
export function LiveDeltaView() {
  const run = useRuns((s) => s.runs.find((r) => r.id === s.activeId));
  return (
    <section className="panel" data-testid="delta-view">
      <h3>Inside ΔW = U·diag(Σ − Σ₀)·Vᵀ</h3>
      {run?.deltas ? (
        <>
          <p className="hint">As of the checkpoint at step {run.checkpointStep}.</p>
          <DeltaSpectra deltas={run.deltas} />
        </>
      ) : (
        <p className="hint">The spectra of ΔW appear at the run's first checkpoint (each epoch, and at a pause or stop).</p>
      )}
    </section>
  );
}
