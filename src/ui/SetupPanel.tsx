import { totalSteps, useConfig } from '../store/config.ts';
import { useFiles } from '../store/files.ts';
import { isRunning, useRun } from '../store/run.ts';
import { formatBytes } from '../model/memory.ts';
import { effectiveBatch } from '../train/defaults.ts';
import { defaultWatchedMetric, TASK_METRICS } from '../train/metrics.ts';
import { LR_SCHEDULES, type LrSchedule } from '../train/schedule.ts';
import { VARIANTS, type Variant } from '../train/types.ts';
import { formatCount, SCHEDULE_LABELS, VARIANT_LABELS } from './labels.ts';
import { NumberField } from './NumberField.tsx';
import { QaStrideField } from './QaStrideField.tsx';

export function SetupPanel() {
  const config = useConfig((s) => s.config);
  const { set, setAvf } = useConfig.getState();
  const trainExamples = useFiles((s) => s.dataset?.train.length ?? 0);
  const task = useFiles((s) => s.dataset?.task);
  const hasValidation = useFiles((s) => (s.dataset?.validation.length ?? 0) > 0);
  // An image model reads a fixed number of patches: no token length to set.
  const images = useFiles((s) => s.images !== null);
  const state = useRun((s) => s.state);
  const summary = useRun((s) => s.summary);
  const locked = isRunning(state);
  const avfOff = locked || config.variant !== 'vectorfit';
  const steps = totalSteps(config, trainExamples);
  return (
    <section className="panel setup" data-testid="setup">
      <h2>Setup</h2>
      <label className="field wide">
        <span>Variant</span>
        <select
          value={config.variant}
          disabled={locked}
          data-testid="variant"
          onChange={(e) => set('variant', e.target.value as Variant)}
        >
          {VARIANTS.map((v) => (
            <option key={v} value={v}>
              {v} — {VARIANT_LABELS[v]}
            </option>
          ))}
        </select>
      </label>
      <div className="fields">
        <NumberField label="Learning rate" value={config.lr} min={Number.MIN_VALUE} disabled={locked} onChange={(v) => set('lr', v)} testId="lr" />
        <NumberField label="Batch size" value={config.batchSize} integer min={1} disabled={locked} onChange={(v) => set('batchSize', v)} testId="batch" />
        <NumberField
          label="Grad accumulation"
          value={config.gradientAccumulation ?? 1}
          integer
          min={1}
          disabled={locked}
          onChange={(v) => set('gradientAccumulation', v)}
          title="Micro-batches of the batch size per step, their gradients summed: a larger effective batch in the GPU memory of one micro-batch (Hugging Face's gradient_accumulation_steps)"
          testId="accumulation"
        />
        <NumberField label="Epochs" value={config.epochs} integer min={1} disabled={locked} onChange={(v) => set('epochs', v)} testId="epochs" />
        <label className="field">
          <span>Schedule</span>
          <select
            value={config.lrSchedule}
            disabled={locked}
            data-testid="schedule"
            onChange={(e) => set('lrSchedule', e.target.value as LrSchedule)}
          >
            {LR_SCHEDULES.map((s) => (
              <option key={s} value={s}>
                {SCHEDULE_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        <NumberField
          label="Warm-up ratio"
          value={config.warmupRatio ?? 0}
          max={1}
          disabled={locked}
          onChange={(v) => set('warmupRatio', v)}
          title="Share of the steps over which the learning rate rises from 0 (Hugging Face's warmup_ratio)"
          testId="warmup"
        />
        <NumberField
          label="Weight decay"
          value={config.weightDecay}
          disabled={locked}
          onChange={(v) => set('weightDecay', v)}
          title="AdamW's decoupled weight decay on Σ and the head's weights; biases are spared, as in Hugging Face's Trainer"
          testId="weight-decay"
        />
        <NumberField
          label="Clip grad norm"
          value={config.maxGradNorm ?? 0}
          disabled={locked}
          onChange={(v) => set('maxGradNorm', v)}
          title="Scale each step's gradients down to this global L2 norm (Hugging Face's max_grad_norm); 0 = no clipping"
          testId="max-grad-norm"
        />
        {!images && (
          <NumberField label="Max length" value={config.maxLength} integer min={8} disabled={locked} onChange={(v) => set('maxLength', v)} title="Tokens per example after truncation (QA: the window length)" testId="max-length" />
        )}
        <QaStrideField />
        <NumberField label="Seed" value={config.seed} integer disabled={locked} onChange={(v) => set('seed', v)} />
      </div>
      <h3>Evaluation</h3>
      <div className="fields">
        <NumberField
          label="Evaluate every"
          value={config.evalEvery}
          integer
          disabled={locked}
          onChange={(v) => set('evalEvery', v)}
          title="Steps between evaluations on the validation data, besides one after each epoch (0: after each epoch only)"
          testId="eval-every"
        />
        <label className="field" title="The validation metric that picks the best checkpoint and that early stopping watches">
          <span>Best by</span>
          <select value={config.metric ?? ''} disabled={locked} data-testid="watched-metric" onChange={(e) => set('metric', e.target.value || undefined)}>
            <option value="">{task ? `${defaultWatchedMetric(task)} (default)` : 'the task’s default'}</option>
            {(task ? TASK_METRICS[task] : []).map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <NumberField
          label="Early-stop patience"
          value={config.patience ?? 0}
          integer
          disabled={locked || !hasValidation}
          onChange={(v) => set('patience', v)}
          title={hasValidation ? 'Stop after this many evaluations without a better metric (0: never)' : 'Early stopping needs validation data'}
          testId="patience"
        />
      </div>
      <h3>Adaptive Vector Freezing</h3>
      <div className="fields">
        <NumberField label="tᵢ (first AVF step)" value={config.avf.start} integer min={1} disabled={avfOff} onChange={(v) => setAvf('start', v)} testId="avf-start" />
        <NumberField label="t_f (steps between)" value={config.avf.interval} integer min={1} disabled={avfOff} onChange={(v) => setAvf('interval', v)} testId="avf-interval" />
        <NumberField label="n_f (AVF steps)" value={config.avf.count} integer min={1} disabled={avfOff} onChange={(v) => setAvf('count', v)} testId="avf-count" />
        <NumberField label="k (vectors frozen)" value={config.avf.k} integer min={1} disabled={avfOff} onChange={(v) => setAvf('k', v)} testId="avf-k" />
      </div>
      {summary?.headNote && (
        <p className="warning" role="status" data-testid="head-note">
          {summary.headNote}
        </p>
      )}
      <p className="counts" data-testid="param-counts">
        {trainExamples > 0 && (
          <>
            {formatCount(steps)} steps
            {(config.gradientAccumulation ?? 1) > 1 && <> of {formatCount(effectiveBatch(config))} examples ({config.batchSize} × {config.gradientAccumulation} accumulated)</>}.{' '}
          </>
        )}
        {summary ? (
          <>
            Trainable parameters: <strong>{formatCount(summary.trainableParameters)}</strong> of{' '}
            {formatCount(summary.totalParameters)} (
            <strong>{((100 * summary.trainableParameters) / summary.totalParameters).toFixed(3)}%</strong>). GPU memory held:{' '}
            <span data-testid="gpu-memory">{formatBytes(summary.gpuBytes)}</span>
          </>
        ) : (
          'The trainable-parameter count appears once the engine has read the model.'
        )}
      </p>
    </section>
  );
}
