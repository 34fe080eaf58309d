// The saved runs: settings, final metrics and size of each, a delete button, the library's size
// and the storage quota, and "Continue <run> from step N" for a run that stopped before its end.
import { continueRun } from '../store/engine.ts';
import { useErrors } from '../store/errors.ts';
import { isRunning, useRun } from '../store/run.ts';
import { canContinue, deleteRun, libraryBytes, useRuns, type RunRecord } from '../store/runs.ts';
import { formatBytes, formatCount } from './labels.ts';

function finalMetrics(run: RunRecord): string {
  const last = run.evals.at(-1);
  if (!last) return '—';
  return Object.entries(last.metrics)
    .map(([k, v]) => `${k} ${v.toFixed(4)}`)
    .join(' · ');
}

function settings(run: RunRecord): string {
  const c = run.config;
  // QA windows: their length and overlap make the run's data.
  const qa = run.data.qaStride === undefined ? '' : ` · windows of ${c.maxLength}, stride ${run.data.qaStride}`;
  // The schedule where it is not the default, and warm-up, weight decay and clipping where set.
  const schedule = `${c.lrSchedule === 'linear' ? '' : ` ${c.lrSchedule}`}${c.warmupRatio ? `, warm-up ${c.warmupRatio}` : ''}`;
  const clip = `${c.weightDecay ? ` · weight decay ${c.weightDecay}` : ''}${c.maxGradNorm ? ` · clip ${c.maxGradNorm}` : ''}`;
  return `${c.variant} · lr ${c.lr}${schedule} · batch ${c.batchSize}${(c.gradientAccumulation ?? 1) > 1 ? ` × ${c.gradientAccumulation}` : ''} · ${c.epochs} epochs${clip} · seed ${c.seed}${qa}`;
}

function remove(run: RunRecord) {
  deleteRun(run.id).catch((error: unknown) => useErrors.getState().report('runs', error, run.name));
}

export function ContinueOffer() {
  const runs = useRuns((s) => s.runs);
  const activeId = useRuns((s) => s.activeId);
  const busy = useRun((s) => isRunning(s.state) || s.state === 'loading');
  const run = runs.find((r) => canContinue(r) && r.id !== activeId);
  if (!run) return null;
  return (
    <div className="continue-offer" data-testid="continue-offer">
      <button className="primary" disabled={busy} data-testid="continue-latest" onClick={() => void continueRun(run.id)}>
        Continue {run.name} from step {formatCount(run.checkpointStep ?? 0)}
      </button>
      <span className="hint">
        {' '}
        saved {new Date(run.updatedAt).toLocaleString()}, {run.state}
      </span>
    </div>
  );
}

export function Runs() {
  const runs = useRuns((s) => s.runs);
  const ready = useRuns((s) => s.ready);
  const quota = useRuns((s) => s.quota);
  const selected = useRuns((s) => s.selected);
  const activeId = useRuns((s) => s.activeId);
  const toggle = useRuns((s) => s.toggleSelected);
  const busy = useRun((s) => isRunning(s.state) || s.state === 'loading');
  return (
    <section className="panel runs" data-testid="runs">
      <h3>Runs</h3>
      {quota && (
        <p className="hint" data-testid="storage-quota">
          Browser storage: {formatBytes(quota.usage)} used of {formatBytes(quota.quota)} ·{' '}
          {quota.persisted ? 'kept under storage pressure (persistent)' : 'may be evicted under storage pressure (not persistent)'}
        </p>
      )}
      {!ready ? (
        <p className="hint">Reading saved runs…</p>
      ) : runs.length === 0 ? (
        <p className="hint">Every run you train is kept here with its files, settings, log and checkpoint.</p>
      ) : (
        <>
          <p className="hint" data-testid="library-size" data-bytes={libraryBytes(runs)}>
            The library holds {formatBytes(libraryBytes(runs))}: a file that several runs share is stored once (each run's size counts it).
          </p>
          <table className="run-table">
            <thead>
              <tr>
                <th scope="col">Compare</th>
                <th scope="col">Run</th>
                <th scope="col">Settings</th>
                <th scope="col">Progress</th>
                <th scope="col">Final metrics</th>
                <th scope="col">Size</th>
                <th scope="col" />
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.id} data-testid="run-row" data-run={run.id} data-state={run.state} data-checkpoint={run.checkpointStep ?? ''} data-bytes={run.bytes}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`Compare ${run.name}`}
                      data-testid="run-compare"
                      checked={selected.includes(run.id)}
                      onChange={() => toggle(run.id)}
                    />
                  </td>
                  <td>
                    <strong>{run.name}</strong>
                    {run.id === activeId && ' (open)'}
                    <br />
                    <span className="hint">
                      {new Date(run.createdAt).toLocaleString()}
                      {run.data.trainFiles && ` · folder of ${formatCount(run.data.trainFiles.length)} files`}
                    </span>
                  </td>
                  <td data-testid="run-settings">{settings(run)}</td>
                  <td>
                    {run.state} · step {formatCount(run.lastStep?.step ?? 0)} / {formatCount(run.totalSteps)}
                    {run.checkpointStep !== null && <> · checkpoint at {formatCount(run.checkpointStep)}</>}
                  </td>
                  <td data-testid="run-metrics">{finalMetrics(run)}</td>
                  <td>{formatBytes(run.bytes)}</td>
                  <td className="run-actions">
                    {canContinue(run) && run.id !== activeId && (
                      <button disabled={busy} data-testid="run-continue" onClick={() => void continueRun(run.id)}>
                        Continue
                      </button>
                    )}
                    <button disabled={busy && run.id === activeId} data-testid="run-delete" onClick={() => remove(run)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
