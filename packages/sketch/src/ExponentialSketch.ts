import { MAX_SCALE, SCALE_RULE, getMapping } from './Base2Mapping';
import type { Base2Mapping } from './Base2Mapping';
import { BucketCounts, MAX_BUCKETS_RULE, scaleChange } from './BucketCounts';
import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';
import { ExactSum } from './ExactSum';
import type { OccupiedBuckets } from './OccupiedBuckets';
import type {
  BucketBlock,
  BucketRange,
  ExponentialHistogramPoint,
  ExponentialSketchJSON,
  ExponentialSketchOptions,
} from './types';
import { checkBlock, releaseChecked } from './checkBlock';
import { readSketch, writeSketch } from './codec/binary';
import { parseSketchJSON, sketchToJSON } from './codec/json';
import { parseOtelPoint, sketchToPoint } from './codec/otelPoint';
import type { ParsedPoint } from './codec/parsePoint';
import { OptionReader, describeValue } from '@datapunk/otel-common/validation';
import { isRecordable } from './validate';

const DEFAULT_MAX_BUCKETS = 520;
const OPTION_KEYS = ['maxBuckets', 'maxScale'] as const;
/** The sketch, its two bucket stores and exact sum, with object headers. */
const SKETCH_OVERHEAD_BYTES = 450;
/** A typed array's object and buffer headers, beyond its data. */
const TYPED_ARRAY_OVERHEAD_BYTES = 200;

/**
 * A mergeable quantile sketch on OpenTelemetry's base-2 exponential buckets.
 *
 * Every quantile is within {@link relativeError} of the exact value at rank
 * ⌊q·(count − 1)⌋ of the recorded data; count, min, max and zero count are
 * exact, and sum is the exact sum correctly rounded. Sketches merge by adding
 * bucket counts (after bringing both to the lower scale), so merging shards
 * gives the same sketch, bit for bit, as recording everything in one.
 *
 * Invalid values (non-numbers, NaN, ±Infinity) and counts (non-integer,
 * ≤ 0) are never thrown on: they are dropped and counted in {@link rejected}.
 */
export class ExponentialSketch {
  private readonly _maxBuckets: number;
  private readonly _maxScale: number;
  private _mapping: Base2Mapping;
  private _positive = new BucketCounts();
  private _negative = new BucketCounts();
  private _zeroCount = 0;
  private _count = 0;
  private _sum = new ExactSum();
  private _min = Infinity;
  private _max = -Infinity;
  private _rejected = 0;

  /**
   * @throws {TypeError} if an option has the wrong type or is unknown.
   * @throws {RangeError} if an option is outside its range.
   */
  constructor(options: ExponentialSketchOptions = {}) {
    const reader = new OptionReader('ExponentialSketch', options, OPTION_KEYS);
    this._maxBuckets = reader.integer(
      'maxBuckets',
      DEFAULT_MAX_BUCKETS,
      MAX_BUCKETS_RULE
    );
    this._maxScale = reader.integer('maxScale', MAX_SCALE, SCALE_RULE);
    this._mapping = getMapping(this._maxScale);
  }

  /** Number of recorded values, zeros included. */
  get count(): number {
    return this._count;
  }

  /** Number of recorded zeros. */
  get zeroCount(): number {
    return this._zeroCount;
  }

  /** The option: most buckets per sign. */
  get maxBuckets(): number {
    return this._maxBuckets;
  }

  /** The option: the finest scale, where the sketch starts. */
  get maxScale(): number {
    return this._maxScale;
  }

  /** Exact sum of recorded values, rounded once to a double. */
  get sum(): number {
    return this._sum.value;
  }

  /** Smallest recorded value, NaN when empty. */
  get min(): number {
    return this._count === 0 ? NaN : this._min;
  }

  /** Largest recorded value, NaN when empty. */
  get max(): number {
    return this._count === 0 ? NaN : this._max;
  }

  /** sum / count, NaN when empty. */
  get mean(): number {
    return this._count === 0 ? NaN : this.sum / this._count;
  }

