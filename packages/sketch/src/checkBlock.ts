import {
  checkNumber,
  checkRecord,
  fail,
  failType,
} from '@datapunk/otel-common/validation';
import type { RangeRule } from '@datapunk/otel-common/validation';
import { SCALE_RULE, getMapping } from './Base2Mapping';
import type { Base2Mapping } from './Base2Mapping';
import { COUNT_RULE, emptyScan, scanCounts } from './OccupiedBuckets';
import type { ScannedBuckets } from './OccupiedBuckets';
import type { BucketBlock, BucketRange } from './types';

/** A block that passed {@link checkBlock}: shared, valid until the next check. */
export interface CheckedBlock {
  positive: ScannedBuckets;
  negative: ScannedBuckets;
  /** zeroCount plus every bucket count. */
  count: number;
}

const INDEX_RULE: RangeRule = { integer: true };
const NO_COUNTS: ArrayLike<number> = [];
const CHECKED: CheckedBlock = {
  positive: emptyScan(),
  negative: emptyScan(),
  count: 0,
};

/**
 * Checks a dense block for what would break a sketch's invariants — a scale
 * outside [-10, 20], a range outside its array or the scale's indexes, a
 * count that is not a non-negative integer, a total past 2^53, min > max —
 * in one pass over the counts, which also finds the occupied buckets. It
 * allocates nothing unless it throws. A block is trusted beyond that: min and
 * max are taken as its extremes and the sum as its sum (a foreign point gets
 * the fuller checks of parsePoint).
 * @throws {TypeError|RangeError} naming the field and the rule.
 */
export function checkBlock(owner: string, block: BucketBlock): CheckedBlock {
  checkRecord(owner, "'block'", block);
  const mapping = getMapping(
    checkNumber(owner, "'scale'", block.scale, SCALE_RULE)
  );
  const zeroCount = checkNumber(
    owner,
    "'zeroCount'",
    block.zeroCount,
    COUNT_RULE
  );
  const { positive, negative } = CHECKED;
  checkRange(owner, 'positive', block.positive, mapping, positive);
  checkRange(owner, 'negative', block.negative, mapping, negative);
  const count = zeroCount + positive.total + negative.total;
  if (!Number.isSafeInteger(count)) {
    throw new RangeError(
      `${owner}: 'zeroCount' and the bucket counts add up past 2^53`
    );
  }
  if (typeof block.sum !== 'number') {
    failType(owner, "'sum'", 'a number', block.sum);
  }
  if (block.sumError !== undefined && typeof block.sumError !== 'number') {
    failType(owner, "'sumError'", 'a number or absent', block.sumError);
  }
  if (count > 0) {
    const min = checkNumber(owner, "'min'", block.min);
    const max = checkNumber(owner, "'max'", block.max);
    if (min > max) fail(owner, "'min'", `must be ≤ 'max' (${max})`, min);
  }
  CHECKED.count = count;
  return CHECKED;
}

/** Checks one sign's range into `into`; field names are built only to throw. */
function checkRange(
  owner: string,
  sign: string,
  range: BucketRange | undefined,
  mapping: Base2Mapping,
  into: ScannedBuckets
): void {
  if (range === undefined) {
    scanCounts(owner, sign, 'counts', NO_COUNTS, 0, 0, 0, into);
    return;
  }
  if (typeof range !== 'object' || range === null) {
    failType(owner, `'${sign}'`, 'an object or absent', range);
  }
  const { counts, from, to, offset } = range;
  if (
    typeof counts !== 'object' ||
    counts === null ||
    typeof counts.length !== 'number'
  ) {
    failType(owner, `'${sign}.counts'`, 'an array or a typed array', counts);
  }
  if (!(Number.isInteger(from) && from >= 0)) {
    fail(owner, `'${sign}.from'`, 'must be an integer ≥ 0', from);
  }
  if (!(Number.isInteger(to) && to >= from && to <= counts.length)) {
    fail(
      owner,
      `'${sign}.to'`,
      `must be an integer ≥ 'from' (${from}) and ≤ the length of 'counts' (${counts.length})`,
      to
    );
  }
  if (!Number.isInteger(offset)) {
    checkNumber(owner, `'${sign}.offset'`, offset, INDEX_RULE);
  }
  scanCounts(owner, sign, 'counts', counts, from, to, offset, into);
  if (
    into.start <= into.end &&
    (into.start < mapping.minIndex || into.end > mapping.maxIndex)
  ) {
    fail(
      owner,
      `'${sign}'`,
      `must hold buckets within [${mapping.minIndex}, ${mapping.maxIndex}] at scale ${mapping.scale}, not [${into.start}, ${into.end}]`
    );
  }
}
