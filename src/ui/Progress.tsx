import { useRun } from '../store/run.ts';
import { formatCount, formatDuration, formatLoss } from './labels.ts';

export function Progress() {
  const state = useRun((s) => s.state);
  const loading = useRun((s) => s.loading);
  const step = useRun((s) => s.step);
  const total = useRun((s) => s.totalSteps);
  const checkpoint = useRun((s) => s.checkpoint);
  const earlyStop = useRun((s) => s.earlyStop);
  if (loading) {
    const fraction = loading.total > 0 ? loading.done / loading.total : 0;
    return (
      <section className="progress" data-testid="progress" data-state={state}>
        <progress value={fraction} max={1} />
        <p>
          {loading.phase}: {loading.message}
        </p>
      </section>
    );
  }
  const done = step?.step ?? 0;
  const steps = step?.totalSteps ?? total;
  const eta = step && step.stepsPerSecond > 0 ? (steps - done) / step.stepsPerSecond : NaN;
  return (
    <section className="progress" data-testid="progress" data-state={state} data-step={done}>
      <progress value={steps > 0 ? done / steps : 0} max={1} />
      <p>
        <span className={`state state-${state}`}>{state}</span>
        {step ? (
          <>
            {' '}
            step {formatCount(done)} / {formatCount(steps)} · epoch {step.epoch + 1} · loss {formatLoss(step.loss)} · lr{' '}
            {step.lr.toExponential(2)}
            {step.gradNorm !== undefined && <> · grad norm {step.gradNorm.toPrecision(3)}</>} · {step.stepsPerSecond.toFixed(2)} steps/s ·{' '}
            {formatCount(Math.round(step.tokensPerSecond))} tokens/s · ETA {formatDuration(eta)}
          </>
        ) : (
          steps > 0 && <> · {formatCount(steps)} steps planned</>
        )}
      </p>
      {earlyStop && (
        <p className="hint" data-testid="early-stop">
          Stopped early at step {earlyStop.step}: no better {earlyStop.metric} since step {earlyStop.bestStep} ({earlyStop.best.toFixed(4)}).
        </p>
      )}
      {checkpoint && (
        <p className="hint" data-testid="checkpoint-note">
          {checkpoint.message}
        </p>
      )}
    </section>
  );
}
