// Text → token ids for a dropped model folder, with Hugging Face's batching semantics
// (`tokenizer(texts, text_pair, truncation=True, max_length, padding=True)`) on top of the
// standalone @huggingface/tokenizers, which only encodes one text at a time. Pure JS: runs in
// the engine worker and in Node (no DOM, no fs).

import { Tokenizer } from '@huggingface/tokenizers';
import { replaceNmt } from './nmt-normalizer.ts';
import { debertaV2TokenizerJson, parseSentencePieceModel, useRealCharsmaps } from './sentencepiece.ts';
import { byteLevelBpeTokenizerJson, configToken, wordPieceTokenizerJson, type TokenizerConfig } from './tokenizerJson.ts';

/** The tokenizer files of a model folder, already parsed (model-folder.ts reads them). */
export interface TokenizerFiles {
  tokenizerJson?: object;
  tokenizerConfig?: object;
  /** Older folders name their special tokens only here; tokenizer_config.json wins where both do. */
  specialTokensMap?: object;
  vocabTxt?: string;
  vocabJson?: object;
  mergesTxt?: string;
  /** SentencePiece model (DeBERTa-v2/v3 ship it instead of tokenizer.json). */
  spmModel?: Uint8Array;
}

/** Where each file came from (a path inside the dropped folder), for error messages. */
export type TokenizerFileNames = Partial<Record<keyof TokenizerFiles, string>>;

const DEFAULT_NAMES: Required<TokenizerFileNames> = {
  tokenizerJson: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  specialTokensMap: 'special_tokens_map.json',
  vocabTxt: 'vocab.txt',
  vocabJson: 'vocab.json',
  mergesTxt: 'merges.txt',
  spmModel: 'spm.model',
};

export class TokenizerError extends Error {
  constructor(
    message: string,
    /** The file at fault, when one is. */
    readonly file?: string,
  ) {
    super(message);
    this.name = 'TokenizerError';
  }
}

/** Row-major batch × seq, right-padded to the longest row. */
export interface EncodedBatch {
  batch: number;
  seq: number;
  inputIds: Uint32Array;
  attentionMask: Uint32Array;
  tokenTypeIds: Uint32Array;
}

/**
 * Builds the tokenizer of a model folder: from tokenizer.json when present, else from vocab.txt
 * (WordPiece) or vocab.json + merges.txt (byte-level BPE) the way transformers converts them.
 */
export function createTokenizer(files: TokenizerFiles, fileNames: TokenizerFileNames = {}): TextTokenizer {
  const names = { ...DEFAULT_NAMES, ...fileNames };
  const config = { ...files.specialTokensMap, ...files.tokenizerConfig } as TokenizerConfig;
  let json: object;
  let source: string;
  if (files.tokenizerJson) {
    json = files.tokenizerJson;
    source = names.tokenizerJson;
  } else if (files.vocabTxt !== undefined) {
    source = names.vocabTxt;
    json = wrap(source, () => wordPieceTokenizerJson(files.vocabTxt as string, config));
  } else if (files.spmModel) {
    source = names.spmModel;
    json = wrap(source, () => sentencePieceTokenizerJson(files.spmModel as Uint8Array, config, source));
  } else if (files.vocabJson && files.mergesTxt !== undefined) {
    source = names.vocabJson;
    json = wrap(source, () => byteLevelBpeTokenizerJson(files.vocabJson as object, files.mergesTxt as string, config));
  } else {
    const partial = files.vocabJson ? ` (found ${names.vocabJson} but no ${names.mergesTxt})` : files.mergesTxt !== undefined ? ` (found ${names.mergesTxt} but no ${names.vocabJson})` : '';
    throw new TokenizerError(
      `No tokenizer in the model folder${partial}: it needs tokenizer.json, or vocab.txt (WordPiece: BERT, DistilBERT), or vocab.json + merges.txt (byte-level BPE: RoBERTa, GPT-2), or spm.model (SentencePiece: DeBERTa-v2/v3), with tokenizer_config.json beside them.`,
    );
  }
  // tokenizers.js iterates added_tokens unconditionally; tokenizer.json files without them are valid.
  const complete = { added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, ...json };
  complete.normalizer = replaceNmt(complete.normalizer) as null;
  const tokenizer = wrap(source, () => new Tokenizer(complete, config));
  wrap(source, () => useRealCharsmaps(tokenizer.normalizer));
  return new TextTokenizer(tokenizer, complete as TokenizerJsonShape, config);
}

/** Only DeBERTa-v2/v3's converter is built; other SentencePiece tokenizers (T5, ALBERT) lay out specials differently. */
function sentencePieceTokenizerJson(bytes: Uint8Array, config: TokenizerConfig, file: string): object {
  const tokenizerClass = config.tokenizer_class;
  if (typeof tokenizerClass === 'string' && !/^DebertaV2Tokenizer(Fast)?$/.test(tokenizerClass)) {
    throw new Error(`a ${tokenizerClass} SentencePiece model: only DeBERTa-v2/v3's (DebertaV2Tokenizer) can be converted here; save the tokenizer with tokenizer.json instead`);
  }
  return debertaV2TokenizerJson(parseSentencePieceModel(bytes, file), config, file);
}

