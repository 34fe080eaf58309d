import { Fragment } from 'react';
import type { EntitySpan } from '../store/token-task-dataset.ts';
import { entityColor } from './entity-colors.ts';

/** Words with their entities marked: each span a coloured <mark> with its type. */
export function TaggedWords({ words, spans, types, testId }: { words: readonly string[]; spans: readonly EntitySpan[]; types: readonly string[]; testId?: string }) {
  const parts: React.ReactNode[] = [];
  let at = 0;
  for (const span of spans) {
    if (span.start > at) parts.push(<Fragment key={`w${at}`}>{words.slice(at, span.start).join(' ')} </Fragment>);
    parts.push(
      <Fragment key={`e${span.start}`}>
        <mark className="entity" style={{ background: entityColor(types, span.type) }} data-type={span.type}>
          {words.slice(span.start, span.end).join(' ')}
          <small className="entity-type">{span.type}</small>
        </mark>{' '}
      </Fragment>,
    );
    at = span.end;
  }
  if (at < words.length) parts.push(<Fragment key={`w${at}`}>{words.slice(at).join(' ')}</Fragment>);
  return (
    <span className="tagged" data-testid={testId}>
      {parts}
    </span>
  );
}
