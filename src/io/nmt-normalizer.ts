// The tokenizers crate's Nmt normalizer (SentencePieceUnigramTokenizer's default, so tokenizer.json
// files trained with the `tokenizers` library carry it — the hf-tiny deberta-v3 fixture does),
// which tokenizers.js does not know. It is two character-class substitutions (normalizers/
// unicode.rs do_nmt): drop the ASCII control characters, then map the other whitespace-like code
// points to a space. Rewritten here as the two Replace normalizers tokenizers.js has.

const NMT_REMOVED = '[\\u0001-\\u0008\\u000B\\u000E-\\u001F\\u007F\\u008F\\u009F]';
const NMT_SPACES = '[\\u0009\\u000A\\u000C\\u000D\\u1680\\u200B-\\u200F\\u2028\\u2029\\u2581\\uFEFF\\uFFFD]';

/** A copy of the normalizer config (any nesting of Sequence) with every Nmt replaced. */
export function replaceNmt(normalizer: unknown): unknown {
  if (typeof normalizer !== 'object' || normalizer === null || Array.isArray(normalizer)) return normalizer;
  const node = normalizer as { type?: unknown; normalizers?: unknown };
  if (node.type === 'Nmt') {
    return {
      type: 'Sequence',
      normalizers: [
        { type: 'Replace', pattern: { Regex: NMT_REMOVED }, content: '' },
        { type: 'Replace', pattern: { Regex: NMT_SPACES }, content: ' ' },
      ],
    };
  }
  if (node.type === 'Sequence' && Array.isArray(node.normalizers)) return { ...node, normalizers: node.normalizers.map(replaceNmt) };
  return normalizer;
}