function wrap<T>(file: string, build: () => T): T {
  try {
    return build();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new TokenizerError(message.startsWith(`${file}: `) ? message : `${file}: ${message}`, file);
  }
}

interface TokenizerJsonShape {
  padding?: { pad_id?: number } | null;
  post_processor?: { type?: string; processors?: { type?: string }[] } | null;
}

/** Placeholders let the post-processor place our (possibly truncated) ids between the specials. */
const MARK_A = '\u0000A';
const MARK_B = '\u0000B';

/** A special token of the layout (sequence null), or where sequence A (0) or B (1) goes whole. */
interface LayoutSlot {
  sequence: 0 | 1 | null;
  id: number;
  typeId: number;
}

/** A model folder's tokenizer with Hugging Face's batching (build it with createTokenizer). */
export class TextTokenizer {
  /** The pad token's id; for tokenizers without one (GPT-2) the eos id, else 0 — padded positions are masked anyway. */
  readonly padId: number;
  readonly clsId?: number;
  readonly bosId?: number;
  readonly sepId?: number;
  readonly eosId?: number;
  readonly maskId?: number;
  readonly unkId?: number;
  readonly vocabSize: number;
  /** tokenizer_config's model_max_length, unless it is transformers' "no limit" placeholder. */
  readonly modelMaxLength?: number;
  /** Special tokens the post-processor adds around a single text and around a pair. */
  private readonly specialsSingle: number;
  private readonly specialsPair: number;
  /** RoBERTa's Rust post-processor gives every token type 0 (tokenizers.js gives the pair 1). */
  private readonly singleTypeId: boolean;
  /** Where the post-processor puts its specials and the sequences, for a single text and a pair. */
  private readonly layouts: [LayoutSlot[], LayoutSlot[]];

  constructor(
    private readonly tokenizer: Tokenizer,
    json: TokenizerJsonShape,
    config: TokenizerConfig,
  ) {
    const id = (key: string, fallbacks: string[]) => {
      for (const name of [configToken(config, key), ...fallbacks]) {
        const found = name === undefined ? undefined : tokenizer.token_to_id(name);
        if (found !== undefined) return found;
      }
      return undefined;
    };
    this.clsId = id('cls_token', ['[CLS]', '<s>']);
    this.bosId = id('bos_token', ['<s>']);
    this.sepId = id('sep_token', ['[SEP]', '</s>']);
    this.eosId = id('eos_token', ['</s>', '<|endoftext|>']);
    this.maskId = id('mask_token', ['[MASK]', '<mask>']);
    this.unkId = id('unk_token', ['[UNK]', '<unk>']);
    this.padId = id('pad_token', ['[PAD]', '<pad>']) ?? json.padding?.pad_id ?? this.eosId ?? 0;
    this.vocabSize = tokenizer.get_vocab(true).size;
    const max = config.model_max_length;
    if (typeof max === 'number' && max > 0 && max < 1e9) this.modelMaxLength = max;
    const processor = json.post_processor;
    this.singleTypeId = processor?.type === 'RobertaProcessing' || (processor?.processors ?? []).some((p) => p.type === 'RobertaProcessing');
    this.layouts = [this.probeLayout(false), this.probeLayout(true)];
    this.specialsSingle = this.layouts[0].filter((slot) => slot.sequence === null).length;
    this.specialsPair = this.layouts[1].filter((slot) => slot.sequence === null).length;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenizer.token_to_id(token);
  }

  /** One text's ids, untruncated, with the post-processor's specials (BOS …) when asked. */
  encodeIds(text: string, options: { addSpecialTokens: boolean }): number[] {
    const ids = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    return options.addSpecialTokens ? this.wrapSpecials(ids, null).ids : ids;
  }

