// SentencePiece models (`spm.model`, a ModelProto protobuf) turned into the tokenizer.json that
// transformers' DebertaV2Converter writes for them, so a DeBERTa-v2/v3 folder that ships only
// spm.model goes through the same @huggingface/tokenizers path as any tokenizer.json.
//
// What the converter does and we mirror (transformers convert_slow_tokenizer.py):
// - model: Unigram over every piece in order with its score, unk_id from trainer_spec;
//   byte_fallback false (DebertaV2Converter leaves SpmConverter.handle_byte_fallback off, so a
//   model trained with byte fallback still maps unknown characters to unk there too);
// - normalizer: [Lowercase if do_lower_case], Strip, Precompiled(charsmap) if the model has one,
//   Replace / {2,}/ → " ". The charsmap bytes are carried base64 as in tokenizer.json, and
//   since tokenizers.js's Precompiled only approximates them (NFKC plus a fixed whitespace and
//   control-character list), createTokenizer swaps in charsmapNormalizer, the real lookup;
// - pre-tokenizer: [Punctuation(isolated) if split_by_punct], Metaspace("▁", prepend_scheme
//   "always", or "never" when add_prefix_space is false: DebertaV2Tokenizer has no `legacy`);
// - added tokens: CONTROL pieces (special) and USER_DEFINED pieces (not special), then the
//   config's special tokens; one missing from the pieces (DeBERTa-v3's [MASK]) gets the next id;
// - post-processor: `[CLS] A [SEP]` and `[CLS] A [SEP] B [SEP]` (B and its [SEP] type 1);
// - decoder: Metaspace.

import { bool, bytesOf, float32, int32, readFields, string, type ProtobufField } from './protobuf.ts';
import { configToken, type TokenizerConfig } from './tokenizerJson.ts';

export class SentencePieceError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'SentencePieceError';
  }
}

/** ModelProto.SentencePiece.Type */
export const PieceType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: number;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  /** TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char. */
  modelType: number;
  unkId: number;
  byteFallback: boolean;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
}

const MODEL_TYPES: Record<number, string> = { 1: 'Unigram', 2: 'BPE', 3: 'Word', 4: 'Char' };

/** Parses `spm.model`; `file` names it in errors. */
export function parseSentencePieceModel(bytes: Uint8Array, file = 'spm.model'): SentencePieceModel {
  const fail = (message: string): never => {
    throw new SentencePieceError(message, file);
  };
  let top: ProtobufField[] = [];
  try {
    top = readFields(bytes);
  } catch (error) {
    fail(`not a SentencePiece model (${error instanceof Error ? error.message : String(error)})`);
  }
  const model: SentencePieceModel = {
    pieces: [],
    modelType: 1,
    unkId: 0,
    byteFallback: false,
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
  };
  try {
    for (const field of top) {
      if (field.number === 1) {
        const piece: SentencePiece = { piece: '', score: 0, type: PieceType.NORMAL };
        for (const f of readFields(bytesOf(field))) {
          if (f.number === 1) piece.piece = string(f);
          else if (f.number === 2) piece.score = float32(f);
          else if (f.number === 3) piece.type = int32(f);
        }
        model.pieces.push(piece);
      } else if (field.number === 2) {
        for (const f of readFields(bytesOf(field))) {
          if (f.number === 3) model.modelType = int32(f);
          else if (f.number === 35) model.byteFallback = bool(f);
          else if (f.number === 40) model.unkId = int32(f);
        }
      } else if (field.number === 3) {
        for (const f of readFields(bytesOf(field))) {
          if (f.number === 2) model.precompiledCharsmap = bytesOf(f);
          else if (f.number === 3) model.addDummyPrefix = bool(f);
          else if (f.number === 4) model.removeExtraWhitespaces = bool(f);
        }
      }
    }
  } catch (error) {
    fail(`malformed SentencePiece model (${error instanceof Error ? error.message : String(error)})`);
  }
  if (model.pieces.length === 0) fail('no pieces: this is not a SentencePiece model');
  model.pieces.forEach((p, i) => p.piece === '' && fail(`piece ${i} is empty`));
  if (model.unkId < 0 || model.unkId >= model.pieces.length) fail(`unk_id ${model.unkId} is outside the ${model.pieces.length} pieces`);
  return model;
}

