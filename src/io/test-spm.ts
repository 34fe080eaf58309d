// Test helpers: hand-written protobuf encoding of SentencePiece ModelProtos (the reader is what
// the tests put under test), and the hf-tiny deberta-v3 vocabulary as an spm.model, the file the
// official DeBERTa-v3 repositories ship instead of tokenizer.json.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PieceType } from './sentencepiece.ts';

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return out;
}
export const fieldVarint = (num: number, value: number) => [...varint((num << 3) | 0), ...varint(value)];
const fieldBytes = (num: number, bytes: number[]) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
const fieldFloat = (num: number, value: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return [...varint((num << 3) | 5), ...b];
};
const utf8 = (s: string) => [...new TextEncoder().encode(s)];

/** A ModelProto with these pieces and the given TrainerSpec fields. */
export function modelProto(pieces: { piece: string; score: number; type?: number }[], trainer: number[] = []): Uint8Array {
  const out: number[] = [];
  for (const p of pieces) out.push(...fieldBytes(1, [...fieldBytes(1, utf8(p.piece)), ...fieldFloat(2, p.score), ...(p.type ? fieldVarint(3, p.type) : [])]));
  out.push(...fieldBytes(2, trainer));
  return new Uint8Array(out);
}

/** The vocabulary of a Unigram tokenizer.json as an spm.model: [UNK] the unknown piece, other
 * [BRACKETED] pieces control pieces, unk_id in TrainerSpec field 40. */
export function spmModelOf(tokenizerJsonPath: string): Uint8Array {
  const json = JSON.parse(readFileSync(tokenizerJsonPath, 'utf8')) as { model: { vocab: [string, number][]; unk_id: number } };
  const typeOf = (piece: string) => (piece === '[UNK]' ? PieceType.UNKNOWN : /^\[[A-Z]+\]$/.test(piece) ? PieceType.CONTROL : PieceType.NORMAL);
  return modelProto(json.model.vocab.map(([piece, score]) => ({ piece, score, type: typeOf(piece) })), fieldVarint(40, json.model.unk_id));
}

export const DEBERTA_TOKENIZER_JSON = join(import.meta.dirname, '../../../shared/fixtures/hf-tiny/deberta-v3/tokenizer.json');
