// Small cuts of the XQuAD-en questions in data/ (SQuAD format) for the QA e2e tests.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const data = path.resolve(import.meta.dirname, '..', 'data');

interface Squad {
  version: string;
  data: { title: string; paragraphs: { context: string; qas: { id: string; question: string; answers: { text: string; answer_start: number }[] }[] }[] }[];
}

/** The first `n` questions of data/squad-xquad-en/`file` (whole paragraphs cut to their first
 * questions), written as `name` in `dir`. */
export function squadCut(dir: string, file: string, n: number, name: string): string {
  const squad = JSON.parse(readFileSync(path.join(data, 'squad-xquad-en', file), 'utf8')) as Squad;
  const paragraphs = [];
  let left = n;
  for (const p of squad.data[0].paragraphs) {
    if (left === 0) break;
    paragraphs.push({ ...p, qas: p.qas.slice(0, left) });
    left -= paragraphs.at(-1)!.qas.length;
  }
  const out = path.join(dir, name);
  writeFileSync(out, JSON.stringify({ version: squad.version, data: [{ title: squad.data[0].title, paragraphs }] }));
  return out;
}