interface AddedTokenJson {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** DebertaV2Tokenizer's defaults for the special tokens tokenizer_config.json may leave out. */
const DEBERTA_SPECIALS: Record<string, string> = {
  bos_token: '[CLS]',
  eos_token: '[SEP]',
  unk_token: '[UNK]',
  sep_token: '[SEP]',
  pad_token: '[PAD]',
  cls_token: '[CLS]',
  mask_token: '[MASK]',
};

/** The tokenizer.json DebertaV2TokenizerFast converts `spm.model` + tokenizer_config.json into. */
export function debertaV2TokenizerJson(model: SentencePieceModel, config: TokenizerConfig, file = 'spm.model'): object {
  if (model.modelType !== 1) {
    throw new SentencePieceError(`a ${MODEL_TYPES[model.modelType] ?? `type-${model.modelType}`} model: only Unigram SentencePiece models are supported (DeBERTa-v2/v3, T5, ALBERT use Unigram)`, file);
  }
  const vocab: [string, number][] = model.pieces.map((p) => [p.piece, p.score]);
  const ids = new Map<string, number>();
  model.pieces.forEach((p, i) => ids.has(p.piece) || ids.set(p.piece, i));
  const added: AddedTokenJson[] = [];
  const token = (id: number, content: string, special: boolean): AddedTokenJson => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special });
  model.pieces.forEach((p, i) => {
    if (p.type === PieceType.CONTROL || p.type === PieceType.USER_DEFINED) added.push(token(i, p.piece, p.type === PieceType.CONTROL));
  });
  let nextId = model.pieces.length;
  for (const key of Object.keys(DEBERTA_SPECIALS)) {
    const content = configToken(config, key) ?? DEBERTA_SPECIALS[key];
    const existing = added.find((t) => t.content === content);
    if (existing) {
      existing.special = true;
      continue;
    }
    const id = ids.get(content);
    added.push(token(id ?? nextId++, content, true));
    if (id === undefined) ids.set(content, nextId - 1);
  }
  added.sort((a, b) => a.id - b.id);
  const cls = configToken(config, 'cls_token') ?? DEBERTA_SPECIALS.cls_token;
  const sep = configToken(config, 'sep_token') ?? DEBERTA_SPECIALS.sep_token;
  // DebertaV2Converter hard-codes the template's "[CLS]"/"[SEP]" names and looks their ids up.
  const clsId = ids.get('[CLS]') ?? ids.get(cls);
  const sepId = ids.get('[SEP]') ?? ids.get(sep);
  if (clsId === undefined || sepId === undefined) throw new SentencePieceError('no [CLS] or [SEP] token for the post-processor', file);

  const normalizers: object[] = [];
  if (config.do_lower_case === true) normalizers.push({ type: 'Lowercase' });
  normalizers.push({ type: 'Strip', strip_left: true, strip_right: true });
  if (model.precompiledCharsmap.length > 0) normalizers.push({ type: 'Precompiled', precompiled_charsmap: base64(model.precompiledCharsmap) });
  normalizers.push({ type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' });

  const prependScheme = config.add_prefix_space === false ? 'never' : 'always';
  const metaspace = { type: 'Metaspace', replacement: '▁', prepend_scheme: prependScheme, split: true };
  const preTokenizers: object[] = config.split_by_punct === true ? [{ type: 'Punctuation', behavior: 'Isolated' }, metaspace] : [metaspace];

  const special = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: { type: 'Sequence', normalizers },
    pre_tokenizer: { type: 'Sequence', pretokenizers: preTokenizers },
    post_processor: {
      type: 'TemplateProcessing',
      single: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0)],
      pair: [special('[CLS]', 0), sequence('A', 0), special('[SEP]', 0), sequence('B', 1), special('[SEP]', 1)],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [clsId], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [sepId], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: prependScheme, split: true },
    model: { type: 'Unigram', unk_id: model.unkId, vocab, byte_fallback: false },
  };
}

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * SentencePiece's precompiled charsmap as a normalizer, as the tokenizers crate's Precompiled
 * (spm_precompiled) applies it: the blob is a little-endian u32 byte length, a Darts
 * double-array trie over UTF-8 bytes of that length, then the NUL-terminated replacement
 * strings. Each grapheme cluster shorter than 6 UTF-8 bytes is looked up whole first, else each
 * of its characters; the first (shortest) prefix match wins, as in the crate.
 */
