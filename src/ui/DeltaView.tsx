// Inside ΔW = U·diag(Σ − Σ₀)·Vᵀ (computed by train/delta-spectrum.ts): per module the singular
// values of ΔW (the sorted |ΔΣ|) on a log scale, the effective rank, the share of ‖ΔW‖²_F that the
// top 1 / 8 / 64 values carry, and the change of the leading singular values per layer. Drawn as
// text and SVG from numbers only (no markup from data).
import { useRun } from '../store/run.ts';
import { ATTENTION_KINDS, GATED_MLP_KINDS, PLAIN_MLP_KINDS, type ModuleKind } from '../model/types.ts';
import { useThrottled } from './use-throttled.ts';

/** The model's linears, in heatmap order: those the spectrum has a leading change for. */
function kindsOf(spectrum: { layers: { change: Partial<Record<ModuleKind, number[]>> }[] }): ModuleKind[] {
  return [...ATTENTION_KINDS, ...PLAIN_MLP_KINDS, ...GATED_MLP_KINDS].filter((k) => spectrum.layers.some((l) => l.change[k]));
}

type Spectrum = NonNullable<ReturnType<typeof useRun.getState>['deltaSpectrum']>;
/** Live (Float32Array) or saved (plain array) singular values. */
type SpectrumLike = { modules: (Omit<Spectrum['modules'][number], 'values'> & { values: ArrayLike<number> })[]; layers: Spectrum['layers'] };

const W = 120;
const H = 36;

/** log10 of the singular values as a polyline: a flat line is a full-rank change, a cliff a low-rank one. */
function SpectrumLine({ values }: { values: ArrayLike<number> }) {
  const positive = Array.from(values).filter((v) => v > 0);
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

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');

export function DeltaSpectra({ spectrum, testId = 'delta-spectra' }: { spectrum: SpectrumLike; testId?: string }) {
  return (
    <div className="delta-spectra" data-testid={testId}>
      <table className="spectrum-table">
        <thead>
          <tr>
            <th scope="col">Module</th>
            <th scope="col">|ΔΣ| sorted (log)</th>
            <th scope="col" title="exp of the entropy of s/Σs: 1 for a rank-one ΔW, n for n equal values">
              Effective rank
            </th>
            <th scope="col" title="singular values above 1% of the largest">
              Above 1%
            </th>
            <th scope="col" title="share of ‖ΔW‖²_F in the largest singular value">
              Top 1
            </th>
            <th scope="col">Top 8</th>
            <th scope="col">Top 64</th>
          </tr>
        </thead>
        <tbody>
          {spectrum.modules.map((m) => (
            <tr key={m.path} data-testid="spectrum-row">
              <th scope="row" title={m.path}>
                L{m.layer} {m.module}
              </th>
              <td>
                <SpectrumLine values={m.values} />
              </td>
              <td data-testid="effective-rank">
                {m.effectiveRank.toFixed(1)} / {m.values.length}
              </td>
              <td>{m.rankAbove1Percent}</td>
              <td>{pct(m.energyTop1)}</td>
              <td>{pct(m.energyTop8)}</td>
              <td>{pct(m.energyTop64)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <table className="spectrum-table" data-testid={`${testId}-leading`}>
        <caption>Change Σ − Σ₀ of the leading singular values σ₁…σ₄ per layer</caption>
        <thead>
          <tr>
            <th scope="col">Layer</th>
            {kindsOf(spectrum).map((m) => (
              <th key={m} scope="col">
                {m}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {spectrum.layers.map((layer) => (
            <tr key={layer.layer}>
              <th scope="row">{layer.layer}</th>
              {kindsOf(spectrum).map((m) => (
                <td key={m}>{layer.change[m]?.map((d) => d.toExponential(1)).join(' ') ?? '—'}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const selectSpectrum = (s: ReturnType<typeof useRun.getState>) => s.deltaSpectrum;
/** The tables of every module re-render at most this often while training. */
const LIVE_MS = 2000;

/** The live run's ΔW, as the engine last reported it. */
export function LiveDeltaView() {
  const spectrum = useThrottled(useRun, selectSpectrum, LIVE_MS);
  return (
    <section className="panel" data-testid="delta-view">
      <h3>Inside ΔW = U·diag(Σ − Σ₀)·Vᵀ</h3>
      {spectrum ? (
        <>
          <p className="hint">At step {spectrum.step}. ΔW's singular values are the sorted |Σ − Σ₀|.</p>
          <DeltaSpectra spectrum={spectrum} />
        </>
      ) : (
        <p className="hint">The spectra of ΔW appear with the first training steps.</p>
      )}
    </section>
  );
}
