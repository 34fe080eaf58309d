import { useMemo } from 'react';
import { useConfig } from '../store/config.ts';
import { useFiles } from '../store/files.ts';
import { summariseTokenTask } from '../store/token-task-dataset.ts';
import { formatCount } from './labels.ts';
import { NerPreview } from './NerPreview.tsx';
import { QaPreview } from './QaPreview.tsx';

/** The preview of a QA or NER training file: what it holds, how it is split and windowed. */
export function TokenTaskPreview() {
  const train = useFiles((s) => s.train);
  const validation = useFiles((s) => s.validation);
  const source = useFiles((s) => s.validationSource);
  const fraction = useFiles((s) => s.validationFraction);
  const dataset = useFiles((s) => s.dataset);
  const stride = useFiles((s) => s.qaStride);
  const maxLength = useConfig((s) => s.config.maxLength);
  const { setValidationSource, setValidationFraction } = useFiles.getState();
  const data = train?.tokenTask;
  const summary = useMemo(() => (data ? summariseTokenTask(data) : null), [data]);
  if (!train || !data || !summary) return null;
  const unit = data.task === 'question-answering' ? 'questions' : 'sentences';
  return (
    <section className="panel" data-testid="dataset-preview">
      <h3>Preview: {train.fileName}</h3>
      {data.task === 'question-answering' && summary.task === 'question-answering' && <QaPreview questions={data.questions} summary={summary} />}
      {data.task === 'token-classification' && summary.task === 'token-classification' && <NerPreview data={data.data} summary={summary} />}
      <fieldset className="validation-source">
        <legend>Validation</legend>
        <label>
          <input type="radio" name="validation-source" checked={source === 'file'} disabled={!validation} onChange={() => setValidationSource('file')} />
          {validation ? `the file ${validation.fileName}` : 'a second file (drop one above)'}
        </label>
        <label>
          <input type="radio" name="validation-source" checked={source === 'fraction' || !validation} onChange={() => setValidationSource('fraction')} />
          hold out
          <input
            type="number"
            className="small"
            min={1}
            max={50}
            step={1}
            value={Math.round(fraction * 100)}
            disabled={source === 'file' && validation !== null}
            onChange={(e) => {
              const percent = Number(e.target.value);
              if (percent >= 1 && percent <= 50) setValidationFraction(percent / 100);
            }}
          />
          % of the training {unit}
        </label>
      </fieldset>
      {dataset ? (
        <p className="dataset-summary" data-testid="dataset-summary">
          {dataset.task === 'question-answering'
            ? `${formatCount(dataset.train.length)} training and ${formatCount(dataset.validation.length)} validation windows of up to ${maxLength} tokens (stride ${stride <= maxLength / 2 ? stride : `${Math.floor(maxLength / 2)}: ${stride} capped at half the max length`}), ` +
              `${formatCount(dataset.qa?.questions.length ?? 0)} validation questions.`
            : `${formatCount(dataset.train.length)} training and ${formatCount(dataset.validation.length)} validation sentences of up to ${maxLength} tokens; each word's tag on its first sub-token.`}
        </p>
      ) : (
        <p className="hint">Drop a model to tokenize the {unit}.</p>
      )}
    </section>
  );
}
