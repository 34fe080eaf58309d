import type { ReactNode } from 'react';
import type { PlaygroundEntry } from '../store/run.ts';
import type { Prediction } from '../worker/protocol.ts';

/** The playground's predictions, newest first: the input, then the base and fine-tuned models'
 * answers side by side (text and image classifiers alike). */
export function PredictionsTable({ predictions, input, result }: {
  predictions: readonly PlaygroundEntry[];
  input: (entry: PlaygroundEntry) => ReactNode;
  result: (prediction: Prediction | undefined) => ReactNode;
}) {
  if (predictions.length === 0) return null;
  return (
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
            <td>{input(p)}</td>
            <td data-testid="prediction-base" data-scores={p.base?.scores.join(',')}>
              {result(p.base)}
            </td>
            <td data-testid="prediction-tuned" data-scores={p.tuned?.scores.join(',')}>
              {result(p.tuned)}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
