import { requestExport } from '../store/engine.ts';
import { useRun } from '../store/run.ts';
import type { ExportKind } from '../worker/protocol.ts';

const EXPORTS: { kind: ExportKind; label: string; detail: string }[] = [
  { kind: 'vectors', label: 'Trained vectors', detail: 'Σ, biases and head as safetensors + adapter_config.json' },
  { kind: 'merged', label: 'Merged model', detail: 'W = U·diag(Σ)·Vᵀ written back: a plain Hugging Face folder' },
  { kind: 'log', label: 'Training log', detail: 'loss, metrics, strengths and AVF events' },
];

export function Exports() {
  const state = useRun((s) => s.state);
  const exporting = useRun((s) => s.exporting);
  const trained = useRun((s) => s.step !== null);
  const available = trained && (state === 'paused' || state === 'stopped' || state === 'finished');
  return (
    <section className="panel" data-testid="exports">
      <h3>Export</h3>
      <div className="export-buttons">
        {EXPORTS.map((e) => (
          <button
            key={e.kind}
            data-testid={`export-${e.kind}`}
            disabled={!available || exporting !== null}
            title={e.detail}
            onClick={() => requestExport(e.kind)}
          >
            {exporting === e.kind ? 'Preparing…' : e.label}
          </button>
        ))}
      </div>
      <p className="hint">{available ? 'Files download to your machine; nothing is uploaded.' : 'Available when training is paused, stopped or finished.'}</p>
    </section>
  );
}
