import { checkNumber } from '@datapunk/otel-common/validation';
import type { RangeRule } from '@datapunk/otel-common/validation';

/**
 * One sign's bucket counts read in place, the form every merge adds: bucket
 * `index` holds `counts[index − offset]`, and `start` and `end` are the
 * lowest and highest occupied indexes (start > end when none is).
 */
export interface OccupiedBuckets {
  readonly counts: ArrayLike<number>;
  readonly offset: number;
  readonly start: number;
  readonly end: number;
}

/** Occupied buckets whose counts {@link scanCounts} checked, and their total. */
export interface ScannedBuckets extends OccupiedBuckets {
  counts: ArrayLike<number>;
  offset: number;
  start: number;
  end: number;
  total: number;
}

/** A count: an integer that a sum of counts can still hold exactly. */
export const COUNT_RULE: RangeRule = {
  integer: true,
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
};

/** Empty scanned buckets, to be filled by {@link scanCounts}. */
export function emptyScan(): ScannedBuckets {
  return { counts: [], offset: 0, start: 0, end: -1, total: 0 };
}

/**
 * Checks `counts[from]` to `counts[to − 1]`, the counts of buckets `first`
 * onwards (non-negative safe integers, with a safe total), and writes where
 * they are occupied into `into`, which it returns. Nothing is copied, and
 * nothing allocated unless it throws.
 * @throws {TypeError|RangeError} naming `sign.key[i]`, e.g.
 *   `'positive.bucketCounts[3]'`.
 */
export function scanCounts(
  owner: string,
  sign: string,
  key: string,
  counts: ArrayLike<unknown>,
  from: number,
  to: number,
  first: number,
  into: ScannedBuckets
): ScannedBuckets {
  let total = 0;
  let start = 0;
  let end = -1;
  for (let i = from; i < to; i++) {
    const count = counts[i];
    // The common case inline; checkNumber only to name what is wrong.
    if (
      !(typeof count === 'number' && count >= 0 && Number.isSafeInteger(count))
    )
      checkNumber(owner, `'${sign}.${key}[${i}]'`, count, COUNT_RULE);
    if (count === 0) continue;
    if (end < start) start = i;
    end = i;
    total += count as number;
  }
  if (!Number.isSafeInteger(total)) {
    throw new RangeError(`${owner}: '${sign}.${key}' add up past 2^53`);
  }
  const offset = first - from;
  into.counts = counts as ArrayLike<number>;
  into.offset = offset;
  into.start = start + offset;
  into.end = end + offset;
  into.total = total;
  return into;
}
