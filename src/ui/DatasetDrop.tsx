import { useFiles } from '../store/files.ts';
import { DropZone } from './DropZone.tsx';
import { formatCount } from './labels.ts';

const ACCEPT = '.csv,.tsv,.jsonl,.json,.parquet,.txt,.zip';

export function DatasetDrop() {
  const train = useFiles((s) => s.train);
  const validation = useFiles((s) => s.validation);
  const folder = useFiles((s) => s.folder);
  const images = useFiles((s) => s.images);
  const note = useFiles((s) => s.validationNote);
  const dropDataset = useFiles((s) => s.dropDataset);
  const pickSplit = useFiles((s) => s.pickSplit);
  return (
    <div className="drop-pair">
      <DropZone
        title="Training data"
        hint="CSV, TSV (every GLUE file), JSONL or Parquet; or a dataset folder or .zip with split files (train.csv, dev.tsv, data/train-*.parquet …); or images: a folder or .zip with one folder of PNG/JPEG files per class (train/ and validation/ split folders recognised)."
        accept={ACCEPT}
        folder
        testId="train-drop"
        onFiles={(files) => void dropDataset('train', files)}
      >
        {train && (
          <p className="file-summary" data-testid="train-info">
            <strong>{train.fileName}</strong>: {formatCount(train.table.rows.length)} row{train.table.rows.length === 1 ? '' : 's'}
          </p>
        )}
        {images && (
          <p className="file-summary" data-testid="train-info">
            <strong>{images.name}</strong>: {formatCount(images.data.splits.train.length)} training image{images.data.splits.train.length === 1 ? '' : 's'} in{' '}
            {images.data.labelNames.length} classes
          </p>
        )}
        {folder && (
          <div className="split-pickers" data-testid="split-pickers">
            <span>{folder.name}:</span>
            <label>
              train
              <select data-testid="split-train" value={folder.train} onChange={(e) => void pickSplit('train', e.target.value)}>
                {folder.splits.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.id} ({s.paths.length} file{s.paths.length > 1 ? 's' : ''})
                  </option>
                ))}
              </select>
            </label>
            <label>
              validation
              <select
                data-testid="split-validation"
                value={folder.validation ?? ''}
                onChange={(e) => void pickSplit('validation', e.target.value === '' ? undefined : e.target.value)}
              >
                <option value="">(hold out training rows)</option>
                {folder.splits.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.id} ({s.paths.length} file{s.paths.length > 1 ? 's' : ''})
                  </option>
                ))}
              </select>
            </label>
          </div>
        )}
      </DropZone>
      <DropZone
        title="Validation data (optional)"
        hint="A second file in the same layout; otherwise a fraction of the training rows is held out."
        accept={ACCEPT}
        testId="validation-drop"
        onFiles={(files) => void dropDataset('validation', files)}
      >
        {validation && (
          <p className="file-summary" data-testid="validation-info">
            <strong>{validation.fileName}</strong>: {formatCount(validation.table.rows.length)} row{validation.table.rows.length === 1 ? '' : 's'}
          </p>
        )}
        {note && (
          <p className="note" data-testid="validation-note">
            {note}
          </p>
        )}
      </DropZone>
    </div>
  );
}
