import type { RangeRule } from '@datapunk/otel-common/validation';
import { addDense } from './OccupiedBuckets';
import type { OccupiedBuckets } from './OccupiedBuckets';
import type { BucketSpan } from './types';

/** The most buckets of one sign a sketch holds, and a point may carry. */
export const MAX_BUCKETS = 16384;
/** What a sketch's maxBuckets must be. */
export const MAX_BUCKETS_RULE: RangeRule = {
  integer: true,
  min: 2,
  max: MAX_BUCKETS,
};

/**
 * Counts of a contiguous range of bucket indexes in one growable typed array.
 * Growth keeps slack on the side it grew towards, so a range that creeps
 * outward reallocates O(log n) times.
 */
export class BucketCounts implements OccupiedBuckets {
  /** counts[i] is the count of bucket `_base + i`. */
  private _counts: Float64Array = EMPTY;
  private _base = 0;
  /** Lowest and highest non-empty index; start > end when empty. */
  private _start = 0;
  private _end = -1;

  get isEmpty(): boolean {
    return this._end < this._start;
  }

  /** Bytes held by the counts array (its capacity, not just the span). */
  get allocatedBytes(): number {
    return this._counts.byteLength;
  }

  /** The array, in place: bucket `index` holds counts[index − offset]. */
  get counts(): Float64Array {
    return this._counts;
  }

  /** The bucket index of counts[0]. */
  get offset(): number {
    return this._base;
  }

  /** Lowest non-empty index (meaningless when empty). */
  get start(): number {
    return this._start;
  }

  /** Highest non-empty index (meaningless when empty). */
  get end(): number {
    return this._end;
  }

  /** Count of one bucket. */
  at(index: number): number {
    const i = index - this._base;
    return i >= 0 && i < this._counts.length ? this._counts[i] : 0;
  }

  /**
   * Adds to a bucket inside the allocated range and returns true, or returns
   * false (changing nothing) when the range must grow first.
   */
  tryIncrement(index: number, count: number): boolean {
    const i = index - this._base;
    if (i < 0 || i >= this._counts.length) return false;
    this._counts[i] += count;
    if (this._end < this._start) {
      this._start = this._end = index;
    } else if (index < this._start) {
      this._start = index;
    } else if (index > this._end) {
      this._end = index;
    }
    return true;
  }

  /** Adds to a bucket, first growing towards it, to `capacity` buckets at most. */
  add(index: number, count: number, capacity: number): void {
    if (!this.tryIncrement(index, count)) {
      this.reserve(index, index, capacity);
      this.tryIncrement(index, count);
    }
  }

  addTo(target: BucketCounts, shift: number, capacity: number): number {
    return addDense(
      this._counts,
      this._base,
      this._start,
      this._end,
      target,
      shift,
      capacity
    );
  }

  /**
   * Makes the array hold buckets `low` to `high` as well as the current
   * range, with room for at most `capacity` buckets in all (the caller keeps
   * the span within it). Reallocates only when it must: an emptied array
   * (see clear) that is long enough is reused, the range centred in it.
   */
  reserve(low: number, high: number, capacity: number): void {
    const empty = this.isEmpty;
    const lo = empty ? low : Math.min(low, this._start);
    const hi = empty ? high : Math.max(high, this._end);
    const span = hi - lo + 1;
    const length = this._counts.length;
    if (lo >= this._base && hi < this._base + length && !empty) return;
    if (empty && span <= length) {
      this._base = lo - ((length - span) >> 1);
      return;
    }
    const size = Math.min(capacity, Math.max(MIN_ALLOCATION, span * 2));
    // Leave the slack on the side the range is growing towards.
    const base = !empty && lo < this._start ? hi - size + 1 : lo;
    const counts = new Float64Array(size);
    if (!empty) {
      counts.set(
        this._counts.subarray(
          this._start - this._base,
          this._end - this._base + 1
        ),
        this._start - base
      );
    }
    this._counts = counts;
    this._base = base;
  }

  /** Empties the counts, keeping the allocation for reuse. */
  clear(): void {
    if (!this.isEmpty)
      this._counts.fill(
        0,
        this._start - this._base,
        this._end - this._base + 1
      );
    this._start = 0;
    this._end = -1;
  }

  /** Merges each bucket i into bucket i >> change. */
  downscale(change: number): void {
    if (this.isEmpty || change === 0) return;
    const start = this._start >> change;
    const end = this._end >> change;
    const counts = new Float64Array(end - start + 1);
    for (let index = this._start; index <= this._end; index++) {
      counts[(index >> change) - start] += this._counts[index - this._base];
    }
    this._counts = counts;
    this._base = start;
    this._start = start;
    this._end = end;
  }

  /** Counts from `start` to `end` inclusive, as OpenTelemetry's span. */
  toSpan(): BucketSpan {
    if (this.isEmpty) return { offset: 0, bucketCounts: [] };
    const counts = new Array<number>(this._end - this._start + 1);
    const from = this._start - this._base;
    for (let i = 0; i < counts.length; i++) counts[i] = this._counts[from + i];
    return { offset: this._start, bucketCounts: counts };
  }

  clone(): BucketCounts {
    const copy = new BucketCounts();
    copy._counts = this._counts.slice();
    copy._base = this._base;
    copy._start = this._start;
    copy._end = this._end;
    return copy;
  }
}

/** The fewest halvings that bring [low, high] within `maxBuckets` buckets. */
export function scaleChange(
  low: number,
  high: number,
  maxBuckets: number
): number {
  let change = 0;
  while (high - low >= maxBuckets) {
    high >>= 1;
    low >>= 1;
    change++;
  }
  return change;
}

const EMPTY = new Float64Array(0);
/** The smallest array worth allocating: 16 buckets = 128 bytes. */
const MIN_ALLOCATION = 16;
