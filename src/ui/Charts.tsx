// The live loss and validation curves: SVG charts fed by the run store's subscription, so a step
// never re-renders React (only the latest-metrics line, once per evaluation).
import { useRun } from '../store/run.ts';
import { LiveChart, type Series } from './LiveChart.tsx';

export const COLORS = ['#2f6fde', '#d7263d', '#1b998b', '#f49d37', '#8b5fbf'];

const readLosses = (): Series[] => [{ name: 'loss', color: COLORS[0], points: useRun.getState().losses.map((p) => ({ x: p.step, y: p.loss })) }];
const readGradNorms = (): Series[] => [
  { name: 'gradient norm', color: COLORS[2], points: useRun.getState().losses.flatMap((p) => (p.gradNorm === undefined ? [] : [{ x: p.step, y: p.gradNorm }])) },
];
const onLosses = (changed: () => void) => useRun.subscribe((s, prev) => s.losses !== prev.losses && changed());

function readMetrics(): Series[] {
  const { evals } = useRun.getState();
  const keys = [...new Set(evals.flatMap((e) => Object.keys(e.metrics)))];
  return keys.map((key, i) => ({
    name: key,
    color: COLORS[i % COLORS.length],
    points: evals.filter((e) => key in e.metrics).map((e) => ({ x: e.step, y: e.metrics[key] })),
  }));
}
const onMetrics = (changed: () => void) => useRun.subscribe((s, prev) => s.evals !== prev.evals && changed());

export function LossChart() {
  const started = useRun((s) => s.losses.length > 0);
  const norms = useRun((s) => s.losses.length > 0 && s.losses[s.losses.length - 1].gradNorm !== undefined);
  return (
    <section className="panel chart" data-testid="loss-chart">
      <h3>Training loss</h3>
      {started ? (
        <>
          <LiveChart read={readLosses} subscribe={onLosses} height={220} label="Training loss per step" testId="loss-curve" />
          {norms && (
            <>
              <p className="hint">Gradient norm per step (before clipping)</p>
              <LiveChart read={readGradNorms} subscribe={onLosses} height={110} label="Gradient norm per step (before clipping)" testId="grad-norm-curve" />
            </>
          )}
        </>
      ) : (
        <p className="hint">The loss appears with the first step.</p>
      )}
    </section>
  );
}

export function MetricChart() {
  const last = useRun((s) => s.evals[s.evals.length - 1]);
  return (
    <section className="panel chart" data-testid="metric-chart">
      <h3>Validation</h3>
      {!last ? (
        <p className="hint">Metrics appear after the first evaluation (each epoch).</p>
      ) : (
        <>
          <LiveChart read={readMetrics} subscribe={onMetrics} height={200} label="Validation metrics per evaluation" testId="metric-curve" />
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
