import type { ByteWriter } from '@datapunk/otel-common/codec';

/**
 * Counts of a contiguous range of bucket indexes in one growable typed array.
 * Growth keeps slack on the side it grew towards, so a range that creeps
 * outward reallocates O(log n) times.
 */
export class BucketCounts {
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

  /**
   * Reallocates so that `index` fits next to the current range, with room for
   * at most `capacity` buckets in all (the caller keeps the span within it).
   */
  growToInclude(index: number, capacity: number): void {
    if (this.isEmpty && this._counts.length > 0) {
      // An emptied array (see clear) is reused: centre it on the index.
      this._base = index - (this._counts.length >> 1);
      return;
    }
    const lo = this.isEmpty ? index : Math.min(index, this._start);
    const hi = this.isEmpty ? index : Math.max(index, this._end);
    const span = hi - lo + 1;
    const size = Math.min(capacity, Math.max(MIN_ALLOCATION, span * 2));
    // Leave the slack on the side the range is growing towards.
    const base = !this.isEmpty && index < this._start ? hi - size + 1 : lo;
    const counts = new Float64Array(size);
    if (!this.isEmpty) {
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

  /**
   * The non-empty buckets, lowest first, each as its gap from the previous
   * one (the first from `start`) and its count: one byte
   * `gap << 4 | count − 1` when the gap is ≤ 7 and the count ≤ 16, which is
   * most buckets of most data; otherwise the byte 128, then both as varints.
   * The reader stops at `end`, the last non-empty bucket.
   */
  writeNonZero(writer: ByteWriter): void {
    let previous = this._start;
    for (let index = this._start; index <= this._end; index++) {
      const count = this._counts[index - this._base];
      if (count === 0) continue;
      const gap = index - previous;
      if (gap <= 7 && count <= 16) {
        writer.writeByte((gap << 4) | (count - 1));
      } else {
        writer.writeByte(ESCAPE);
        writer.writeVarint(gap);
        writer.writeVarint(count);
      }
      previous = index;
    }
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

  /** Counts from `start` to `end` inclusive, as OpenTelemetry's bucketCounts. */
  toArray(): number[] {
    if (this.isEmpty) return [];
    const counts = new Array<number>(this._end - this._start + 1);
    const from = this._start - this._base;
    for (let i = 0; i < counts.length; i++) counts[i] = this._counts[from + i];
    return counts;
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

const EMPTY = new Float64Array(0);
/** In {@link BucketCounts.writeNonZero}: gap and count follow as varints. */
export const ESCAPE = 128;
/** The smallest array worth allocating: 16 buckets = 128 bytes. */
const MIN_ALLOCATION = 16;
