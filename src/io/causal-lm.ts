// The smallest reading of causal-LM data: `{"text": …}` JSONL rows, tokenized with the model
// folder's tokenizer (its post-processor adds what the model expects, e.g. BOS) and right-padded,
// with labels = the ids, padding set to −100 (the loss shifts them). The full loader (EOS,
// prompt/completion, chat, truncation policy) builds on these two functions.
import { causalLmLabels } from '../model/task.ts';
import type { EncodedBatch, TextTokenizer } from './tokenizer.ts';

/** The `text` of every non-empty JSONL line; names the file and line of a row without one. */
export function readTextRows(jsonl: string, fileName: string): string[] {
  const texts: string[] = [];
  jsonl.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (e) {
      throw new Error(`${fileName}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
    const text = (row as { text?: unknown } | null)?.text;
    if (typeof text !== 'string') throw new Error(`${fileName}: line ${i + 1} has no "text" string`);
    texts.push(text);
  });
  if (texts.length === 0) throw new Error(`${fileName}: no rows`);
  return texts;
}

/** Token ids, mask and causal-LM labels of `texts`, each cut to `maxLength` tokens. */
export function tokenizeCausalLm(tokenizer: TextTokenizer, texts: readonly string[], maxLength: number): { batch: EncodedBatch; labels: Int32Array } {
  const batch = tokenizer.encodeBatch(texts.map((text) => ({ text })), { maxLength });
  return { batch, labels: causalLmLabels(batch.inputIds, batch.attentionMask) };
}
