import type { NerData } from '../io/ner-data.ts';
import { entitySpans, type NerSummary } from '../store/token-task-dataset.ts';
import { entityColor, entityTypes } from './entity-colors.ts';
import { formatCount } from './labels.ts';
import { TaggedWords } from './TaggedWords.tsx';

const SHOWN = 8;

/** A CoNLL-style file: the tag set with counts, entities per type, and sentences with their entities coloured. */
export function NerPreview({ data, summary }: { data: NerData; summary: NerSummary }) {
  const types = entityTypes(data.labelNames);
  // Sentences with entities first: a file's opening lines are often all O.
  const shown = [...data.sentences].sort((a, b) => Number(b.tags.some((t) => data.labelNames[t] !== 'O')) - Number(a.tags.some((t) => data.labelNames[t] !== 'O'))).slice(0, SHOWN);
  return (
    <>
      <p className="mapping" data-testid="ner-counts">
        Token classification: {formatCount(summary.sentences)} sentence{summary.sentences === 1 ? '' : 's'}, {summary.tags.length} tags,{' '}
        {formatCount(summary.entities.reduce((n, e) => n + e.count, 0))} entities.
      </p>
      <ul className="ner-labels" data-testid="ner-labels">
        {summary.entities.map((e) => (
          <li key={e.type}>
            <mark className="entity" style={{ background: entityColor(types, e.type) }}>
              {e.type}
            </mark>{' '}
            {formatCount(e.count)}
          </li>
        ))}
      </ul>
      <p className="hint" data-testid="ner-tags">
        Tags: {summary.tags.map((t) => `${t.name} ${formatCount(t.count)}`).join(' · ')}
      </p>
      <ol className="ner-preview">
        {shown.map((s, i) => (
          <li key={i} data-testid="ner-sentence">
            <TaggedWords words={s.words} spans={entitySpans(s.tags.map((t) => data.labelNames[t]))} types={types} />
          </li>
        ))}
      </ol>
    </>
  );
}
