import type { BucketCounts } from '../BucketCounts';
import type { ExponentialSketch } from '../ExponentialSketch';
import type { ExponentialHistogramPoint } from '../types';
import { parsePoint } from './parsePoint';
import type { ParsedPoint } from './parsePoint';

/**
 * The OpenTelemetry exponential histogram point holding the data of
 * `sketch`, whose buckets its caller hands over. Like the SDK, it reports
 * scale 0 when there are no non-zero buckets.
 */
export function sketchToPoint(
  sketch: ExponentialSketch,
  positive: BucketCounts,
  negative: BucketCounts
): ExponentialHistogramPoint {
  const hasBuckets = !positive.isEmpty || !negative.isEmpty;
  return {
    count: sketch.count,
    sum: sketch.sum,
    scale: hasBuckets ? sketch.scale : 0,
    zeroCount: sketch.zeroCount,
    positive: positive.toSpan(),
    negative: negative.toSpan(),
    ...(sketch.count > 0 ? { min: sketch.min, max: sketch.max } : {}),
  };
}

/**
 * Checks a point from outside (e.g. one `@opentelemetry/sdk-metrics`
 * exported), read in place. Without min and max it gets the outer bounds of
 * its edge buckets; without a sum, Σ count × midpoint.
 * @throws {TypeError|RangeError} naming the field and the rule.
 */
export function parseOtelPoint(owner: string, point: unknown): ParsedPoint {
  return parsePoint(owner, point, undefined, false);
}