  /**
   * Population standard deviation from the bucket midpoints (clamped to [min,
   * max]) around the exact mean: each value is represented within
   * relativeError, and constant data gives exactly 0. NaN when empty.
   */
  get stddev(): number {
    if (this._count === 0) return NaN;
    const mean = this.mean;
    const squares =
      this._zeroCount * mean * mean +
      this._squaredDeviations(this._positive, 1, mean) +
      this._squaredDeviations(this._negative, -1, mean);
    return Math.sqrt(squares / this._count);
  }

  /**
   * The bucket counts of positive values (with `sign` −1, of negative
   * values by magnitude) at {@link scale}, read in place: valid until the
   * sketch next changes. An empty range when there are none. Copies
   * nothing, unlike {@link toExponentialHistogram}.
   */
  buckets(sign: 1 | -1 = 1): BucketRange {
    const buckets = sign === 1 ? this._positive : this._negative;
    if (buckets.isEmpty)
      return { counts: buckets.counts, offset: 0, from: 0, to: 0 };
    return {
      counts: buckets.counts,
      offset: buckets.start,
      from: buckets.start - buckets.offset,
      to: buckets.end - buckets.offset + 1,
    };
  }

  /** Current scale: base = 2^(2^-scale). */
  get scale(): number {
    return this._mapping.scale;
  }

  /** The relative error bound that holds now: (base − 1) / (base + 1). */
  get relativeError(): number {
    return this._mapping.relativeError;
  }

  /** Number of record() calls dropped for an invalid value or count. */
  get rejected(): number {
    return this._rejected;
  }

  /**
   * An estimate of the memory this sketch holds: its bucket arrays plus a
   * fixed allowance for the object and its fields (V8, 64-bit). For memory
   * budgets; measured retained sizes are in the README.
   */
  get retainedBytes(): number {
    return (
      SKETCH_OVERHEAD_BYTES +
      arrayBytes(this._positive.allocatedBytes) +
      arrayBytes(this._negative.allocatedBytes)
    );
  }

  /**
   * Adds `count` occurrences of `value`. Never throws: an invalid value or
   * count is dropped and counted in {@link rejected}.
   */
  record(value: number, count = 1): void {
    if (!isRecordable(value, count, this._count)) {
      this._rejected++;
      return;
    }
    if (value > 0) {
      this._increment(this._positive, value, count);
    } else if (value < 0) {
      this._increment(this._negative, -value, count);
    } else {
      value = 0; // -0 joins the zero bucket as +0
      this._zeroCount += count;
    }
    this._count += count;
    if (value < this._min) this._min = value;
    if (value > this._max) this._max = value;
    if (count === 1) {
      this._sum.add(value);
    } else {
      this._sum.addProduct(value, count);
    }
  }

  /**
   * Adds every value of `other` to this sketch, downscaling to the lower of
   * the two scales (or lower, if the union needs more than maxBuckets).
   * @throws {TypeError} if `other` is not an ExponentialSketch.
   */
  merge(other: ExponentialSketch): void {
    if (!(other instanceof ExponentialSketch)) {
      throw new TypeError(
        `ExponentialSketch.merge: expected an ExponentialSketch, got ${describeValue(other)}`
      );
    }
    if (other === this) other = other.clone();
    this._mergeCounts(
      other.scale,
      other._positive,
      other._negative,
      other._zeroCount,
      other._min,
      other._max
    );
    this._sum.merge(other._sum);
    this._rejected += other._rejected;
  }

  /**
   * Adds a dense block of bucket counts read in place, e.g. a series' block
   * in a store's shared Float64Array, allocating nothing: the same result,
   * bit for bit, as recording its values here (given the block's exact sum),
   * through the same code as merge(), mergeFrom() and
   * mergeExponentialHistogram(). It reads each range once: its cost is
   * proportional to `to − from`.
   *
   * The block is trusted to come from the caller's own record path: what
   * costs nothing to check is checked (scale, ranges, zero count, min ≤ max,
   * a numeric sum), but not each count, which must be a non-negative
   * integer, nor that min, max and the sum are the block's values. A point
   * from elsewhere goes through {@link mergeExponentialHistogram}, which
   * checks everything.
   * @throws {TypeError|RangeError} naming the field, if the block is
   *   malformed; the sketch is then unchanged.
   */
  mergeBuckets(block: BucketBlock): void {
    const checked = checkBlock('ExponentialSketch.mergeBuckets', block);
    try {
      this._mergeCounts(
        block.scale,
        checked.positive,
        checked.negative,
        block.zeroCount,
        block.min,
        block.max
      );
    } finally {
      releaseChecked();
    }
    this._sum.add(block.sum);
    if (block.sumError !== undefined) this._sum.add(block.sumError);
  }

