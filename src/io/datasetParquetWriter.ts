// A minimal Parquet writer for tests (no writer package is installed): one row group, one
// uncompressed PLAIN data page per column, REQUIRED columns of UTF-8 strings, INT64 or DOUBLE,
// and file key-value metadata (where Hugging Face keeps ClassLabel names). The footer is
// Thrift's compact protocol, written by hand from parquet.thrift's field ids.

export type ParquetColumn =
  | { name: string; type: 'string'; values: string[] }
  | { name: string; type: 'int64'; values: bigint[] }
  | { name: string; type: 'double'; values: number[] };

const CompactType = { I32: 5, I64: 6, Binary: 8, List: 9, Struct: 12 } as const;
type CompactType = (typeof CompactType)[keyof typeof CompactType];

/** A Thrift struct as [field id, type, value] triples; nested structs are arrays of triples. */
type Field = [number, CompactType, FieldValue];
type FieldValue = number | bigint | string | Field[] | { list: CompactType; items: (number | string | Field[])[] };

class Bytes {
  private readonly parts: number[] = [];
  byte(b: number) {
    this.parts.push(b & 0xff);
  }
  varint(v: bigint) {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) b |= 0x80;
      this.byte(b);
    } while (v !== 0n);
  }
  zigzag(v: bigint) {
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  raw(data: Uint8Array) {
    for (const b of data) this.byte(b);
  }
  u32le(v: number) {
    for (let i = 0; i < 4; i++) this.byte(v >>> (8 * i));
  }
  get length() {
    return this.parts.length;
  }
  toUint8Array() {
    return Uint8Array.from(this.parts);
  }
}

function writeValue(out: Bytes, type: CompactType, value: number | bigint | string | Field[]) {
  if (type === CompactType.I32 || type === CompactType.I64) out.zigzag(BigInt(value as number | bigint));
  else if (type === CompactType.Binary) {
    const data = new TextEncoder().encode(value as string);
    out.varint(BigInt(data.length));
    out.raw(data);
  } else writeStruct(out, value as Field[]);
}

function writeStruct(out: Bytes, fields: Field[]) {
  let last = 0;
  for (const [id, type, value] of fields) {
    out.byte(((id - last) << 4) | type);
    last = id;
    if (type === CompactType.List) {
      const { list, items } = value as { list: CompactType; items: (number | string | Field[])[] };
      if (items.length < 15) out.byte((items.length << 4) | list);
      else {
        out.byte(0xf0 | list);
        out.varint(BigInt(items.length));
      }
      for (const item of items) writeValue(out, list, item);
    } else writeValue(out, type, value as number | bigint | string | Field[]);
  }
  out.byte(0);
}

const PARQUET_TYPE = { int64: 2, double: 5, string: 6 } as const;

function plain(column: ParquetColumn): Uint8Array {
  const out = new Bytes();
  if (column.type === 'string') {
    for (const s of column.values) {
      const data = new TextEncoder().encode(s);
      out.u32le(data.length);
      out.raw(data);
    }
    return out.toUint8Array();
  }
  const view = new DataView(new ArrayBuffer(8 * column.values.length));
  column.values.forEach((v, i) => (column.type === 'int64' ? view.setBigInt64(8 * i, v as bigint, true) : view.setFloat64(8 * i, v as number, true)));
  return new Uint8Array(view.buffer);
}

export function writeParquet(columns: ParquetColumn[], keyValueMetadata: Record<string, string> = {}): ArrayBuffer {
  const rows = columns[0]?.values.length ?? 0;
  const file = new Bytes();
  file.raw(new TextEncoder().encode('PAR1'));
  const chunks: Field[][] = [];
  for (const column of columns) {
    const data = plain(column);
    // PageHeader: DATA_PAGE, sizes, DataPageHeader(num_values, PLAIN, RLE, RLE).
    const header = new Bytes();
    writeStruct(header, [
      [1, CompactType.I32, 0],
      [2, CompactType.I32, data.length],
      [3, CompactType.I32, data.length],
      [5, CompactType.Struct, [[1, CompactType.I32, rows], [2, CompactType.I32, 0], [3, CompactType.I32, 3], [4, CompactType.I32, 3]]],
    ]);
    const offset = file.length;
    const size = header.length + data.length;
    file.raw(header.toUint8Array());
    file.raw(data);
    // ColumnChunk(file_offset, ColumnMetaData(type, encodings, path, UNCOMPRESSED, values, sizes, data_page_offset)).
    chunks.push([
      [2, CompactType.I64, BigInt(offset)],
      [3, CompactType.Struct, [
        [1, CompactType.I32, PARQUET_TYPE[column.type]],
        [2, CompactType.List, { list: CompactType.I32, items: [0] }],
        [3, CompactType.List, { list: CompactType.Binary, items: [column.name] }],
        [4, CompactType.I32, 0],
        [5, CompactType.I64, BigInt(rows)],
        [6, CompactType.I64, BigInt(size)],
        [7, CompactType.I64, BigInt(size)],
        [9, CompactType.I64, BigInt(offset)],
      ]],
    ]);
  }
  const schema: Field[][] = [
    [[4, CompactType.Binary, 'schema'], [5, CompactType.I32, columns.length]],
    // SchemaElement(type, repetition REQUIRED, name[, converted_type UTF8]).
    ...columns.map((c): Field[] => [
      [1, CompactType.I32, PARQUET_TYPE[c.type]],
      [3, CompactType.I32, 0],
      [4, CompactType.Binary, c.name],
      ...(c.type === 'string' ? [[6, CompactType.I32, 0] as Field] : []),
    ]),
  ];
  const footer = new Bytes();
  writeStruct(footer, [
    [1, CompactType.I32, 1],
    [2, CompactType.List, { list: CompactType.Struct, items: schema }],
    [3, CompactType.I64, BigInt(rows)],
    [4, CompactType.List, { list: CompactType.Struct, items: [[
      [1, CompactType.List, { list: CompactType.Struct, items: chunks }],
      [2, CompactType.I64, BigInt(file.length - 4)],
      [3, CompactType.I64, BigInt(rows)],
    ]] }],
    [5, CompactType.List, { list: CompactType.Struct, items: Object.entries(keyValueMetadata).map(([k, v]): Field[] => [[1, CompactType.Binary, k], [2, CompactType.Binary, v]]) }],
  ]);
  file.raw(footer.toUint8Array());
  file.u32le(footer.length);
  file.raw(new TextEncoder().encode('PAR1'));
  return file.toUint8Array().buffer;
}
