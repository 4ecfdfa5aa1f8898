import {
  checkNumber,
  checkRecord,
  describeValue,
} from '@datapunk/otel-common/validation';
import { SCALE_RULE, getMapping } from '../Base2Mapping';
import type { Base2Mapping } from '../Base2Mapping';
import { MAX_BUCKETS } from '../BucketCounts';
import { ExactSum } from '../ExactSum';
import { COUNT_RULE, DenseBuckets, scanCounts } from '../OccupiedBuckets';
/**
 * How far a stored min or max may sit outside its bucket: the rounding of
 * computed boundaries, far below a bucket's width even at scale 20.
 */
const BOUNDARY_SLACK = 1e-12;
/** How far sum / count may stray outside [min, max]: float sums drift. */
const MEAN_SLACK = 1e-6;

/** A point-shaped record whose fields hold together. */
export interface ParsedPoint {
  mapping: Base2Mapping;
  zeroCount: number;
  count: number;
  /** Each sign's buckets, checked and read in place. */
  positive: DenseBuckets;
  negative: DenseBuckets;
  /** Infinity / -Infinity when count is 0. */
  min: number;
  max: number;
  /** The exact sum: the point's one sum, or exact parts (given, or estimated). */
  sum: number | ExactSum;
}

/** An occupied bucket at the edge of the data; null means zero is the edge. */
type Edge = { sign: 1 | -1; index: number } | null;

/**
 * Validates a point-shaped record (an OpenTelemetry exponential histogram
 * point, or the bucket part of a sketch's JSON) and the invariants between
 * its fields: count = zeroCount + Σ buckets, min and max inside the outermost
 * occupied buckets, the mean inside [min, max]. With `sumParts` undefined and
 * no sum in the record, the sum is estimated from bucket midpoints; without
 * min and max (allowed unless `requireMinMax`), the outer bounds of the edge
 * buckets are used.
 * @throws {TypeError|RangeError} naming the field and the rule.
 */
export function parsePoint(
  owner: string,
  value: unknown,
  sumParts: readonly number[] | undefined,
  requireMinMax: boolean
): ParsedPoint {
  const record = checkRecord(owner, "'point'", value);
  const scale = checkNumber(owner, "'scale'", record.scale, SCALE_RULE);
  const mapping = getMapping(scale);
  const zeroCount = requireCount(owner, 'zeroCount', record.zeroCount);
  const count = requireCount(owner, 'count', record.count);
  const positive = new DenseBuckets();
  const negative = new DenseBuckets();
  const total =
    zeroCount +
    parseSpan(owner, 'positive', record.positive, mapping, positive) +
    parseSpan(owner, 'negative', record.negative, mapping, negative);
  if (total !== count) {
    throw new RangeError(
      `${owner}: 'count' (${count}) must equal 'zeroCount' plus all bucket counts (${total})`
    );
  }

  const lowest: Edge = !isEmpty(negative)
    ? { sign: -1, index: negative.end }
    : zeroCount === 0 && !isEmpty(positive)
      ? { sign: 1, index: positive.start }
      : null;
  const highest: Edge = !isEmpty(positive)
    ? { sign: 1, index: positive.end }
    : zeroCount === 0 && !isEmpty(negative)
      ? { sign: -1, index: negative.start }
      : null;
  let min = Infinity;
  let max = -Infinity;
  if (count > 0) {
    if (
      !requireMinMax &&
      record.min === undefined &&
      record.max === undefined
    ) {
      min = outerBound(mapping, lowest, -1);
      max = outerBound(mapping, highest, 1);
    } else {
      min = checkNumber(owner, "'min'", record.min);
      max = checkNumber(owner, "'max'", record.max);
      requireInEdgeBucket(owner, 'min', min, lowest, mapping);
      requireInEdgeBucket(owner, 'max', max, highest, mapping);
    }
  }

  let sum: number | ExactSum;
  if (sumParts === undefined && record.sum !== undefined) {
    sum = checkNumber(owner, "'sum'", record.sum);
  } else {
    sum = new ExactSum();
    if (sumParts !== undefined) {
      for (const part of sumParts) sum.add(part);
    } else {
      addMidpoints(sum, positive, mapping, 1);
      addMidpoints(sum, negative, mapping, -1);
    }
  }
  const sumValue = typeof sum === 'number' ? sum : sum.value;
  if (count === 0 && sumValue !== 0) {
    throw new RangeError(
      `${owner}: 'sum' must be 0 when 'count' is 0, got ${sumValue}`
    );
  }
  const mean = sumValue / count;
  const slack = MEAN_SLACK * Math.max(Math.abs(min), Math.abs(max));
  if (
    count > 0 &&
    Number.isFinite(mean) &&
    !(mean >= min - slack && mean <= max + slack)
  ) {
    throw new RangeError(
      `${owner}: 'sum' gives a mean of ${mean}, outside [min, max] = [${min}, ${max}]`
    );
  }
  return {
    mapping,
    zeroCount,
    count,
    positive,
    negative,
    min,
    max,
    sum,
  };
}

