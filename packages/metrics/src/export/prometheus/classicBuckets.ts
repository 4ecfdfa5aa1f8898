import type {
  ExponentialHistogram,
  Histogram,
} from '@opentelemetry/sdk-metrics';

/** Classic (`le`) buckets: finite ascending upper bounds and the count at or below each. */
export interface ClassicBuckets {
  readonly boundaries: readonly number[];
  /** Cumulative counts, one per boundary; the +Inf bucket is the count. */
  readonly cumulative: readonly number[];
}

/**
 * The default classic boundaries of exponential histograms: every power
 * of two from 2^-10 (≈0.001) to 2^20 (≈1e6), 31 buckets and +Inf. Powers
 * of two are bucket boundaries of an exponential histogram of any scale
 * ≥ 0, so its counts at them are exact.
 */
export const DEFAULT_CLASSIC_BOUNDARIES: readonly number[] = Array.from(
  { length: 31 },
  (_, i) => 2 ** (i - 10)
);

/**
 * An explicit-bucket histogram's own buckets. A boundary that is not
 * finite or not above the one before is left out (its count goes to the
 * next bucket kept): Prometheus needs ascending bounds.
 */
export function explicitBuckets(histogram: Histogram): ClassicBuckets {
  const { boundaries: given, counts } = histogram.buckets;
  const boundaries: number[] = [];
  const cumulative: number[] = [];
  let running = 0;
  for (let i = 0; i < given.length; i++) {
    running += counts[i] ?? 0;
    const bound = given[i];
    if (!Number.isFinite(bound) || bound <= boundaries[boundaries.length - 1])
      continue;
    boundaries.push(bound);
    cumulative.push(running);
  }
  return { boundaries, cumulative };
}

/**
 * An exponential histogram's counts at `boundaries`. Each of its buckets
 * is counted where its upper bound falls (or its max, when lower: every
 * value is at most the max), so the count at a boundary is exact whenever
 * the boundary is a bucket boundary of the histogram's scale, and
 * otherwise misses at most the one bucket that straddles it.
 */
export function exponentialBuckets(
  histogram: ExponentialHistogram,
  boundaries: readonly number[]
): ClassicBuckets {
  const counts = new Array<number>(boundaries.length + 1).fill(0);
  // 2^(k·2^-scale) rather than base^k: exact at every power of two.
  const bound = (k: number) => 2 ** (k * 2 ** -histogram.scale);
  const max = histogram.max ?? Infinity;
  let index = 0;
  const add = (upper: number, count: number) => {
    const at = Math.min(upper, max);
    while (index < boundaries.length && at > boundaries[index]) index++;
    counts[index] += count;
  };
  // Ascending order: the most negative bucket first, then zero, then positive.
  const negative = histogram.negative;
  for (let i = negative.bucketCounts.length - 1; i >= 0; i--) {
    if (negative.bucketCounts[i] > 0)
      add(-bound(negative.offset + i), negative.bucketCounts[i]);
  }
  if (histogram.zeroCount > 0) add(0, histogram.zeroCount);
  const positive = histogram.positive;
  for (let i = 0; i < positive.bucketCounts.length; i++) {
    if (positive.bucketCounts[i] > 0)
      add(bound(positive.offset + i + 1), positive.bucketCounts[i]);
  }
  const cumulative: number[] = [];
  let running = 0;
  for (let i = 0; i < boundaries.length; i++) {
    running += counts[i];
    cumulative.push(running);
  }
  return { boundaries, cumulative };
}

/**
 * Boundaries from an instrument's advice (`explicitBucketBoundaries`),
 * sorted and without repeats; undefined unless they are a non-empty array
 * of finite numbers.
 */
export function adviceBoundaries(descriptor: unknown): number[] | undefined {
  const given = (
    descriptor as { advice?: { explicitBucketBoundaries?: unknown } }
  ).advice?.explicitBucketBoundaries;
  if (
    !Array.isArray(given) ||
    given.length === 0 ||
    !given.every(b => typeof b === 'number' && Number.isFinite(b))
  )
    return undefined;
  return [...new Set(given as number[])].sort((a, b) => a - b);
}
