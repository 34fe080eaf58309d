import { requestExport } from '../store/engine.ts';
import { useErrors } from '../store/errors.ts';
import { useRun, type LoraReport } from '../store/run.ts';
import { canPickFolder, pickFolder } from '../store/save-export.ts';
import { useState } from 'react';
import type { ExportKind, ExportWhich } from '../worker/protocol.ts';

const EXPORTS: { kind: ExportKind; label: string; detail: string }[] = [
  { kind: 'vectors', label: 'Trained vectors', detail: 'Σ, biases and head as safetensors + adapter_config.json' },
  { kind: 'merged', label: 'Merged model', detail: 'W = U·diag(Σ)·Vᵀ written back: a plain Hugging Face folder' },
  { kind: 'lora', label: 'LoRA (PEFT)', detail: 'ΔW = U·diag(ΔΣ)·Vᵀ as PEFT lora_A/lora_B at full rank: adapter_model.safetensors + adapter_config.json' },
  { kind: 'log', label: 'Training log', detail: 'loss, metrics, strengths and AVF events' },
];

async function exportToFolder(kind: ExportKind, which: ExportWhich | undefined, rank: number | undefined) {
  try {
    if (await pickFolder(kind)) requestExport(kind, which, rank);
  } catch (error) {
    useErrors.getState().report('export', error);
  }
}

export function Exports() {
  const state = useRun((s) => s.state);
  const exporting = useRun((s) => s.exporting);
  const trained = useRun((s) => s.step !== null);
  const available = trained && (state === 'paused' || state === 'stopped' || state === 'finished');
  const folders = canPickFolder();
  const best = useRun((s) => s.best);
  const [fromBest, setFromBest] = useState(false);
  const [rankText, setRankText] = useState('');
  const rank = /^\d+$/.test(rankText.trim()) && Number(rankText) > 0 ? Number(rankText) : undefined;
  const rankInvalid = rankText.trim() !== '' && rank === undefined;
  const report = useRun((s) => s.loraReport);
  // The log is the whole run's; the others take the parameters of the chosen checkpoint.
  const whichFor = (kind: ExportKind): ExportWhich | undefined => (best && fromBest && kind !== 'log' ? 'best' : undefined);
  return (
    <section className="panel" data-testid="exports">
      <h3>Export</h3>
      <table className="export-table">
        <tbody>
          {EXPORTS.map((e) => (
            <tr key={e.kind}>
              <th scope="row" title={e.detail}>
                {exporting === e.kind ? 'Preparing…' : e.label}
              </th>
              <td>
                <button data-testid={`export-${e.kind}`} disabled={!available || exporting !== null} onClick={() => requestExport(e.kind, whichFor(e.kind), rank)}>
                  Download .zip
                </button>{' '}
                {folders && (
                  <button data-testid={`export-${e.kind}-folder`} disabled={!available || exporting !== null} onClick={() => void exportToFolder(e.kind, whichFor(e.kind), rank)}>
                    Save to a folder…
                  </button>
                )}
                {e.kind === 'lora' && (
                  <label className="hint">
                    {' '}
                    rank r{' '}
                    <input
                      className="small"
                      placeholder="full"
                      value={rankText}
                      aria-invalid={rankInvalid}
                      data-testid="lora-rank"
                      onChange={(ev) => setRankText(ev.currentTarget.value)}
                    />
                  </label>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {report && <LoraSummary report={report} />}
      {best && (
        <label className="hint">
          <input type="checkbox" checked={fromBest} data-testid="export-best" onChange={(e) => setFromBest(e.currentTarget.checked)} /> From the best
          checkpoint: step {best.step}, {best.metric} {best.value.toFixed(4)}
        </label>
      )}
      <p className="hint">
        {available
          ? 'Each export is one folder (written where you pick) or one .zip; nothing is uploaded.'
          : 'Available when training is paused, stopped or finished.'}
      </p>
    </section>
  );
}

const pct = (x: number) => `${(100 * x).toPrecision(3)}%`;

/** The last LoRA export's truncation: per module and overall, and the validation logits' change. */
function LoraSummary({ report }: { report: LoraReport }) {
  const logits = report.validation_logits;
  return (
    <details className="hint" data-testid="lora-report">
      <summary>
        LoRA r = {report.r} (step {report.step}): truncation error {pct(report.overall_truncation_error)} of ‖ΔW‖_F overall
        {logits
          ? `; validation logits move by at most ${logits.max_abs_change.toExponential(2)} (${pct(logits.relative_change)} relative, ${logits.examples} examples)`
          : '; no validation examples to compare logits on'}
      </summary>
      <table className="spectrum-table">
        <thead>
          <tr>
            <th scope="col">Module</th>
            <th scope="col">Kept</th>
            <th scope="col">Truncation error</th>
          </tr>
        </thead>
        <tbody>
          {report.modules.map((m) => (
            <tr key={m.path}>
              <th scope="row">{m.path}</th>
              <td>
                {m.kept} / {m.rank}
              </td>
              <td>{pct(m.truncation_error)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