/** Exact sum parts from a sketch's JSON `sum`: finite numbers, or a saturated sum. */
export function parseSumParts(owner: string, value: unknown): number[] {
  if (value === 'Infinity' || value === '-Infinity' || value === 'NaN') {
    return [Number(value)];
  }
  if (!Array.isArray(value) || value.length > 64) {
    throw new TypeError(
      `${owner}: 'sum' must be an array of at most 64 finite numbers or a saturated sum string, got ${describeValue(value)}`
    );
  }
  return value.map((part: unknown, i) =>
    checkNumber(owner, `'sum[${i}]'`, part)
  );
}

function requireCount(owner: string, name: string, value: unknown): number {
  return checkNumber(owner, `'${name}'`, value, COUNT_RULE);
}

/** Whether scanned buckets hold nothing. */
export function isEmpty(buckets: DenseBuckets): boolean {
  return buckets.start > buckets.end;
}

/** Checks one sign's span into `into`; returns its total count. */
function parseSpan(
  owner: string,
  name: string,
  value: unknown,
  mapping: Base2Mapping,
  into: DenseBuckets
): number {
  const span = checkRecord(owner, `'${name}'`, value);
  const counts = span.bucketCounts;
  if (!Array.isArray(counts) || counts.length > MAX_BUCKETS) {
    throw new TypeError(
      `${owner}: '${name}.bucketCounts' must be an array of at most ${MAX_BUCKETS} counts, got ${describeValue(counts)}`
    );
  }
  const offset = checkNumber(owner, `'${name}.offset'`, span.offset, {
    integer: true,
    min: mapping.minIndex,
    max: mapping.maxIndex - Math.max(0, counts.length - 1),
  });
  return scanCounts(
    owner,
    name,
    'bucketCounts',
    counts,
    0,
    counts.length,
    offset,
    into
  );
}

function requireInEdgeBucket(
  owner: string,
  name: string,
  value: number,
  edge: Edge,
  mapping: Base2Mapping
): void {
  if (edge === null) {
    if (value === 0) return;
    throw new RangeError(
      `${owner}: '${name}' must be 0, the edge of the data, got ${value}`
    );
  }
  const magnitude = value * edge.sign;
  // The lowest bucket also holds every subnormal value.
  const lower =
    edge.index === mapping.minIndex ? 0 : mapping.lowerBoundary(edge.index);
  const upper = mapping.lowerBoundary(edge.index + 1);
  if (
    !(
      magnitude > lower * (1 - BOUNDARY_SLACK) &&
      magnitude <= upper * (1 + BOUNDARY_SLACK)
    )
  ) {
    throw new RangeError(
      `${owner}: '${name}' (${value}) must lie in its edge bucket ${edge.sign * edge.index} at scale ${mapping.scale}`
    );
  }
}

/** The far end of an edge bucket in `direction` (-1 low, 1 high). */
function outerBound(
  mapping: Base2Mapping,
  edge: Edge,
  direction: 1 | -1
): number {
  if (edge === null) return 0;
  const outward = edge.sign === direction;
  const bound = mapping.lowerBoundary(outward ? edge.index + 1 : edge.index);
  return Math.min(bound, Number.MAX_VALUE) * edge.sign;
}

function addMidpoints(
  sum: ExactSum,
  buckets: DenseBuckets,
  mapping: Base2Mapping,
  sign: 1 | -1
): void {
  for (let index = buckets.start; index <= buckets.end; index++) {
    const count = buckets.counts[index - buckets.offset];
    if (count > 0) sum.addProduct(sign * mapping.midpoint(index), count);
  }
}
