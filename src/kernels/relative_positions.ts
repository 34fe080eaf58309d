// DeBERTa's relative positions (transformers' build_relative_position and
// make_log_bucket_position), shared by the relative-attention kernels and their float64
// reference: query i and key j sit at relative position i − j, log-bucketed beyond ±bucket/2,
// and read row clamp(bucket(i − j) + span, 0, 2·span − 1) of the relative embeddings.

export interface RelativePositionSpec {
  /** position_buckets: > 0 log-buckets distances past buckets/2; ≤ 0 keeps raw distances. */
  buckets: number;
  /** max_relative_positions, resolved (≥ 1: the config's −1 means max_position_embeddings). */
  maxRelative: number;
  /** att_span = pos_ebd_size: buckets when > 0, else maxRelative. The embeddings have 2·span rows. */
  span: number;
}

/** make_log_bucket_position for one relative position. torch runs it on an integer tensor, so
 * its divisions and logs are float32 (the default dtype): mirrored with Math.fround, so that a
 * distance whose bucket lies near an integer lands where transformers puts it. */
export function logBucketPosition(relative: number, bucketSize: number, maxPosition: number): number {
  const mid = Math.floor(bucketSize / 2);
  const abs = relative < mid && relative > -mid ? mid - 1 : Math.abs(relative);
  if (abs <= mid) return relative;
  const f = Math.fround;
  const ratio = f(f(Math.log(f(abs / mid))) / f(Math.log(f((maxPosition - 1) / mid))));
  const logPos = Math.ceil(f(ratio * (mid - 1))) + mid;
  return Math.sign(relative) * logPos;
}

/** The relative-embedding row that query i reads for key j, with delta = i − j. */
export function relativeIndex(delta: number, spec: RelativePositionSpec): number {
  const rel = spec.buckets > 0 && spec.maxRelative > 0 ? logBucketPosition(delta, spec.buckets, spec.maxRelative) : delta;
  return Math.min(Math.max(rel + spec.span, 0), 2 * spec.span - 1);
}

export interface RelativeTables {
  /** Row of every delta −maxDelta … maxDelta, at index delta + maxDelta. */
  index: Uint32Array;
  /** For each of the 2·span rows, the deltas that read it: lo … hi (empty when lo > hi). The
   * index is non-decreasing in delta, so each row's deltas are one contiguous range. */
  lo: Int32Array;
  hi: Int32Array;
}

export function relativeTables(spec: RelativePositionSpec, maxDelta: number): RelativeTables {
  const rows = 2 * spec.span;
  const index = new Uint32Array(2 * maxDelta + 1);
  const lo = new Int32Array(rows).fill(maxDelta + 1);
  const hi = new Int32Array(rows).fill(-maxDelta - 1);
  let previous = -1;
  for (let delta = -maxDelta; delta <= maxDelta; delta++) {
    const r = relativeIndex(delta, spec);
    if (r < previous) throw new Error(`relative positions: row ${r} of delta ${delta} falls below row ${previous} of delta ${delta - 1}`);
    previous = r;
    index[delta + maxDelta] = r;
    lo[r] = Math.min(lo[r], delta);
    hi[r] = Math.max(hi[r], delta);
  }
  return { index, lo, hi };
}

/** The rows that a sequence of `seq` tokens reads (deltas ±(seq − 1)): first … first + columns − 1,
 * one range as the row is non-decreasing in the delta. A sequence shorter than the span reads
 * fewer than its 2·span rows. */
export function relativeWindow(spec: RelativePositionSpec, seq: number): { first: number; columns: number } {
  const first = relativeIndex(-(seq - 1), spec);
  return { first, columns: relativeIndex(seq - 1, spec) - first + 1 };
}
