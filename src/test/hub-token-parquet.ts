// QA and NER splits as the Hub's Parquet conversion stores them (squad's and wnut_17's schemas:
// lists of strings, a struct of lists, ClassLabel tags with their names in the file's
// `huggingface` metadata), written with hyparquet-writer (a dev dependency) for tests and the Hub
// stand-in: io/datasetParquetWriter.ts writes flat columns only.
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { NerData } from '../io/ner-data.ts';
import type { QaExample } from '../io/qa-data.ts';

/** The writer's own SchemaElement (it bundles its own hyparquet). */
type SchemaElement = NonNullable<Parameters<typeof parquetWriteBuffer>[0]['schema']>[number];

const string = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' });
/** A list column (or struct field) as Arrow writes it: <name> LIST → repeated `list` → `element`. */
const list = (name: string, element: Partial<SchemaElement>): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  { name: 'element', repetition_type: 'OPTIONAL', ...element },
];
const metadata = (features: object) => [{ key: 'huggingface', value: JSON.stringify({ info: { features } }) }];

/** squad's columns: id, title, context, question, answers {text: [string], answer_start: [int32]}. */
export function squadParquet(questions: readonly QaExample[]): ArrayBuffer {
  const value = (dtype: string) => ({ dtype, _type: 'Value' });
  return parquetWriteBuffer({
    columnData: [
      { name: 'id', data: questions.map((q) => q.id) },
      { name: 'title', data: questions.map((q) => q.title) },
      { name: 'context', data: questions.map((q) => q.context) },
      { name: 'question', data: questions.map((q) => q.question) },
      { name: 'answers', data: questions.map((q) => ({ text: q.answers.text, answer_start: q.answers.answerStart })) },
    ],
    schema: [
      { name: 'schema', num_children: 5 },
      string('id'),
      string('title'),
      string('context'),
      string('question'),
      { name: 'answers', repetition_type: 'OPTIONAL', num_children: 2 },
      ...list('text', { type: 'BYTE_ARRAY', converted_type: 'UTF8' }),
      ...list('answer_start', { type: 'INT32' }),
    ],
    kvMetadata: metadata({
      id: value('string'),
      title: value('string'),
      context: value('string'),
      question: value('string'),
      answers: { feature: { text: value('string'), answer_start: value('int32') }, _type: 'Sequence' },
    }),
  });
}

/** wnut_17's columns: id, tokens [string], ner_tags [ClassLabel] (integers; names in the metadata). */
export function nerParquet(data: NerData): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'id', data: data.sentences.map((_, i) => String(i)) },
      { name: 'tokens', data: data.sentences.map((s) => s.words) },
      { name: 'ner_tags', data: data.sentences.map((s) => s.tags.map(BigInt)) },
    ],
    schema: [{ name: 'schema', num_children: 3 }, string('id'), ...list('tokens', { type: 'BYTE_ARRAY', converted_type: 'UTF8' }), ...list('ner_tags', { type: 'INT64' })],
    kvMetadata: metadata({
      id: { dtype: 'string', _type: 'Value' },
      tokens: { feature: { dtype: 'string', _type: 'Value' }, _type: 'Sequence' },
      ner_tags: { feature: { names: data.labelNames, _type: 'ClassLabel' }, _type: 'Sequence' },
    }),
  });
}
