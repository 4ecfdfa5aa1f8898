import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';

/** Prometheus' native histogram schemas: base 2^(2^-schema). */
const MIN_SCHEMA = -4;
const MAX_SCHEMA = 8;
/**
 * The zero threshold when the point has none, client_golang's default.
 * Prometheus 2.42 takes a histogram as native only if it has buckets, a
 * zero count or a zero threshold above 0, so an empty one needs this.
 */
export const DEFAULT_ZERO_THRESHOLD = 2 ** -128;

/** One side's buckets in Prometheus' sparse layout. */
export interface SparseBuckets {
  /** [offset, length] pairs: the first offset is absolute, later ones count skipped buckets. */
  readonly spans: readonly (readonly [number, number])[];
  /** The first count, then each count minus the one before. */
  readonly deltas: readonly number[];
}

export interface NativeHistogram {
  readonly schema: number;
  readonly zeroThreshold: number;
  readonly positive: SparseBuckets;
  readonly negative: SparseBuckets;
}

/**
 * An OpenTelemetry exponential histogram as a Prometheus native one (spec
 * "Exponential Histograms"): the scale is the schema, downscaled to 8 when
 * finer (merging 2^(scale-8) buckets at a time); bucket i becomes bucket
 * i + 1 (OpenTelemetry indexes a bucket by its lower bound, Prometheus by
 * its upper one); only occupied buckets are sent. Undefined for a scale
 * below -4, which Prometheus cannot take (the spec drops such points), or
 * one that is not an integer.
 */
export function toNativeHistogram(
  histogram: ExponentialHistogram
): NativeHistogram | undefined {
  if (!Number.isInteger(histogram.scale) || histogram.scale < MIN_SCHEMA)
    return undefined;
  const shift = Math.max(0, histogram.scale - MAX_SCHEMA);
  const given = (histogram as { zeroThreshold?: unknown }).zeroThreshold;
  return {
    schema: histogram.scale - shift,
    zeroThreshold:
      typeof given === 'number' && given > 0 && Number.isFinite(given)
        ? given
        : DEFAULT_ZERO_THRESHOLD,
    positive: sparse(histogram.positive, shift),
    negative: sparse(histogram.negative, shift),
  };
}

function sparse(
  buckets: ExponentialHistogram['positive'],
  shift: number
): SparseBuckets {
  const spans: [number, number][] = [];
  const deltas: number[] = [];
  let lastIndex = 0;
  let lastCount = 0;
  const emit = (index: number, count: number) => {
    if (spans.length > 0 && index === lastIndex + 1)
      spans[spans.length - 1][1]++;
    else spans.push([spans.length === 0 ? index : index - lastIndex - 1, 1]);
    deltas.push(count - lastCount);
    lastIndex = index;
    lastCount = count;
  };
  let pendingIndex: number | undefined;
  let pendingCount = 0;
  const { offset, bucketCounts } = buckets;
  for (let j = 0; j < bucketCounts.length; j++) {
    const count = bucketCounts[j];
    if (count === 0) continue;
    const index = ((offset + j) >> shift) + 1;
    if (index === pendingIndex) {
      pendingCount += count;
      continue;
    }
    if (pendingIndex !== undefined) emit(pendingIndex, pendingCount);
    pendingIndex = index;
    pendingCount = count;
  }
  if (pendingIndex !== undefined) emit(pendingIndex, pendingCount);
  return { spans, deltas };
}
