import { useMemo } from 'react';
import { useConfig } from '../store/config.ts';
import { useFiles } from '../store/files.ts';
import { summariseTokenTask } from '../store/token-task-dataset.ts';
import { formatCount } from './labels.ts';
import { NerPreview } from './NerPreview.tsx';
import { QaPreview } from './QaPreview.tsx';
import { ValidationSource } from './ValidationSource.tsx';

/** The preview of a QA or NER training file: what it holds, how it is split and windowed. */
export function TokenTaskPreview() {
  const train = useFiles((s) => s.train);
  const validation = useFiles((s) => s.validation);
  const dataset = useFiles((s) => s.dataset);
  const tokenizing = useFiles((s) => s.tokenizing);
  const hasModel = useFiles((s) => s.model !== null);
  const stride = useFiles((s) => s.qaStride);
  const maxLength = useConfig((s) => s.config.maxLength);
  const data = train?.tokenTask;
  const summary = useMemo(() => (data ? summariseTokenTask(data) : null), [data]);
  if (!train || !data || !summary) return null;
  const unit = data.task === 'question-answering' ? 'questions' : 'sentences';
  return (
    <section className="panel" data-testid="dataset-preview">
      <h3>Preview: {train.fileName}</h3>
      {data.task === 'question-answering' && summary.task === 'question-answering' && <QaPreview questions={data.questions} summary={summary} />}
      {data.task === 'token-classification' && summary.task === 'token-classification' && <NerPreview data={data.data} summary={summary} />}
      <ValidationSource fileLabel={validation ? `the file ${validation.fileName}` : 'a second file (drop one above)'} hasFile={validation !== null} unit={unit} />
      {dataset ? (
        <p className="dataset-summary" data-testid="dataset-summary">
          {dataset.task === 'question-answering'
            ? `${formatCount(dataset.train.length)} training and ${formatCount(dataset.validation.length)} validation windows of up to ${maxLength} tokens (stride ${stride <= maxLength / 2 ? stride : `${Math.floor(maxLength / 2)}: ${stride} capped at half the max length`}), ` +
              `${formatCount(dataset.qa?.questions.length ?? 0)} validation questions.`
            : `${formatCount(dataset.train.length)} training and ${formatCount(dataset.validation.length)} validation sentences of up to ${maxLength} tokens; each word's tag on its first sub-token.`}
        </p>
      ) : tokenizing ? (
        <div className="tokenizing" role="status" data-testid="tokenizing">
          <progress value={tokenizing.done} max={Math.max(tokenizing.total, 1)} />
          <span className="hint">
            Tokenizing {formatCount(tokenizing.done)} of {formatCount(tokenizing.total)} {tokenizing.unit}… (Train waits for it)
          </span>
        </div>
      ) : (
        !hasModel && <p className="hint">Drop a model to tokenize the {unit}.</p>
      )}
    </section>
  );
}
