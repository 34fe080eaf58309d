// A minimal protobuf wire-format reader: enough to walk a message's fields by number. The
// schema lives with the caller (sentencepiece.ts); unknown fields are skipped, as protobuf does.

export class ProtobufError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtobufError';
  }
}

/** One field as it appears on the wire: varints as numbers, length-delimited values as bytes. */
export type ProtobufField =
  | { number: number; wireType: 0; value: bigint }
  | { number: number; wireType: 1; value: DataView }
  | { number: number; wireType: 2; value: Uint8Array }
  | { number: number; wireType: 5; value: DataView };

/** The fields of one message in wire order (repeated fields appear once per element). */
export function readFields(bytes: Uint8Array): ProtobufField[] {
  const fields: ProtobufField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new ProtobufError(`truncated varint at byte ${pos}`);
      const byte = bytes[pos++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new ProtobufError(`varint longer than 10 bytes at byte ${pos}`);
    }
  };
  const take = (length: number): Uint8Array => {
    if (pos + length > bytes.length) throw new ProtobufError(`field runs ${pos + length - bytes.length} bytes past the end`);
    const out = bytes.subarray(pos, pos + length);
    pos += length;
    return out;
  };
  const view = (part: Uint8Array) => new DataView(part.buffer, part.byteOffset, part.byteLength);
  while (pos < bytes.length) {
    const key = varint();
    const number = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (number === 0) throw new ProtobufError(`field number 0 at byte ${pos}`);
    switch (wireType) {
      case 0:
        fields.push({ number, wireType, value: varint() });
        break;
      case 1:
        fields.push({ number, wireType, value: view(take(8)) });
        break;
      case 2:
        fields.push({ number, wireType, value: take(Number(varint())) });
        break;
      case 5:
        fields.push({ number, wireType, value: view(take(4)) });
        break;
      default:
        // Groups (3, 4) are long deprecated and no SentencePiece model uses them.
        throw new ProtobufError(`unsupported wire type ${wireType} for field ${number}`);
    }
  }
  return fields;
}

/** A varint field read as a signed 32-bit int (int32 stores negatives as 10-byte two's complement). */
export function int32(field: ProtobufField): number {
  if (field.wireType !== 0) throw new ProtobufError(`field ${field.number} should be a varint, has wire type ${field.wireType}`);
  return Number(BigInt.asIntN(32, field.value));
}

export function bool(field: ProtobufField): boolean {
  return int32(field) !== 0;
}

export function float32(field: ProtobufField): number {
  if (field.wireType !== 5) throw new ProtobufError(`field ${field.number} should be a 32-bit float, has wire type ${field.wireType}`);
  return field.value.getFloat32(0, true);
}

export function bytesOf(field: ProtobufField): Uint8Array {
  if (field.wireType !== 2) throw new ProtobufError(`field ${field.number} should be length-delimited, has wire type ${field.wireType}`);
  return field.value;
}

export function string(field: ProtobufField): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytesOf(field));
}
