import { useFiles } from '../store/files.ts';
import { DropZone } from './DropZone.tsx';
import { formatCount } from './labels.ts';

const ACCEPT = '.csv,.tsv,.jsonl,.json,.parquet,.txt';

export function DatasetDrop() {
  const train = useFiles((s) => s.train);
  const validation = useFiles((s) => s.validation);
  const dropDataset = useFiles((s) => s.dropDataset);
  return (
    <div className="drop-pair">
      <DropZone
        title="Training data"
        hint="CSV, TSV (GLUE layout too), JSONL or Parquet."
        accept={ACCEPT}
        testId="train-drop"
        onFiles={(files) => void dropDataset('train', files[0])}
      >
        {train && (
          <p className="file-summary" data-testid="train-info">
            <strong>{train.fileName}</strong>: {formatCount(train.table.rows.length)} rows
          </p>
        )}
      </DropZone>
      <DropZone
        title="Validation data (optional)"
        hint="A second file in the same layout; otherwise a fraction of the training rows is held out."
        accept={ACCEPT}
        testId="validation-drop"
        onFiles={(files) => void dropDataset('validation', files[0])}
      >
        {validation && (
          <p className="file-summary" data-testid="validation-info">
            <strong>{validation.fileName}</strong>: {formatCount(validation.table.rows.length)} rows
          </p>
        )}
      </DropZone>
    </div>
  );
}
