import { parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { buildExamples, DatasetError } from './dataset.ts';
import { guessColumns } from './datasetColumns.ts';
import { findSplits, loneDataFile, proposeSplits, readSplit, splitFileName, type SplitFiles } from './datasetSplits.ts';
import { unzipEntries } from './zip.ts';

const text = (s: string): ArrayBuffer => new TextEncoder().encode(s).buffer as ArrayBuffer;
const FEATURES = { sentence: { dtype: 'string', _type: 'Value' }, label: { names: ['negative', 'positive'], _type: 'ClassLabel' }, idx: { dtype: 'int32', _type: 'Value' } };

/** A Parquet shard as the Hub writes it (hyparquet-writer: snappy pages by default), with the `huggingface` metadata. */
function hubShard(sentences: string[], labels: number[], start: number, codec?: 'ZSTD'): ArrayBuffer {
  return parquetWriteBuffer({
    columnData: [
      { name: 'sentence', data: sentences, type: 'STRING' },
      { name: 'label', data: BigInt64Array.from(labels.map(BigInt)), type: 'INT64' },
      { name: 'idx', data: Int32Array.from(sentences.map((_, i) => start + i)), type: 'INT32' },
    ],
    kvMetadata: [{ key: 'huggingface', value: JSON.stringify({ info: { features: FEATURES } }) }],
    ...(codec ? { codec, compressors: { ZSTD: zstdRawFrame } } : {}),
  });
}

/**
 * A zstd frame holding `data` in one raw block (RFC 8878 §3.1.1): valid zstd that any decoder
 * reads; Node 20 has no zstd compressor, so this is how a ZSTD page is written here.
 */
function zstdRawFrame(data: Uint8Array): Uint8Array {
  if (data.length >= 1 << 17) throw new Error('one raw block holds at most 128 KiB');
  const out = new Uint8Array(4 + 1 + 4 + 3 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0xfd2fb528, true);
  out[4] = 0xa0; // single segment, 4-byte frame content size, no checksum, no dictionary
  view.setUint32(5, data.length, true);
  const header = 1 | (0 << 1) | (data.length << 3); // last block, raw, size
  out[9] = header & 0xff;
  out[10] = (header >> 8) & 0xff;
  out[11] = (header >> 16) & 0xff;
  out.set(data, 12);
  return out;
}

const codecsOf = (bytes: ArrayBuffer) => parquetMetadata(bytes).row_groups.flatMap((g) => g.columns.map((c) => c.meta_data?.codec));

describe('Hub-style dataset folders', () => {
  it('finds splits by file name: plain files, dev_matched, sharded Parquet under data/, hashes; ignores the rest', () => {
    const splits = findSplits([
      'sst2/README.md',
      'sst2/data/train-00001-of-00002.parquet',
      'sst2/data/train-00000-of-00002.parquet',
      'sst2/data/validation-00000-of-00001-3b5e5d2c8f1a9e77.parquet',
      'sst2/data/test-00000-of-00001.parquet',
      'sst2/dataset_infos.json',
    ]);
    expect(splits).toEqual([
      { id: 'test', split: 'test', paths: ['sst2/data/test-00000-of-00001.parquet'] },
      { id: 'train', split: 'train', paths: ['sst2/data/train-00000-of-00002.parquet', 'sst2/data/train-00001-of-00002.parquet'] },
      { id: 'validation', split: 'validation', paths: ['sst2/data/validation-00000-of-00001-3b5e5d2c8f1a9e77.parquet'] },
    ]);
    expect(proposeSplits(splits)).toEqual({ train: 'train', validation: 'validation' });
    expect(splitFileName(splits[1])).toBe('sst2/data/train-00000-of-00002.parquet (+1 more shard)');
    expect(proposeSplits(findSplits(['mnli/train.tsv', 'mnli/dev_mismatched.tsv', 'mnli/dev_matched.tsv', 'mnli/test_matched.tsv']))).toEqual({ train: 'train', validation: 'dev_matched' });
    expect(proposeSplits(findSplits(['d/train.csv', 'd/validation.jsonl']))).toEqual({ train: 'train', validation: 'validation' });
    expect(proposeSplits(findSplits(['CoLA/train.tsv', 'CoLA/dev.tsv', 'CoLA/original/raw/in_domain_train.tsv']))).toEqual({ train: 'train', validation: 'dev' });
    // Two configurations in one folder: the folder names the split.
    expect(findSplits(['cola/train.parquet', 'sst2/train.parquet']).map((s) => s.id)).toEqual(['cola/train', 'sst2/train']);
    expect(findSplits(['notes.txt', 'model.safetensors'])).toEqual([]);
    // A folder with one data file and no split names: that file.
    expect(loneDataFile(['reviews/README.md', 'reviews/reviews.csv'])).toBe('reviews/reviews.csv');
    expect(loneDataFile(['a.csv', 'b.jsonl'])).toBeUndefined();
  });

  it('reads a zipped folder of snappy Parquet shards as the Hub writes them: shards concatenated, ClassLabel names kept', async () => {
    const first = hubShard(['a gorgeous , witty film', 'dull and long'], [1, 0], 0);
    const second = hubShard(['the best of the year'], [1], 2);
    expect(codecsOf(first)).toEqual(['SNAPPY', 'SNAPPY', 'SNAPPY']);
    const zip = zipSync({
      'sst2/README.md': new TextEncoder().encode('# sst2'),
      'sst2/data/train-00000-of-00002.parquet': new Uint8Array(first),
      'sst2/data/train-00001-of-00002.parquet': new Uint8Array(second),
      'sst2/data/validation-00000-of-00001.parquet': new Uint8Array(hubShard(['not bad at all'], [1], 0)),
    });
    const entries = unzipEntries(zip.buffer as ArrayBuffer, 'sst2.zip');
    const splits = findSplits(Object.keys(entries));
    const byId = (id: string) => splits.find((s) => s.id === id)!;
    const bytesOf = (path: string) => entries[path].slice().buffer as ArrayBuffer;
    const train = await readSplit(byId(proposeSplits(splits).train!), bytesOf);
    expect(train.rows.map((r) => r[0])).toEqual(['a gorgeous , witty film', 'dull and long', 'the best of the year']);
    expect(train.rowLines).toEqual([1, 2, 3]);
    const built = buildExamples(train, guessColumns(train), 'train');
    expect([built.labelNames, built.examples.map((e) => e.label)]).toEqual([['negative', 'positive'], [1, 0, 1]]);
    const validation = await readSplit(byId('validation'), bytesOf);
    expect(validation.rows).toHaveLength(1);
  });

  it('reads zstd pages', async () => {
    const bytes = hubShard(['zstd pages read too'], [0], 0, 'ZSTD');
    expect(codecsOf(bytes)).toEqual(['ZSTD', 'ZSTD', 'ZSTD']);
    const table = await readSplit({ id: 'train', split: 'train', paths: ['train.parquet'] }, () => bytes);
    expect(table.rows).toEqual([['zstd pages read too', 0n, 0]]);
  });

  it('refuses shards whose columns differ, naming the shard', async () => {
    const split: SplitFiles = { id: 'train', split: 'train', paths: ['train-00000-of-00002.csv', 'train-00001-of-00002.csv'] };
    const files: Record<string, ArrayBuffer> = { 'train-00000-of-00002.csv': text('text,label\na,1\n'), 'train-00001-of-00002.csv': text('sentence,label\nb,0\n') };
    const error = await readSplit(split, (p) => files[p]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect((error as Error).message).toBe('train-00001-of-00002.csv: its columns (sentence, label) differ from those of train-00000-of-00002.csv (text, label)');
  });
});
