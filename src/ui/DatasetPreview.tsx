import { unreachable } from '../util/unreachable.ts';
import type { ChangeEvent } from 'react';
import { useFiles, type Columns } from '../store/files.ts';
import { ImagePreview } from './ImagePreview.tsx';
import { formatCount } from './labels.ts';
import { TokenTaskPreview } from './TokenTaskPreview.tsx';
import { ValidationSource } from './ValidationSource.tsx';

const PREVIEW_ROWS = 8;

const ROLES: { key: keyof Columns; label: string; optional: boolean }[] = [
  { key: 'text', label: 'Text', optional: false },
  { key: 'textPair', label: 'Text pair', optional: true },
  { key: 'label', label: 'Label', optional: false },
];

export function DatasetPreview() {
  const train = useFiles((s) => s.train);
  const validation = useFiles((s) => s.validation);
  const columns = useFiles((s) => s.columns);
  const dataset = useFiles((s) => s.dataset);
  const mapping = useFiles((s) => s.mapping);
  const warning = useFiles((s) => s.columnWarning);
  const images = useFiles((s) => s.images);
  const { setColumn } = useFiles.getState();
  if (images) return <ImagePreview />;
  if (!train) return null;
  if (train.tokenTask) return <TokenTaskPreview />;
  const { table } = train;
  const roleOf = (column: string) => ROLES.find((r) => columns[r.key] === column)?.label;
  // The chosen columns first, so text and pair are both in view however wide the file is.
  const chosen = ROLES.map((r) => columns[r.key]).filter((c): c is string => c !== undefined && table.columns.includes(c));
  const shown = [...chosen, ...table.columns.filter((c) => !chosen.includes(c))].map((name) => ({ name, index: table.columns.indexOf(name) }));
  return (
    <section className="panel" data-testid="dataset-preview">
      <h3>Preview: {train.fileName}</h3>
      <div className="column-pickers">
        {ROLES.map((role) => (
          <label key={role.key}>
            {role.label}
            <select
              data-testid={`column-${role.key}`}
              value={columns[role.key] ?? ''}
              onChange={(e: ChangeEvent<HTMLSelectElement>) =>
                setColumn(role.key, e.target.value === '' ? undefined : e.target.value)
              }
            >
              <option value="">{role.optional ? '(none)' : '(choose)'}</option>
              {table.columns.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
        ))}
      </div>
      {mapping && (
        <p className="mapping" data-testid="column-mapping">
          Reading {mapping}
        </p>
      )}
      {warning && (
        <p className="warning" role="status" data-testid="column-warning">
          ⚠ {warning[0].toUpperCase() + warning.slice(1)}
        </p>
      )}
      <div className="table-scroll">
        <table className="preview">
          <thead>
            <tr>
              {shown.map(({ name }) => (
                <th key={name}>
                  {name}
                  {roleOf(name) && <span className="role">{roleOf(name)}</span>}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.slice(0, PREVIEW_ROWS).map((row, r) => (
              <tr key={r}>
                {shown.map(({ index }) => (
                  <td key={index}>{cellText(row[index])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ValidationSource fileLabel={validation ? `the file ${validation.fileName}` : 'a second file (drop one above)'} hasFile={validation !== null} unit="rows" />
      {dataset && (
        <p className="dataset-summary" data-testid="dataset-summary">
          {taskLabel(dataset)}
          : {formatCount(dataset.train.length)} training and {formatCount(dataset.validation.length)} validation examples.
        </p>
      )}
    </section>
  );
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  } catch {
    return String(value);
  }
}

function taskLabel(dataset: NonNullable<ReturnType<typeof useFiles.getState>['dataset']>): string {
  switch (dataset.task) {
    case 'classification':
      return `Classification into ${dataset.labelNames.length} classes (${dataset.labelNames.join(', ')})`;
    case 'regression':
      return 'Regression';
    case 'causal-lm':
      return 'Causal language modelling';
    case 'question-answering':
      return 'Extractive question answering';
    case 'token-classification':
      return `Token classification with ${dataset.labelNames.length} tags (${dataset.labelNames.join(', ')})`;
    default:
      return unreachable(dataset.task, 'task');
  }
}