  /**
   * Adds the data of an OpenTelemetry exponential histogram point, e.g. one
   * exported by `@opentelemetry/sdk-metrics`, straight from its arrays: the
   * same result as merging {@link fromExponentialHistogram}'s sketch, with
   * no sketch made for it.
   * @throws {TypeError|RangeError} naming the field, if the point is
   *   malformed; the sketch is then unchanged.
   */
  mergeExponentialHistogram(point: ExponentialHistogramPoint): void {
    this._mergeParsed(
      parseOtelPoint('ExponentialSketch.mergeExponentialHistogram', point)
    );
  }

  /** Empties the sketch, keeping its allocations for reuse. */
  clear(): void {
    this._positive.clear();
    this._negative.clear();
    this._mapping = getMapping(this._maxScale);
    this._zeroCount = 0;
    this._count = 0;
    this._sum.clear();
    this._min = Infinity;
    this._max = -Infinity;
    this._rejected = 0;
  }

  /**
   * Writes the sketch in a compact binary form (occupied buckets only, a
   * few bits each) for storage inside a process; {@link mergeFrom} reads it
   * back exactly. Options are not written: the reader supplies its own.
   */
  writeTo(writer: ByteWriter): void {
    writeSketch(writer, this, this._sum, this._positive, this._negative);
  }

  /**
   * Adds a sketch written by {@link writeTo}, as merge() would add the
   * sketch itself, without making one. The bytes are trusted (they never
   * left the process): nothing is checked.
   */
  mergeFrom(reader: ByteReader): void {
    const written = readSketch(reader, this._sum);
    this._mergeCounts(
      written.scale,
      written.positive,
      written.negative,
      written.zeroCount,
      written.min,
      written.max
    );
    this._rejected += written.rejected;
  }

  /**
   * The value at rank ⌊q·(count − 1)⌋, within {@link relativeError} of the
   * exact one. q = 0 and q = 1 give the exact min and max. NaN when empty or
   * when q is not a number in [0, 1].
   */
  quantile(q: number): number {
    return this.quantiles([q])[0];
  }

  /** {@link quantile} for several q at once, in one pass over the buckets. */
  quantiles(qs: readonly number[]): number[] {
    const results = new Array<number>(qs.length).fill(NaN);
    if (this._count === 0) return results;
    // Visit the wanted ranks in increasing order while walking the buckets.
    const order: number[] = [];
    qs.forEach((q, i) => {
      if (typeof q !== 'number' || !(q >= 0 && q <= 1)) return;
      if (q === 0) results[i] = this._min;
      else if (q === 1) results[i] = this._max;
      else order.push(i);
    });
    // Callers mostly ask in increasing order: sort (which allocates) only if not.
    for (let i = 1; i < order.length; i++)
      if (qs[order[i - 1]] > qs[order[i]]) {
        order.sort((a, b) => qs[a] - qs[b]);
        break;
      }
    let next = 0;
    let seen = 0;
    /** Answers the ranks now passed with the bucket's value (sign × midpoint). */
    const answer = (sign: number, index: number) => {
      const last = this._count - 1;
      if (next === order.length || !(seen > qs[order[next]] * last)) return;
      const value =
        sign === 0 ? 0 : this._clamp(sign * this._mapping.midpoint(index));
      while (next < order.length && seen > qs[order[next]] * last)
        results[order[next++]] = value;
    };
    const negative = this._negative;
    for (
      let index = negative.end;
      index >= negative.start && next < order.length;
      index--
    ) {
      seen += negative.at(index);
      answer(-1, index);
    }
    seen += this._zeroCount;
    answer(0, 0);
    const positive = this._positive;
    for (
      let index = positive.start;
      index <= positive.end && next < order.length;
      index++
    ) {
      seen += positive.at(index);
      answer(1, index);
    }
    while (next < order.length) results[order[next++]] = this._max;
    return results;
  }

