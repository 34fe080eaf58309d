// Parquet tables through hyparquet, with hyparquet-compressors for the codecs beyond snappy (the
// Hub writes snappy by default and zstd for some datasets; gzip, brotli and lz4 come along). Hugging Face `datasets`
// stores a ClassLabel column as integers and keeps its names in the file's `huggingface`
// key-value metadata: {"info": {"features": {"label": {"_type": "ClassLabel", "names": […]}}}}.

import { parquetMetadata, parquetRead, parquetSchema, type Compressors, type FileMetaData } from 'hyparquet';

export interface ParquetTable {
  columns: string[];
  rows: unknown[][];
  /** ClassLabel names per column, from the `huggingface` metadata. */
  labelNames: Record<string, string[]>;
}

export async function readParquetTable(bytes: ArrayBuffer): Promise<ParquetTable> {
  const metadata = parquetMetadata(bytes);
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  const compressors = await compressorsFor(metadata);
  const rows = await new Promise<unknown[][]>((resolve, reject) => {
    parquetRead({ file: bytes, metadata, compressors, rowFormat: 'array', onComplete: resolve }).catch(reject);
  });
  return { columns, rows, labelNames: classLabelNames(metadata) };
}

/** The decoders beyond hyparquet's own snappy, fetched (a separate chunk in the studio) only for files that need them. */
async function compressorsFor(metadata: FileMetaData): Promise<Compressors | undefined> {
  const codecs = metadata.row_groups.flatMap((group) => group.columns.map((column) => column.meta_data?.codec));
  if (codecs.every((codec) => codec === undefined || codec === 'SNAPPY' || codec === 'UNCOMPRESSED')) return undefined;
  return (await import('hyparquet-compressors')).compressors;
}

export function classLabelNames(metadata: FileMetaData): Record<string, string[]> {
  const value = metadata.key_value_metadata?.find((kv) => kv.key === 'huggingface')?.value;
  if (!value) return {};
  let features: unknown;
  try {
    features = (JSON.parse(value) as { info?: { features?: unknown } }).info?.features;
  } catch {
    // Metadata we cannot read only costs the label names; the integer labels still work.
    return {};
  }
  const names: Record<string, string[]> = {};
  if (!features || typeof features !== 'object') return names;
  for (const [column, feature] of Object.entries(features)) {
    // Token classification tags are a list of ClassLabel: Sequence (datasets < 4) or List
    // (datasets 4) with the ClassLabel under "feature", or a bare one-element JSON list.
    const outer = feature as { _type?: unknown; feature?: unknown } | unknown[];
    const inner = Array.isArray(outer) ? outer[0] : outer?._type === 'Sequence' || outer?._type === 'List' ? outer.feature : outer;
    const f = inner as { _type?: unknown; names?: unknown };
    if (f?._type === 'ClassLabel' && Array.isArray(f.names) && f.names.every((n) => typeof n === 'string')) names[column] = f.names;
  }
  return names;
}
