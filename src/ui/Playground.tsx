import { useState } from 'react';
import { predict } from '../store/engine.ts';
import { useFiles } from '../store/files.ts';
import { hasModel, useRun } from '../store/run.ts';
import type { Prediction } from '../worker/protocol.ts';

export function Playground() {
  const [text, setText] = useState('');
  const [pair, setPair] = useState('');
  const paired = useFiles((s) => s.columns.textPair !== undefined);
  const canPredict = useRun((s) => hasModel(s.state));
  const predictions = useRun((s) => s.predictions);
  return (
    <section className="panel" data-testid="playground">
      <h3>Playground</h3>
      <form
        className="playground-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim()) predict(text, paired ? pair : undefined);
        }}
      >
        <input data-testid="playground-text" placeholder="Type a sentence" value={text} onChange={(e) => setText(e.target.value)} />
        {paired && <input placeholder="Second sentence" value={pair} onChange={(e) => setPair(e.target.value)} />}
        <button type="submit" disabled={!canPredict || !text.trim()}>
          Predict
        </button>
      </form>
      {predictions.length > 0 && (
        <table className="predictions">
          <thead>
            <tr>
              <th>Input</th>
              <th>Base model</th>
              <th>Fine-tuned</th>
            </tr>
          </thead>
          <tbody>
            {predictions.map((p) => (
              <tr key={p.id} data-testid="prediction">
                <td>
                  {p.text}
                  {p.textPair && <> / {p.textPair}</>}
                </td>
                <td data-testid="prediction-base" data-scores={p.base?.scores.join(',')}>
                  {describe(p.base)}
                </td>
                <td data-testid="prediction-tuned" data-scores={p.tuned?.scores.join(',')}>
                  {describe(p.tuned)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function describe(p: Prediction | undefined): string {
  if (!p) return '…';
  if (p.scores.length <= 1) return p.label;
  return `${p.label} (${(100 * Math.max(...p.scores)).toFixed(1)}%)`;
}