  /** An independent copy. */
  clone(): ExponentialSketch {
    const copy = new ExponentialSketch({
      maxBuckets: this._maxBuckets,
      maxScale: this._maxScale,
    });
    copy._mapping = this._mapping;
    copy._positive = this._positive.clone();
    copy._negative = this._negative.clone();
    copy._zeroCount = this._zeroCount;
    copy._count = this._count;
    copy._sum = this._sum.clone();
    copy._min = this._min;
    copy._max = this._max;
    copy._rejected = this._rejected;
    return copy;
  }

  /** The versioned JSON form: the exact sum, every bucket, the options. */
  toJSON(): ExponentialSketchJSON {
    return sketchToJSON(this, this._sum, this._positive, this._negative);
  }

  /**
   * Restores a sketch from {@link toJSON} output.
   * @throws {TypeError|RangeError} naming the field, if `json` is malformed
   *   or inconsistent; never returns a sketch that breaks its invariants.
   */
  static fromJSON(json: unknown): ExponentialSketch {
    const parsed = parseSketchJSON('ExponentialSketch.fromJSON', json);
    const sketch = new ExponentialSketch({
      maxBuckets: parsed.maxBuckets,
      maxScale: parsed.maxScale,
    });
    sketch._mergeParsed(parsed.point);
    sketch._rejected = parsed.rejected;
    return sketch;
  }

  /**
   * The OpenTelemetry exponential histogram point holding the same data.
   * Like the SDK, it reports scale 0 when there are no non-zero buckets.
   */
  toExponentialHistogram(): ExponentialHistogramPoint {
    return sketchToPoint(this, this._positive, this._negative);
  }

  /**
   * A sketch holding the data of an OpenTelemetry exponential histogram
   * point, e.g. one exported by `@opentelemetry/sdk-metrics`. Lossless when
   * the point fits `options` (scale ≤ maxScale, ≤ maxBuckets per sign);
   * otherwise it is downscaled to fit. A point without min/max gets the outer
   * bounds of its extreme buckets; one without sum gets Σ count × midpoint.
   * @throws {TypeError|RangeError} naming the field, if the point is malformed.
   */
  static fromExponentialHistogram(
    point: ExponentialHistogramPoint,
    options?: ExponentialSketchOptions
  ): ExponentialSketch {
    const sketch = new ExponentialSketch(options);
    sketch._mergeParsed(
      parseOtelPoint('ExponentialSketch.fromExponentialHistogram', point)
    );
    return sketch;
  }

  /** Σ count × (midpoint − mean)² over one sign's buckets (midpoints clamped to [min, max]). */
  private _squaredDeviations(
    buckets: BucketCounts,
    sign: 1 | -1,
    mean: number
  ): number {
    if (buckets.isEmpty) return 0;
    // Midpoints grow by the base from bucket to bucket: one exp per sign.
    const base = this._mapping.midpoint(1) / this._mapping.midpoint(0);
    let midpoint = this._mapping.midpoint(buckets.start);
    let squares = 0;
    for (let index = buckets.start; index <= buckets.end; index++) {
      const count = buckets.at(index);
      if (count !== 0) {
        const value = this._clamp(sign * midpoint);
        squares += count * (value - mean) ** 2;
      }
      midpoint *= base;
    }
    return squares;
  }

  private _increment(
    buckets: BucketCounts,
    magnitude: number,
    count: number
  ): void {
    const index = this._mapping.mapToIndex(magnitude);
    if (!buckets.tryIncrement(index, count)) {
      this._growAndIncrement(buckets, index, count);
    }
  }

