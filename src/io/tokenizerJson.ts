// Builds the tokenizer.json object that Hugging Face's fast tokenizer would convert an older
// "slow" tokenizer folder into, for folders that ship only vocab.txt (WordPiece: BERT,
// DistilBERT) or vocab.json + merges.txt (byte-level BPE: RoBERTa, GPT-2). The result feeds the
// same @huggingface/tokenizers code path as a real tokenizer.json, so both kinds of folder give
// identical ids (checked in tokenizer.test.ts against the folders' own tokenizer.json).

/** tokenizer_config.json as far as we read it; special tokens may be strings or AddedToken objects. */
export type TokenizerConfig = Record<string, unknown>;

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** Special-token fields of tokenizer_config.json, in the order added tokens are listed. */
const SPECIAL_KEYS = ['pad_token', 'unk_token', 'cls_token', 'sep_token', 'mask_token', 'bos_token', 'eos_token'] as const;

/** A special token named by the config: `"[CLS]"` or `{ "content": "[CLS]", … }` (older files). */
export function configToken(config: TokenizerConfig, key: string): string | undefined {
  const value = config[key];
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

function addedTokens(config: TokenizerConfig, vocab: Map<string, number>, defaults: Record<string, string>): AddedTokenJson[] {
  const seen = new Set<string>();
  const tokens: AddedTokenJson[] = [];
  for (const key of SPECIAL_KEYS) {
    const content = configToken(config, key) ?? defaults[key];
    const id = content === undefined ? undefined : vocab.get(content);
    if (content === undefined || id === undefined || seen.has(content)) continue;
    seen.add(content);
    tokens.push({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  }
  return tokens.sort((a, b) => a.id - b.id);
}

/** vocab.txt: one token per line, id = line index (a later duplicate wins, as in transformers). */
export function parseVocabTxt(text: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const vocab = new Map<string, number>();
  lines.forEach((line, i) => vocab.set(line.endsWith('\r') ? line.slice(0, -1) : line, i));
  return vocab;
}

const BERT_DEFAULTS: Record<string, string> = {
  pad_token: '[PAD]',
  unk_token: '[UNK]',
  cls_token: '[CLS]',
  sep_token: '[SEP]',
  mask_token: '[MASK]',
};

/** What BertTokenizerFast builds from vocab.txt and its tokenizer_config.json. */
export function wordPieceTokenizerJson(vocabTxt: string, config: TokenizerConfig): object {
  const vocab = parseVocabTxt(vocabTxt);
  const token = (key: string) => configToken(config, key) ?? BERT_DEFAULTS[key];
  const cls = token('cls_token');
  const sep = token('sep_token');
  const unk = token('unk_token');
  for (const [key, name] of [['cls_token', cls], ['sep_token', sep], ['unk_token', unk]] as const) {
    if (!vocab.has(name)) throw new Error(`vocab.txt has no ${key} "${name}"`);
  }
  // BertTokenizer's defaults: lowercase unless told otherwise; accents follow lowercase when unset.
  const lowercase = config.do_lower_case !== false;
  const stripAccents = typeof config.strip_accents === 'boolean' ? config.strip_accents : null;
  const handleChinese = config.tokenize_chinese_chars !== false;
  const special = (name: string) => ({ id: name, ids: [vocab.get(name) as number], tokens: [name] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(config, vocab, BERT_DEFAULTS),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: handleChinese, strip_accents: stripAccents, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: cls, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: sep, type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: sep, type_id: 1 } },
      ],
      special_tokens: { [cls]: special(cls), [sep]: special(sep) },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: unk,
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab),
    },
  };
}

const ROBERTA_DEFAULTS: Record<string, string> = {
  pad_token: '<pad>',
  unk_token: '<unk>',
  cls_token: '<s>',
  sep_token: '</s>',
  mask_token: '<mask>',
  bos_token: '<s>',
  eos_token: '</s>',
};

/**
 * What RobertaTokenizerFast / GPT2TokenizerFast build from vocab.json + merges.txt. RoBERTa-style
 * classes (RoBERTa, BART, Longformer) wrap sequences as `<s> A </s></s> B </s>`; GPT-2 adds nothing.
 */
export function byteLevelBpeTokenizerJson(vocabJson: object, mergesTxt: string, config: TokenizerConfig): object {
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(vocabJson)) {
    if (typeof id !== 'number' || !Number.isInteger(id)) throw new Error(`vocab.json maps "${token}" to ${JSON.stringify(id)}, not an integer id`);
    vocab.set(token, id);
  }
  const merges: string[] = [];
  for (const raw of mergesTxt.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#version')) continue;
    if (line.split(' ').length !== 2) throw new Error(`merges.txt line "${line}" is not two tokens separated by a space`);
    merges.push(line);
  }
  const className = typeof config.tokenizer_class === 'string' ? config.tokenizer_class : '';
  const robertaStyle = /roberta|bart|longformer/i.test(className);
  const defaults = robertaStyle ? ROBERTA_DEFAULTS : {};
  const addPrefixSpace = config.add_prefix_space === true;
  const named = (key: string): [string, number] => {
    const name = configToken(config, key) ?? ROBERTA_DEFAULTS[key];
    const id = vocab.get(name);
    if (id === undefined) throw new Error(`vocab.json has no ${key} "${name}"`);
    return [name, id];
  };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens(config, vocab, defaults),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    post_processor: robertaStyle
      ? { type: 'RobertaProcessing', sep: named('sep_token'), cls: named('cls_token'), trim_offsets: true, add_prefix_space: addPrefixSpace }
      : { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      // Byte-level BPE covers every byte, so it never needs an unknown token (as converted by transformers).
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges,
    },
  };
}