  decode(ids: ArrayLike<number>, options: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return '';
    return this.tokenizer.decode(Array.from(ids), { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  /**
   * Tokenize, truncate each row to `maxLength` tokens including specials (longest_first for
   * pairs, exactly as the Rust tokenizers crate does) and right-pad to the longest row, rounded
   * up to a multiple of `padToMultipleOf` (as Hugging Face's option of that name).
   */
  encodeBatch(examples: readonly { text: string; textPair?: string }[], options: { maxLength: number; padToMultipleOf?: number }): EncodedBatch {
    const rows = examples.map((example) => this.encodeOne(example.text, example.textPair, options.maxLength));
    const batch = rows.length;
    const multiple = options.padToMultipleOf ?? 1;
    const seq = Math.ceil(rows.reduce((m, r) => Math.max(m, r.ids.length), 0) / multiple) * multiple;
    const inputIds = new Uint32Array(batch * seq).fill(this.padId);
    const attentionMask = new Uint32Array(batch * seq);
    const tokenTypeIds = new Uint32Array(batch * seq);
    rows.forEach((row, b) => {
      inputIds.set(row.ids, b * seq);
      attentionMask.fill(1, b * seq, b * seq + row.ids.length);
      tokenTypeIds.set(row.typeIds, b * seq);
    });
    return { batch, seq, inputIds, attentionMask, tokenTypeIds };
  }

  private encodeOne(text: string, textPair: string | undefined, maxLength: number): { ids: number[]; typeIds: number[] } {
    const a = this.tokenizer.encode(text, { add_special_tokens: false }).ids;
    const b = textPair === undefined ? null : this.tokenizer.encode(textPair, { add_special_tokens: false }).ids;
    const specials = b ? this.specialsPair : this.specialsSingle;
    const room = maxLength - specials;
    if (!Number.isInteger(maxLength)) throw new TokenizerError(`maxLength must be an integer, got ${maxLength}`);
    if (room < 0) {
      throw new TokenizerError(`maxLength ${maxLength} leaves no room for the ${specials} special tokens this tokenizer adds`);
    }
    const [n1, n2] = truncatedLengths(a.length, b?.length ?? 0, room, b !== null);
    return this.wrapSpecials(a.slice(0, n1), b && b.slice(0, n2));
  }

  /** Token ids and strings of one text without special tokens (question answering aligns them to characters). */
  tokenize(text: string): { ids: number[]; tokens: string[] } {
    const encoding = this.tokenizer.encode(text, { add_special_tokens: false });
    return { ids: encoding.ids, tokens: encoding.tokens };
  }

  /**
   * The post-processor's special tokens around already-tokenized sequences; `sequenceIds` says
   * which sequence each position holds (0 for A, 1 for B, null for a special), as HF's sequence_ids().
   */
  wrapSpecials(a: readonly number[], b: readonly number[] | null): { ids: number[]; typeIds: number[]; sequenceIds: (0 | 1 | null)[] } {
    const ids: number[] = [];
    const typeIds: number[] = [];
    const sequenceIds: (0 | 1 | null)[] = [];
    for (const slot of this.layouts[b ? 1 : 0]) {
      if (slot.sequence === null) {
        ids.push(slot.id);
        typeIds.push(slot.typeId);
        sequenceIds.push(null);
        continue;
      }
      for (const id of slot.sequence === 0 ? a : (b as readonly number[])) {
        ids.push(id);
        typeIds.push(slot.typeId);
        sequenceIds.push(slot.sequence);
      }
    }
    return { ids, typeIds, sequenceIds };
  }

  /**
   * The post-processor run once on one-token placeholder sequences: each placeholder marks where
   * its whole sequence goes (processors place sequences whole, at any length), so wrapping a
   * window costs a copy instead of a post-processor pass over thousands of placeholder strings.
   */
  private probeLayout(pair: boolean): LayoutSlot[] {
    const processor = this.tokenizer.post_processor;
    const tokensB = pair ? [MARK_B] : null;
    const out = processor
      ? processor.post_process([MARK_A], tokensB, true)
      : { tokens: [MARK_A], tokens_pair: tokensB ?? undefined, token_type_ids: undefined };
    // A processor that adds nothing (GPT-2's ByteLevel) hands the pair back unmerged.
    const tokens = out.tokens_pair ? [...out.tokens, ...out.tokens_pair] : out.tokens;
    return tokens.map((token, i) => {
      let typeId = out.token_type_ids?.[i] ?? 0;
      if (token === MARK_B && !out.token_type_ids) typeId = 1;
      typeId = this.singleTypeId ? 0 : typeId;
      if (token === MARK_A) return { sequence: 0, id: -1, typeId };
      if (token === MARK_B) return { sequence: 1, id: -1, typeId };
      const id = this.tokenizer.token_to_id(token);
      if (id === undefined) throw new TokenizerError(`the post-processor's special token "${token}" is not in the vocabulary`);
      return { sequence: null, id, typeId };
    });
  }
}

/**
 * Lengths of the two sequences after truncation to `room` tokens (specials excluded), as the
 * tokenizers crate's LongestFirst strategy computes them: only the longer one is cut while the
 * shorter fits in half; otherwise both get half, the originally longer one the odd token.
 */
export function truncatedLengths(lengthA: number, lengthB: number, room: number, isPair: boolean): [number, number] {
  if (!isPair) return [Math.min(lengthA, room), 0];
  if (lengthA + lengthB <= room) return [lengthA, lengthB];
  const swap = lengthA > lengthB;
  let n1 = swap ? lengthB : lengthA;
  let n2 = n1 > room ? n1 : Math.max(n1, room - n1);
  if (n1 + n2 > room) {
    n1 = Math.floor(room / 2);
    n2 = n1 + (room % 2);
  }
  return swap ? [Math.min(n2, lengthA), Math.min(n1, lengthB)] : [Math.min(n1, lengthA), Math.min(n2, lengthB)];
}
