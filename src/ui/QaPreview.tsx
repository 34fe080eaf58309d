import type { QaExample } from '../io/qa-data.ts';
import type { QaSummary } from '../store/token-task-dataset.ts';
import { formatCount } from './labels.ts';

const SHOWN = 5;
/** Characters of context shown either side of the answer. */
const AROUND = 160;

/** A SQuAD-style file: its counts, then the first questions with the answer marked in its context. */
export function QaPreview({ questions, summary }: { questions: readonly QaExample[]; summary: QaSummary }) {
  return (
    <>
      <p className="mapping" data-testid="qa-counts">
        Question answering (SQuAD v{summary.version === 2 ? '2.0' : '1.1'} scoring): {formatCount(summary.questions)} question{summary.questions === 1 ? '' : 's'} about{' '}
        {formatCount(summary.contexts)} context{summary.contexts === 1 ? '' : 's'}, {formatCount(summary.unanswerable)} unanswerable.
      </p>
      <ol className="qa-preview">
        {questions.slice(0, SHOWN).map((q) => (
          <li key={q.id} data-testid="qa-example">
            <strong className="qa-question">{q.question}</strong>
            <ContextWithAnswer question={q} />
          </li>
        ))}
      </ol>
    </>
  );
}

function ContextWithAnswer({ question: q }: { question: QaExample }) {
  if (q.answers.text.length === 0) {
    return (
      <p className="qa-context">
        {clip(q.context, 0, 2 * AROUND)} <em className="no-answer">(no answer in the context)</em>
      </p>
    );
  }
  const start = q.answers.answerStart[0];
  const end = start + q.answers.text[0].length;
  const from = Math.max(0, start - AROUND);
  const to = Math.min(q.context.length, end + AROUND);
  return (
    <p className="qa-context">
      {from > 0 && '… '}
      {q.context.slice(from, start)}
      <mark className="answer" data-testid="qa-answer">
        {q.context.slice(start, end)}
      </mark>
      {q.context.slice(end, to)}
      {to < q.context.length && ' …'}
    </p>
  );
}

function clip(text: string, from: number, to: number): string {
  return text.length > to ? `${text.slice(from, to)} …` : text.slice(from);
}
