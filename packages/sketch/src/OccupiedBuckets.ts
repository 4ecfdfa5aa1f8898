import { checkNumber } from '@datapunk/otel-common/validation';
import type { RangeRule } from '@datapunk/otel-common/validation';
import type { BucketCounts } from './BucketCounts';

/**
 * One sign's buckets as every merge takes them: where they are occupied,
 * and how to add them, read in place from whatever holds them.
 */
export interface OccupiedBuckets {
  /** The lowest and highest occupied index; start > end when none is. */
  readonly start: number;
  readonly end: number;
  /**
   * Adds each occupied bucket's count to bucket `index >> shift` of
   * `target`, which may grow to `capacity` buckets (room was made), and
   * returns the total added.
   */
  addTo(target: BucketCounts, shift: number, capacity: number): number;
}

/** {@link OccupiedBuckets.addTo} for counts in an array: bucket `index` holds counts[index − offset]. */
export function addDense(
  counts: ArrayLike<number>,
  offset: number,
  start: number,
  end: number,
  target: BucketCounts,
  shift: number,
  capacity: number
): number {
  let total = 0;
  for (let index = start; index <= end; index++) {
    const count = counts[index - offset];
    if (count === 0) continue;
    target.add(index >> shift, count, capacity);
    total += count;
  }
  return total;
}

/** A count: an integer that a sum of counts can still hold exactly. */
export const COUNT_RULE: RangeRule = {
  integer: true,
  min: 0,
  max: Number.MAX_SAFE_INTEGER,
};

const NO_COUNTS: ArrayLike<number> = [];

/**
 * Counts in an array, read in place: bucket `index` holds
 * counts[index − offset]. {@link occupy} or {@link scanCounts} say which.
 */
export class DenseBuckets implements OccupiedBuckets {
  counts: ArrayLike<number> = NO_COUNTS;
  offset = 0;
  start = 0;
  end = -1;

  addTo(target: BucketCounts, shift: number, capacity: number): number {
    return addDense(
      this.counts,
      this.offset,
      this.start,
      this.end,
      target,
      shift,
      capacity
    );
  }
}

/**
 * Makes `into` read `counts[from]` to `counts[to − 1]` as the counts of
 * buckets `first` onwards, occupied from the first to the last non-zero
 * count: only the empty slots at either end are read.
 */
export function occupy(
  into: DenseBuckets,
  counts: ArrayLike<number>,
  from: number,
  to: number,
  first: number
): DenseBuckets {
  let start = from;
  while (start < to && counts[start] === 0) start++;
  let end = to - 1;
  while (end > start && counts[end] === 0) end--;
  const offset = first - from;
  into.counts = counts;
  into.offset = offset;
  into.start = start + offset;
  into.end = end + offset;
  return into;
}

/**
 * Checks `counts[from]` to `counts[to − 1]`, counts from outside
 * (non-negative safe integers with a safe total), makes `into` read them
 * as the counts of buckets `first` onwards (see {@link occupy}), and
 * returns their total.
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
  into: DenseBuckets
): number {
  let total = 0;
  for (let i = from; i < to; i++) {
    const count = counts[i];
    // The common case inline; checkNumber only to name what is wrong.
    if (
      !(typeof count === 'number' && count >= 0 && Number.isSafeInteger(count))
    )
      checkNumber(owner, `'${sign}.${key}[${i}]'`, count, COUNT_RULE);
    total += count as number;
  }
  if (!Number.isSafeInteger(total)) {
    throw new RangeError(`${owner}: '${sign}.${key}' add up past 2^53`);
  }
  occupy(into, counts as ArrayLike<number>, from, to, first);
  return total;
}
