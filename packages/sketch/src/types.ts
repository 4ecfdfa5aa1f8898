/** Options of {@link ExponentialSketch}. */
export interface ExponentialSketchOptions {
  /**
   * Most buckets per sign, zero bucket excluded; the sketch downscales when
   * a range would need more. Integer in [2, 16384]. Default 520: any data
   * whose max/min ratio is at most 2^(519/32) ≈ 76,000 (1 ms to 76 s) keeps
   * scale 5 or finer, a relative error ≤ 1.083%, in ≤ 4.2 KB of counts per
   * sign.
   */
  maxBuckets?: number;
  /**
   * The finest scale, where a sketch starts. Integer in [-10, 20]. Default
   * 20, OpenTelemetry's maximum.
   */
  maxScale?: number;
}

/** Counts of consecutive buckets starting at bucket index `offset`. */
export interface BucketSpan {
  offset: number;
  bucketCounts: number[];
}

/**
 * Bucket counts of one sign read in place from any array (a typed array, an
 * arena, a plain array): `counts[from + i]` is the count of bucket
 * `offset + i`, for i from 0 to `to − from − 1`, each a non-negative
 * integer. Zero counts at either end are fine; nothing is copied.
 */
export interface BucketRange {
  /** Any array of numbers, read in place: a Float64Array arena, a Uint32Array, an array. */
  counts: ArrayLike<number>;
  /** The bucket index of `counts[from]`. */
  offset: number;
  /** The first count's position in `counts`, an integer ≥ 0. */
  from: number;
  /** The position after the last count, an integer in [from, counts.length]. */
  to: number;
}

/**
 * Data a sketch adds with {@link ExponentialSketch.mergeBuckets}: a dense
 * block of bucket counts at one scale and the statistics kept beside them.
 * The count is not given: it is `zeroCount` plus every bucket count.
 */
export interface BucketBlock {
  /** The scale the bucket indexes are at, an integer in [-10, 20]. */
  scale: number;
  /** Counts of positive values; absent when there are none. */
  positive?: BucketRange;
  /** Counts of negative values by magnitude; absent when there are none. */
  negative?: BucketRange;
  /** How many zeros, an integer ≥ 0. */
  zeroCount: number;
  /**
   * The sum of the values, taken as exactly `sum + sumError`: keep the sum
   * as a TwoSum pair (hi, lo) to merge it exactly, or as one double with
   * sumError absent.
   */
  sum: number;
  /** What `sum` lacks of the exact sum, e.g. the lo of a TwoSum pair; 0 when absent. */
  sumError?: number;
  /** The smallest value; finite, ≤ max, ignored when the block is empty. */
  min: number;
  /** The largest value; finite, ≥ min, ignored when the block is empty. */
  max: number;
}

/**
 * The value of an OpenTelemetry exponential histogram data point, the same
 * shape as `ExponentialHistogram` in `@opentelemetry/sdk-metrics`: bucket
 * `offset + i` holds (base^(offset+i), base^(offset+i+1)], base =
 * 2^(2^-scale); `count` includes `zeroCount`.
 */
export interface ExponentialHistogramPoint {
  count: number;
  sum?: number;
  scale: number;
  zeroCount: number;
  positive: BucketSpan;
  negative: BucketSpan;
  min?: number;
  max?: number;
}

/**
 * The JSON form of an {@link ExponentialSketch} (version 1). `sum` is the
 * exact sum as doubles whose exact total it is: the rounded sum first, then
 * the rounded remainders (empty for 0); or the string of a sum that
 * overflowed. `min` and `max` are absent when `count` is 0.
 */
export interface ExponentialSketchJSON {
  version: 1;
  maxBuckets: number;
  maxScale: number;
  scale: number;
  count: number;
  zeroCount: number;
  sum: number[] | 'Infinity' | '-Infinity' | 'NaN';
  min?: number;
  max?: number;
  positive: BucketSpan;
  negative: BucketSpan;
  rejected: number;
}

/** The JSON form of a {@link RunningStats} (version 1); statistics absent when count is 0. */
export interface RunningStatsJSON {
  version: 1;
  count: number;
  mean?: number;
  /** Sum of squared deviations from the mean. */
  m2?: number;
  min?: number;
  max?: number;
  rejected: number;
}

/** An aggregate that can absorb another of its kind. */
export interface Mergeable<T> {
  merge(other: T): void;
}

/** Options of {@link SlidingWindow}. */
export interface SlidingWindowOptions<T> {
  /** Number of slots kept, the current one included. Integer in [1, 100000]. */
  slots: number;
  /** Time each slot covers, in the caller's clock unit (normally ms). > 0. */
  slotMillis: number;
  /** Makes an empty aggregate: for a slot on its first use, and for merged(). */
  create: () => T;
}