  private _growAndIncrement(
    buckets: BucketCounts,
    index: number,
    count: number
  ): void {
    const low = buckets.isEmpty ? index : Math.min(index, buckets.start);
    const high = buckets.isEmpty ? index : Math.max(index, buckets.end);
    const change = scaleChange(low, high, this._maxBuckets);
    if (change > 0) {
      this._downscaleTo(this.scale - change);
      // Indexes are consistent across scales (see Base2Mapping).
      index >>= change;
      if (buckets.tryIncrement(index, count)) return;
    }
    buckets.reserve(index, index, this._maxBuckets);
    buckets.tryIncrement(index, count);
  }

  private _downscaleTo(scale: number): void {
    const change = this.scale - scale;
    if (change <= 0) return;
    this._positive.downscale(change);
    this._negative.downscale(change);
    this._mapping = getMapping(scale);
  }

  /**
   * The merge every merge ends in: adds `zeroCount` zeros and each sign's
   * occupied buckets at `scale`, whose extremes are `min` and `max` (ignored
   * when there is nothing), first downscaling as far as the union needs. It trusts its input (each entry checks what it must),
   * adds the positive buckets before the negative ones (the order the
   * binary form holds them in), and leaves the sum to the caller, as each
   * source keeps its exact sum in a form of its own.
   */
  private _mergeCounts(
    scale: number,
    positive: OccupiedBuckets,
    negative: OccupiedBuckets,
    zeroCount: number,
    min: number,
    max: number
  ): void {
    let count = zeroCount;
    if (positive.start <= positive.end || negative.start <= negative.end) {
      const shift = this._makeRoom(scale, positive, negative);
      count += this._addAll(this._positive, positive, shift);
      count += this._addAll(this._negative, negative, shift);
    }
    this._zeroCount += zeroCount;
    this._count += count;
    if (count > 0) {
      if (min < this._min) this._min = min;
      if (max > this._max) this._max = max;
    }
  }

  /**
   * Adds their buckets to ours, reserving their whole range first (room was
   * made); returns the count added.
   */
  private _addAll(
    ours: BucketCounts,
    theirs: OccupiedBuckets,
    shift: number
  ): number {
    if (theirs.start > theirs.end) return 0;
    ours.reserve(theirs.start >> shift, theirs.end >> shift, this._maxBuckets);
    return theirs.addTo(ours, shift, this._maxBuckets);
  }

  /** Adds a checked point and its exact sum. */
  private _mergeParsed(point: ParsedPoint): void {
    this._mergeCounts(
      point.mapping.scale,
      point.positive,
      point.negative,
      point.zeroCount,
      point.min,
      point.max
    );
    if (typeof point.sum === 'number') this._sum.add(point.sum);
    else this._sum.merge(point.sum);
  }

  /**
   * Downscales so that buckets at `theirScale` fit beside ours; returns the
   * shift that maps their indexes onto ours.
   */
  private _makeRoom(
    theirScale: number,
    positive: OccupiedBuckets,
    negative: OccupiedBuckets
  ): number {
    const scale = Math.min(this.scale, theirScale);
    const change = Math.max(
      this._changeToFit(this._positive, positive, theirScale, scale),
      this._changeToFit(this._negative, negative, theirScale, scale)
    );
    this._downscaleTo(scale - change);
    return theirScale - this.scale;
  }

  /** How far below `scale` our range and theirs together need to go to fit. */
  private _changeToFit(
    ours: BucketCounts,
    theirs: OccupiedBuckets,
    theirScale: number,
    scale: number
  ): number {
    if (theirs.start > theirs.end) return 0;
    const theirShift = theirScale - scale;
    let low = theirs.start >> theirShift;
    let high = theirs.end >> theirShift;
    if (!ours.isEmpty) {
      const ourShift = this.scale - scale;
      low = Math.min(low, ours.start >> ourShift);
      high = Math.max(high, ours.end >> ourShift);
    }
    return scaleChange(low, high, this._maxBuckets);
  }

  private _clamp(value: number): number {
    return value < this._min
      ? this._min
      : value > this._max
        ? this._max
        : value;
  }
}

function arrayBytes(dataBytes: number): number {
  return dataBytes === 0 ? 0 : dataBytes + TYPED_ARRAY_OVERHEAD_BYTES;
}
