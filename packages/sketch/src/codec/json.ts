import { checkNumber } from '@datapunk/otel-common/validation';
import { SCALE_RULE } from '../Base2Mapping';
import { MAX_BUCKETS_RULE, scaleChange } from '../BucketCounts';
import type { BucketCounts } from '../BucketCounts';
import type { ExactSum } from '../ExactSum';
import type { ExponentialSketch } from '../ExponentialSketch';
import { COUNT_RULE } from '../OccupiedBuckets';
import type { DenseBuckets } from '../OccupiedBuckets';
import type { ExponentialSketchJSON } from '../types';
import { requireVersioned } from '../validate';
import { isEmpty, parsePoint, parseSumParts } from './parsePoint';
import type { ParsedPoint } from './parsePoint';

const JSON_VERSION = 1;

/** A sketch's JSON, checked: the options it had, its data, its rejected count. */
export interface ParsedSketchJSON {
  maxBuckets: number;
  maxScale: number;
  point: ParsedPoint;
  rejected: number;
}

/** The JSON form of `sketch`, whose exact sum and buckets its caller hands over. */
export function sketchToJSON(
  sketch: ExponentialSketch,
  sum: ExactSum,
  positive: BucketCounts,
  negative: BucketCounts
): ExponentialSketchJSON {
  const parts = sum.canonicalParts();
  const overflowed = parts.length === 1 && !Number.isFinite(parts[0]);
  return {
    version: JSON_VERSION,
    maxBuckets: sketch.maxBuckets,
    maxScale: sketch.maxScale,
    scale: sketch.scale,
    count: sketch.count,
    zeroCount: sketch.zeroCount,
    sum: overflowed
      ? (String(parts[0]) as 'Infinity' | '-Infinity' | 'NaN')
      : parts,
    ...(sketch.count > 0 ? { min: sketch.min, max: sketch.max } : {}),
    positive: positive.toSpan(),
    negative: negative.toSpan(),
    rejected: sketch.rejected,
  };
}

/**
 * Checks a sketch's JSON: every field, the invariants between them (see
 * parsePoint), and that the data fits the options it names.
 * @throws {TypeError|RangeError} naming the field and the rule.
 */
export function parseSketchJSON(
  owner: string,
  json: unknown
): ParsedSketchJSON {
  const record = requireVersioned(owner, json, JSON_VERSION);
  const maxBuckets = checkNumber(
    owner,
    "'maxBuckets'",
    record.maxBuckets,
    MAX_BUCKETS_RULE
  );
  const maxScale = checkNumber(
    owner,
    "'maxScale'",
    record.maxScale,
    SCALE_RULE
  );
  const point = parsePoint(
    owner,
    record,
    parseSumParts(owner, record.sum),
    true
  );
  const fits = (buckets: DenseBuckets) =>
    isEmpty(buckets) ||
    scaleChange(buckets.start, buckets.end, maxBuckets) === 0;
  if (
    point.mapping.scale > maxScale ||
    !fits(point.positive) ||
    !fits(point.negative)
  ) {
    throw new RangeError(
      `${owner}: 'scale' and the bucket spans must fit 'maxScale' and 'maxBuckets'`
    );
  }
  const rejected = checkNumber(
    owner,
    "'rejected'",
    record.rejected,
    COUNT_RULE
  );
  return { maxBuckets, maxScale, point, rejected };
}
