import { plannedAvfSteps, totalSteps, useConfig } from '../store/config.ts';
import { useFiles } from '../store/files.ts';
import { useRun } from '../store/run.ts';
import { vectorLabel } from './labels.ts';

/** AVF steps on the run's step axis (planned: hollow, done: filled) and what each one changed. */
export function AvfTimeline() {
  const events = useRun((s) => s.avf);
  const engineSteps = useRun((s) => s.totalSteps);
  const avf = useConfig((s) => s.config.avf);
  const variant = useConfig((s) => s.config.variant);
  const config = useConfig((s) => s.config);
  const trainExamples = useFiles((s) => s.dataset?.train.length ?? 0);
  const total = engineSteps || totalSteps(config, trainExamples);
  if (variant !== 'vectorfit') {
    return (
      <section className="panel">
        <h3>AVF timeline</h3>
        <p className="hint">The {variant} variant trains without Adaptive Vector Freezing.</p>
      </section>
    );
  }
  if (engineSteps === 0 && trainExamples === 0) {
    return (
      <section className="panel">
        <h3>AVF timeline</h3>
        <p className="hint">The AVF schedule appears once a dataset is chosen.</p>
      </section>
    );
  }
  const planned = plannedAvfSteps(avf).filter((step) => step <= total);
  const done = new Set(events.map((e) => e.step));
  const position = (step: number) => `${Math.min(100, (100 * step) / Math.max(1, total))}%`;
  return (
    <section className="panel" data-testid="avf-timeline">
      <h3>AVF timeline</h3>
      <div className="timeline-axis" aria-hidden>
        {planned.map((step) => (
          <span
            key={step}
            className={`timeline-mark${done.has(step) ? ' done' : ''}`}
            style={{ left: position(step) }}
            title={`AVF step ${step}`}
          />
        ))}
        <span className="timeline-end">{total}</span>
        <span className="timeline-start">0</span>
      </div>
      {events.length === 0 ? (
        <p className="hint">
          {planned.length > 0
            ? `Vectors freeze at steps ${planned.join(', ')} (the top ${avf.k} by the EMA of their strength).`
            : `No AVF step falls within the ${total} steps of this run: lower tᵢ.`}
        </p>
      ) : (
        <ol className="avf-events">
          {events.map((e) => (
            <li key={e.step} data-testid="avf-event">
              <strong>step {e.step}</strong> · froze {e.frozen.length ? e.frozen.map(vectorLabel).join(', ') : 'nothing'}
              {e.released.length > 0 && <> · released {e.released.map(vectorLabel).join(', ')}</>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
