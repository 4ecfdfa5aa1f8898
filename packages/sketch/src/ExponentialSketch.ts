import { MAX_SCALE, MIN_SCALE, getMapping } from './Base2Mapping';
import type { Base2Mapping } from './Base2Mapping';
import { BucketCounts } from './BucketCounts';
import { ExactSum } from './ExactSum';
import type {
  BucketSpan,
  ExponentialHistogramPoint,
  ExponentialSketchJSON,
  ExponentialSketchOptions,
} from './types';
import { parsePoint, parseSumParts } from './parsePoint';
import type { ParsedPoint } from './parsePoint';
import {
  describe,
  isRecordable,
  rejectUnknownKeys,
  requireInteger,
  requireRecord,
  requireVersioned,
} from './validate';

const DEFAULT_MAX_BUCKETS = 520;
const MIN_BUCKETS = 2;
const MAX_BUCKETS = 16384;
const OPTION_KEYS = ['maxBuckets', 'maxScale'] as const;
/** The sketch, its two bucket stores and exact sum, with object headers. */
const SKETCH_OVERHEAD_BYTES = 450;
/** A typed array's object and buffer headers, beyond its data. */
const TYPED_ARRAY_OVERHEAD_BYTES = 200;
const JSON_VERSION = 1;

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
    const owner = 'ExponentialSketch';
    const record = requireRecord(owner, 'options', options);
    rejectUnknownKeys(owner, record, OPTION_KEYS);
    const { maxBuckets = DEFAULT_MAX_BUCKETS, maxScale = MAX_SCALE } = options;
    this._maxBuckets = requireInteger(
      owner,
      'maxBuckets',
      maxBuckets,
      MIN_BUCKETS,
      MAX_BUCKETS
    );
    this._maxScale = requireInteger(
      owner,
      'maxScale',
      maxScale,
      MIN_SCALE,
      MAX_SCALE
    );
    this._mapping = getMapping(this._maxScale);
  }

  /** Number of recorded values, zeros included. */
  get count(): number {
    return this._count;
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
    let squares = this._zeroCount * mean * mean;
    const addBuckets = (buckets: BucketCounts, sign: 1 | -1) => {
      for (let index = buckets.start; index <= buckets.end; index++) {
        const count = buckets.at(index);
        if (count === 0) continue;
        const value = this._clamp(sign * this._mapping.midpoint(index));
        squares += count * (value - mean) ** 2;
      }
    };
    addBuckets(this._positive, 1);
    addBuckets(this._negative, -1);
    return Math.sqrt(squares / this._count);
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
        `ExponentialSketch.merge: expected an ExponentialSketch, got ${describe(other)}`
      );
    }
    if (other === this) other = other.clone();
    if (!other._positive.isEmpty || !other._negative.isEmpty) {
      const scale = Math.min(this.scale, other.scale);
      const change = Math.max(
        this._changeToFit(this._positive, other._positive, other.scale, scale),
        this._changeToFit(this._negative, other._negative, other.scale, scale)
      );
      this._downscaleTo(scale - change);
      this._addBuckets(this._positive, other._positive, other.scale);
      this._addBuckets(this._negative, other._negative, other.scale);
    }
    this._zeroCount += other._zeroCount;
    this._count += other._count;
    this._sum.merge(other._sum);
    if (other._min < this._min) this._min = other._min;
    if (other._max > this._max) this._max = other._max;
    this._rejected += other._rejected;
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
    order.sort((a, b) => qs[a] - qs[b]);
    let next = 0;
    let seen = 0;
    const answer = (value: number) => {
      while (
        next < order.length &&
        seen > qs[order[next]] * (this._count - 1)
      ) {
        results[order[next++]] = value;
      }
    };
    const negative = this._negative;
    for (
      let index = negative.end;
      index >= negative.start && next < order.length;
      index--
    ) {
      seen += negative.at(index);
      answer(this._clamp(-this._mapping.midpoint(index)));
    }
    seen += this._zeroCount;
    answer(0);
    const positive = this._positive;
    for (
      let index = positive.start;
      index <= positive.end && next < order.length;
      index++
    ) {
      seen += positive.at(index);
      answer(this._clamp(this._mapping.midpoint(index)));
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

  toJSON(): ExponentialSketchJSON {
    const parts = this._sum.canonicalParts();
    const overflowed = parts.length === 1 && !Number.isFinite(parts[0]);
    return {
      version: JSON_VERSION,
      maxBuckets: this._maxBuckets,
      maxScale: this._maxScale,
      scale: this.scale,
      count: this._count,
      zeroCount: this._zeroCount,
      sum: overflowed
        ? (String(parts[0]) as 'Infinity' | '-Infinity' | 'NaN')
        : parts,
      ...(this._count > 0 ? { min: this._min, max: this._max } : {}),
      positive: toSpan(this._positive),
      negative: toSpan(this._negative),
      rejected: this._rejected,
    };
  }

  /**
   * Restores a sketch from {@link toJSON} output.
   * @throws {TypeError|RangeError} naming the field, if `json` is malformed
   *   or inconsistent; never returns a sketch that breaks its invariants.
   */
  static fromJSON(json: unknown): ExponentialSketch {
    const owner = 'ExponentialSketch.fromJSON';
    const record = requireVersioned(owner, json, JSON_VERSION);
    const sketch = new ExponentialSketch({
      maxBuckets: requireInteger(
        owner,
        'maxBuckets',
        record.maxBuckets,
        MIN_BUCKETS,
        MAX_BUCKETS
      ),
      maxScale: requireInteger(
        owner,
        'maxScale',
        record.maxScale,
        MIN_SCALE,
        MAX_SCALE
      ),
    });
    const point = parsePoint(
      owner,
      record,
      parseSumParts(owner, record.sum),
      true
    );
    if (sketch._changeToRestore(point) !== 0) {
      throw new RangeError(
        `${owner}: 'scale' and the bucket spans must fit 'maxScale' and 'maxBuckets'`
      );
    }
    sketch._restore(point);
    sketch._rejected = requireInteger(
      owner,
      'rejected',
      record.rejected,
      0,
      Number.MAX_SAFE_INTEGER
    );
    return sketch;
  }

  /**
   * The OpenTelemetry exponential histogram point holding the same data.
   * Like the SDK, it reports scale 0 when there are no non-zero buckets.
   */
  toExponentialHistogram(): ExponentialHistogramPoint {
    const hasBuckets = !this._positive.isEmpty || !this._negative.isEmpty;
    return {
      count: this._count,
      sum: this.sum,
      scale: hasBuckets ? this.scale : 0,
      zeroCount: this._zeroCount,
      positive: toSpan(this._positive),
      negative: toSpan(this._negative),
      ...(this._count > 0 ? { min: this._min, max: this._max } : {}),
    };
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
    sketch._restore(
      parsePoint(
        'ExponentialSketch.fromExponentialHistogram',
        point,
        undefined,
        false
      )
    );
    return sketch;
  }

  private _increment(
    buckets: BucketCounts,
    magnitude: number,
    count: number
  ): void {
    const index = this._mapping.index(magnitude);
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
    buckets.growToInclude(index, this._maxBuckets);
    buckets.tryIncrement(index, count);
  }

  private _downscaleTo(scale: number): void {
    const change = this.scale - scale;
    if (change <= 0) return;
    this._positive.downscale(change);
    this._negative.downscale(change);
    this._mapping = getMapping(scale);
  }

  /** How far below `scale` both ranges together need to go to fit. */
  private _changeToFit(
    ours: BucketCounts,
    theirs: BucketCounts,
    theirScale: number,
    scale: number
  ): number {
    if (theirs.isEmpty) return 0;
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

  /** Adds buckets recorded at `theirScale` (≥ ours) into ours. */
  private _addBuckets(
    ours: BucketCounts,
    theirs: BucketCounts,
    theirScale: number
  ): void {
    const shift = theirScale - this.scale;
    for (let index = theirs.start; index <= theirs.end; index++) {
      const count = theirs.at(index);
      if (count === 0) continue;
      const target = index >> shift;
      if (!ours.tryIncrement(target, count)) {
        ours.growToInclude(target, this._maxBuckets);
        ours.tryIncrement(target, count);
      }
    }
  }

  private _clamp(value: number): number {
    return value < this._min
      ? this._min
      : value > this._max
        ? this._max
        : value;
  }

  /** How far a parsed point must be downscaled to fit this sketch's options. */
  private _changeToRestore(point: ParsedPoint): number {
    const fit = (buckets: BucketCounts) =>
      buckets.isEmpty
        ? 0
        : scaleChange(buckets.start, buckets.end, this._maxBuckets);
    return Math.max(
      point.mapping.scale - this._maxScale,
      fit(point.positive),
      fit(point.negative)
    );
  }

  /** Replaces this (empty) sketch's data with a validated point's. */
  private _restore(point: ParsedPoint): void {
    const change = this._changeToRestore(point);
    this._positive = point.positive;
    this._negative = point.negative;
    this._zeroCount = point.zeroCount;
    this._count = point.count;
    this._sum = point.sum;
    this._min = point.min;
    this._max = point.max;
    if (point.positive.isEmpty && point.negative.isEmpty) return;
    this._mapping = point.mapping;
    this._downscaleTo(point.mapping.scale - change);
  }
}

/** The fewest halvings that bring [low, high] within `maxBuckets` buckets. */
function scaleChange(low: number, high: number, maxBuckets: number): number {
  let change = 0;
  while (high - low >= maxBuckets) {
    high >>= 1;
    low >>= 1;
    change++;
  }
  return change;
}

function arrayBytes(dataBytes: number): number {
  return dataBytes === 0 ? 0 : dataBytes + TYPED_ARRAY_OVERHEAD_BYTES;
}

function toSpan(buckets: BucketCounts): BucketSpan {
  return {
    offset: buckets.isEmpty ? 0 : buckets.start,
    bucketCounts: buckets.toArray(),
  };
}
