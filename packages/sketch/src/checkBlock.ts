import {
  checkNumber,
  checkRecord,
  fail,
  failType,
} from '@datapunk/otel-common/validation';
import type { RangeRule } from '@datapunk/otel-common/validation';
import { SCALE_RULE, getMapping } from './Base2Mapping';
import type { Base2Mapping } from './Base2Mapping';
import { COUNT_RULE, DenseBuckets, occupy } from './OccupiedBuckets';
import type { BucketBlock, BucketRange } from './types';

/** The occupied buckets of a checked block: shared, valid until {@link releaseChecked} or the next check. */
export interface CheckedBlock {
  positive: DenseBuckets;
  negative: DenseBuckets;
}

const INDEX_RULE: RangeRule = { integer: true };
const NO_COUNTS: ArrayLike<number> = [];
/** Reused by every check; it holds the block's arrays until released. */
const CHECKED: CheckedBlock = {
  positive: new DenseBuckets(),
  negative: new DenseBuckets(),
};

/**
 * Checks what costs nothing to check in a dense block — the scale, each
 * range against its array and the scale's indexes, the zero count, min and
 * max finite with min ≤ max, a numeric sum — and finds each sign's occupied
 * buckets, reading only the empty slots at either end. The counts are
 * trusted, as they come from the caller's own record path: checking each
 * would be a second pass over the block (foreign points get that, in
 * parsePoint). Allocates nothing unless it throws.
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
  if (typeof block.sum !== 'number') {
    failType(owner, "'sum'", 'a number', block.sum);
  }
  if (block.sumError !== undefined && typeof block.sumError !== 'number') {
    failType(owner, "'sumError'", 'a number or absent', block.sumError);
  }
  if (
    zeroCount > 0 ||
    positive.start <= positive.end ||
    negative.start <= negative.end
  ) {
    const min = checkNumber(owner, "'min'", block.min);
    const max = checkNumber(owner, "'max'", block.max);
    if (min > max) fail(owner, "'min'", `must be ≤ 'max' (${max})`, min);
  }
  return CHECKED;
}

/**
 * Lets go of the last checked block's arrays, so that the shared holder
 * does not keep a caller's buffer (e.g. an arena chunk it has since given
 * back) alive.
 */
export function releaseChecked(): void {
  occupy(CHECKED.positive, NO_COUNTS, 0, 0, 0);
  occupy(CHECKED.negative, NO_COUNTS, 0, 0, 0);
}

/** Checks one sign's range into `into`; field names are built only to throw. */
function checkRange(
  owner: string,
  sign: string,
  range: BucketRange | undefined,
  mapping: Base2Mapping,
  into: DenseBuckets
): void {
  if (range === undefined) {
    occupy(into, NO_COUNTS, 0, 0, 0);
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
  occupy(into, counts, from, to, offset);
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