export function charsmapNormalizer(charsmap: Uint8Array): (text: string) => string {
  const view = new DataView(charsmap.buffer, charsmap.byteOffset, charsmap.byteLength);
  if (charsmap.byteLength < 4) throw new Error('the precompiled charsmap is shorter than its 4-byte header');
  const trieBytes = view.getUint32(0, true);
  if (trieBytes % 4 !== 0 || 4 + trieBytes > charsmap.byteLength) throw new Error(`the precompiled charsmap's trie size ${trieBytes} does not fit its ${charsmap.byteLength} bytes`);
  const trie = new Uint32Array(trieBytes / 4);
  for (let i = 0; i < trie.length; i++) trie[i] = view.getUint32(4 + 4 * i, true);
  const replacements = charsmap.subarray(4 + trieBytes);
  const offset = (unit: number) => (unit >>> 10) << ((unit & (1 << 9)) >>> 6);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  const cache = new Map<string, string | null>();
  const transform = (chunk: string): string | null => {
    const known = cache.get(chunk);
    if (known !== undefined) return known;
    let result: string | null = null;
    let pos = offset(trie[0]);
    for (const byte of encoder.encode(chunk)) {
      if (byte === 0) break;
      pos ^= byte;
      const unit = trie[pos];
      if (unit === undefined || (unit & 0x800000ff) >>> 0 !== byte) break;
      pos ^= offset(unit);
      if ((unit >>> 8) & 1) {
        const start = trie[pos] & 0x7fffffff;
        let end = start;
        while (end < replacements.length && replacements[end] !== 0) end++;
        result = decoder.decode(replacements.subarray(start, end));
        break;
      }
    }
    cache.set(chunk, result);
    return result;
  };
  const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  return (text) => {
    let out = '';
    for (const { segment } of graphemes.segment(text)) {
      const whole = encoder.encode(segment).length < 6 ? transform(segment) : null;
      if (whole !== null) {
        out += whole;
        continue;
      }
      for (const ch of segment) out += transform(ch) ?? ch;
    }
    return out;
  };
}

interface NormalizerNode {
  config?: { type?: string; precompiled_charsmap?: unknown };
  normalizers?: (NormalizerNode | null)[];
  normalize?: (text: string) => string;
}

/**
 * tokenizers.js's Precompiled ignores the charsmap (it applies NFKC and a fixed whitespace and
 * control-character list instead); this swaps in the real one wherever a tokenizer.json has it.
 */
export function useRealCharsmaps(normalizer: unknown): void {
  const node = normalizer as NormalizerNode | null;
  if (!node) return;
  node.normalizers?.forEach(useRealCharsmaps);
  const charsmap = node.config?.type === 'Precompiled' ? node.config.precompiled_charsmap : undefined;
  if (typeof charsmap === 'string' && charsmap.length > 0) {
    const bytes = Uint8Array.from(atob(charsmap), (c) => c.charCodeAt(0));
    node.normalize = charsmapNormalizer(bytes);
  }
}
