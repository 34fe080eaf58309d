import { useState } from 'react';
import type { AnswerPrediction } from '../train/qa-metrics.ts';
import { askQuestion, tagSentence } from '../store/engine.ts';
import { useFiles } from '../store/files.ts';
import { hasModel, useRun } from '../store/run.ts';
import { entitySpans } from '../store/token-task-dataset.ts';
import { useTokenPlayground, type NerEntry, type QaEntry } from '../store/token-playground.ts';
import { entityTypes } from './entity-colors.ts';
import { TaggedWords } from './TaggedWords.tsx';

const NO_LABELS: string[] = [];

const SIDES = [
  { side: 'base', title: 'Base model' },
  { side: 'tuned', title: 'Fine-tuned' },
] as const;

/** The playground of a QA or NER model: answers or tagged spans, base and fine-tuned side by side. */
export function TokenTaskPlayground({ task }: { task: 'question-answering' | 'token-classification' }) {
  return task === 'question-answering' ? <QaPlayground /> : <NerPlayground />;
}

function QaPlayground() {
  const [context, setContext] = useState('');
  const [question, setQuestion] = useState('');
  const canAsk = useRun((s) => hasModel(s.state));
  const answers = useTokenPlayground((s) => s.answers);
  const ready = canAsk && context.trim() !== '' && question.trim() !== '';
  return (
    <section className="panel" data-testid="playground">
      <h3>Playground: question answering</h3>
      <form
        className="qa-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (ready) askQuestion(context, question);
        }}
      >
        <textarea data-testid="qa-context-input" placeholder="Paste a context" rows={4} value={context} onChange={(e) => setContext(e.target.value)} />
        <div className="playground-form">
          <input data-testid="qa-question-input" placeholder="Ask a question about it" value={question} onChange={(e) => setQuestion(e.target.value)} />
          <button type="submit" data-testid="ask" disabled={!ready}>
            Answer
          </button>
        </div>
      </form>
      {answers.map((a) => (
        <div key={a.id} className="generation" data-testid="qa-result" data-done={a.result ? 'true' : 'false'}>
          <div className="generation-prompt">{a.question}</div>
          <div className="generation-columns">
            {SIDES.map(({ side, title }) => (
              <AnswerColumn key={side} side={side} title={title} entry={a} answer={a.result?.[side]} />
            ))}
          </div>
        </div>
      ))}
    </section>
  );
}

function AnswerColumn({ side, title, entry, answer }: { side: string; title: string; entry: QaEntry; answer: AnswerPrediction | undefined }) {
  return (
    <div className="generation-column" data-testid={`qa-${side}`}>
      <h4>{title}</h4>
      {!answer ? (
        <p>…</p>
      ) : (
        <>
          <p className="qa-context">
            {entry.context.slice(0, answer.start)}
            {answer.end > answer.start && (
              <mark className="answer" data-testid={`qa-${side}-answer`}>
                {entry.context.slice(answer.start, answer.end)}
              </mark>
            )}
            {entry.context.slice(answer.end)}
          </p>
          <small data-testid={`qa-${side}-score`}>
            {answer.end > answer.start ? `“${answer.text}”` : 'no answer'}, score {answer.score.toFixed(2)}
            {answer.nullScoreDiff !== undefined && `, no-answer margin ${answer.nullScoreDiff.toFixed(2)}`}
          </small>
        </>
      )}
    </div>
  );
}

function NerPlayground() {
  const [sentence, setSentence] = useState('');
  const canTag = useRun((s) => hasModel(s.state));
  const taggings = useTokenPlayground((s) => s.taggings);
  const labelNames = useFiles((s) => s.dataset?.labelNames ?? (s.train?.tokenTask?.task === 'token-classification' ? s.train.tokenTask.data.labelNames : NO_LABELS));
  const types = entityTypes(labelNames);
  return (
    <section className="panel" data-testid="playground">
      <h3>Playground: token classification</h3>
      <form
        className="playground-form"
        onSubmit={(e) => {
          e.preventDefault();
          if (sentence.trim()) tagSentence(sentence);
        }}
      >
        <input data-testid="ner-input" placeholder="Type a sentence" value={sentence} onChange={(e) => setSentence(e.target.value)} />
        <button type="submit" data-testid="tag" disabled={!canTag || !sentence.trim()}>
          Tag
        </button>
      </form>
      {taggings.map((t) => (
        <div key={t.id} className="generation" data-testid="ner-result" data-done={t.result ? 'true' : 'false'}>
          <div className="generation-prompt">{t.sentence}</div>
          <div className="generation-columns">
            {SIDES.map(({ side, title }) => (
              <TagColumn key={side} side={side} title={title} entry={t} tags={t.result?.[side]} types={types} />
            ))}
          </div>
        </div>
      ))}
    </section>
  );
}

function TagColumn({ side, title, entry, tags, types }: { side: string; title: string; entry: NerEntry; tags: string[] | undefined; types: string[] }) {
  // Words past the max length get no tag: they are shown untagged.
  const words = entry.words.map((w) => w.text);
  const spans = tags ? entitySpans(tags) : [];
  return (
    <div className="generation-column" data-testid={`ner-${side}`} data-tags={tags?.join(' ')}>
      <h4>{title}</h4>
      {!tags ? (
        <p>…</p>
      ) : (
        <p>
          <TaggedWords words={words} spans={spans} types={types} />
        </p>
      )}
      {tags && <small>{spans.length} entit{spans.length === 1 ? 'y' : 'ies'}</small>}
    </div>
  );
}
