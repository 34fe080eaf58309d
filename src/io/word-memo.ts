// Tokenizing one word through @huggingface/tokenizers costs ~10–20 µs (normalizer, pre-tokenizer
// and model run per call), and datasets repeat their words: SQuAD's 18,891 contexts hold ~2.4M
// words, CoNLL-2003's sentences ~200k, far fewer of them distinct. QA and NER tokenize word by
// word, so each distinct word's result is kept per tokenizer (tokenizers never change).

const memos = new WeakMap<object, Map<string, Map<string, unknown>>>();
/** Past this many words in one memo it starts over, bounding memory on huge corpora. */
const LIMIT = 1 << 18;

/** `compute(word)`, done once per tokenizer, kind of result and word. */
export function perWord<T>(tokenizer: object, kind: string, word: string, compute: (word: string) => T): T {
  let kinds = memos.get(tokenizer);
  if (!kinds) memos.set(tokenizer, (kinds = new Map()));
  let memo = kinds.get(kind);
  if (!memo) kinds.set(kind, (memo = new Map()));
  if (memo.has(word)) return memo.get(word) as T;
  if (memo.size >= LIMIT) memo.clear();
  const value = compute(word);
  memo.set(word, value);
  return value;
}
