import { MAX_SCALE, MIN_SCALE, getMapping } from './Base2Mapping';
import type { Base2Mapping } from './Base2Mapping';
import { BucketCounts, ESCAPE } from './BucketCounts';
import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';
import { ExactSum } from './ExactSum';
import type {
  BucketSpan,
  ExponentialHistogramPoint,
  ExponentialSketchJSON,
  ExponentialSketchOptions,
} from './types';
import { isEmpty, parsePoint, parseSumParts } from './parsePoint';
import type { ParsedPoint, ParsedSpan } from './parsePoint';
import {
  OptionReader,
  checkNumber,
  describeValue,
} from '@datapunk/otel-common/validation';
import { isRecordable, requireVersioned } from './validate';

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
    const reader = new OptionReader('ExponentialSketch', options, OPTION_KEYS);
    this._maxBuckets = reader.integer('maxBuckets', DEFAULT_MAX_BUCKETS, {
      min: MIN_BUCKETS,
      max: MAX_BUCKETS,
    });
    this._maxScale = reader.integer('maxScale', MAX_SCALE, {
      min: MIN_SCALE,
      max: MAX_SCALE,
    });
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
    for (const [buckets, sign] of [
      [this._positive, 1],
      [this._negative, -1],
    ] as const) {
      if (buckets.isEmpty) continue;
      // Midpoints grow by the base from bucket to bucket: one exp per sign.
      const base = this._mapping.midpoint(1) / this._mapping.midpoint(0);
      let midpoint = this._mapping.midpoint(buckets.start);
      for (let index = buckets.start; index <= buckets.end; index++) {
        const count = buckets.at(index);
        if (count !== 0) {
          const value = this._clamp(sign * midpoint);
          squares += count * (value - mean) ** 2;
        }
        midpoint *= base;
      }
    }
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
        `ExponentialSketch.merge: expected an ExponentialSketch, got ${describeValue(other)}`
      );
    }
    if (other === this) other = other.clone();
    const positive = other._positive;
    const negative = other._negative;
    if (!positive.isEmpty || !negative.isEmpty) {
      const shift = this._makeRoom(
        other.scale,
        positive.start,
        positive.end,
        negative.start,
        negative.end
      );
      this._addBuckets(this._positive, positive, shift);
      this._addBuckets(this._negative, negative, shift);
    }
    this._zeroCount += other._zeroCount;
    this._count += other._count;
    this._sum.merge(other._sum);
    if (other._min < this._min) this._min = other._min;
    if (other._max > this._max) this._max = other._max;
    this._rejected += other._rejected;
  }

  /**
   * Adds the data of an OpenTelemetry exponential histogram point, e.g. one
   * exported by `@opentelemetry/sdk-metrics`, straight from its arrays: the
   * same result as merging {@link fromExponentialHistogram}'s sketch, with
   * nothing allocated for it.
   * @throws {TypeError|RangeError} naming the field, if the point is
   *   malformed; the sketch is then unchanged.
   */
  mergeExponentialHistogram(point: ExponentialHistogramPoint): void {
    this._mergeParsed(
      parsePoint(
        'ExponentialSketch.mergeExponentialHistogram',
        point,
        undefined,
        false
      )
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
   * Writes the sketch in a compact binary form (non-empty buckets only, as
   * varints) for storage inside a process; {@link mergeFrom} reads it back
   * exactly. Options are not written: the reader supplies its own.
   */
  writeTo(writer: ByteWriter): void {
    writer.writeSignedVarint(this.scale);
    writer.writeVarint(this._count);
    writer.writeVarint(this._zeroCount);
    writer.writeVarint(this._rejected);
    if (this._count > 0) {
      writer.writeFloat64(this._min);
      writer.writeFloat64(this._max);
    }
    this._sum.writeTo(writer);
    // Each sign's range (span + 1, 0 when empty) before any bucket, so the
    // reader can make room for both first; then the buckets.
    for (const buckets of [this._positive, this._negative]) {
      if (buckets.isEmpty) {
        writer.writeVarint(0);
      } else {
        writer.writeVarint(buckets.end - buckets.start + 1);
        writer.writeSignedVarint(buckets.start);
      }
    }
    this._positive.writeNonZero(writer);
    this._negative.writeNonZero(writer);
  }

  /**
   * Adds a sketch written by {@link writeTo}, as merge() would add the
   * sketch itself, without making one.
   */
  mergeFrom(reader: ByteReader): void {
    const scale = reader.readSignedVarint();
    const count = reader.readVarint();
    const zeroCount = reader.readVarint();
    const rejected = reader.readVarint();
    let min = Infinity;
    let max = -Infinity;
    if (count > 0) {
      min = reader.readFloat64();
      max = reader.readFloat64();
    }
    this._sum.mergeFrom(reader);
    const positiveSpan = reader.readVarint();
    const positiveLow = positiveSpan > 0 ? reader.readSignedVarint() : 0;
    const negativeSpan = reader.readVarint();
    const negativeLow = negativeSpan > 0 ? reader.readSignedVarint() : 0;
    const positiveHigh = positiveLow + positiveSpan - 1;
    const negativeHigh = negativeLow + negativeSpan - 1;
    if (positiveSpan + negativeSpan > 0) {
      const shift = this._makeRoom(
        scale,
        positiveLow,
        positiveHigh,
        negativeLow,
        negativeHigh
      );
      if (positiveSpan > 0)
        this._addWritten(
          reader,
          this._positive,
          positiveLow,
          positiveHigh,
          shift
        );
      if (negativeSpan > 0)
        this._addWritten(
          reader,
          this._negative,
          negativeLow,
          negativeHigh,
          shift
        );
    }
    this._zeroCount += zeroCount;
    this._count += count;
    if (min < this._min) this._min = min;
    if (max > this._max) this._max = max;
    this._rejected += rejected;
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
      maxBuckets: checkNumber(owner, "'maxBuckets'", record.maxBuckets, {
        integer: true,
        min: MIN_BUCKETS,
        max: MAX_BUCKETS,
      }),
      maxScale: checkNumber(owner, "'maxScale'", record.maxScale, {
        integer: true,
        min: MIN_SCALE,
        max: MAX_SCALE,
      }),
    });
    const point = parsePoint(
      owner,
      record,
      parseSumParts(owner, record.sum),
      true
    );
    const fits = (span: ParsedSpan) =>
      isEmpty(span) ||
      scaleChange(span.low, span.high, sketch._maxBuckets) === 0;
    if (
      point.mapping.scale > sketch._maxScale ||
      !fits(point.positive) ||
      !fits(point.negative)
    ) {
      throw new RangeError(
        `${owner}: 'scale' and the bucket spans must fit 'maxScale' and 'maxBuckets'`
      );
    }
    sketch._mergeParsed(point);
    sketch._rejected = checkNumber(owner, "'rejected'", record.rejected, {
      integer: true,
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    });
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
    sketch._mergeParsed(
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

  /**
   * Downscales so that buckets recorded at `theirScale`, spanning [low, high]
   * of each sign (low > high: none), fit beside ours; returns the shift that
   * maps their indexes onto ours.
   */
  private _makeRoom(
    theirScale: number,
    positiveLow: number,
    positiveHigh: number,
    negativeLow: number,
    negativeHigh: number
  ): number {
    const scale = Math.min(this.scale, theirScale);
    const change = Math.max(
      this._changeToFit(
        this._positive,
        positiveLow,
        positiveHigh,
        theirScale,
        scale
      ),
      this._changeToFit(
        this._negative,
        negativeLow,
        negativeHigh,
        theirScale,
        scale
      )
    );
    this._downscaleTo(scale - change);
    return theirScale - this.scale;
  }

  /** How far below `scale` our range and theirs together need to go to fit. */
  private _changeToFit(
    ours: BucketCounts,
    theirLow: number,
    theirHigh: number,
    theirScale: number,
    scale: number
  ): number {
    if (theirLow > theirHigh) return 0;
    const theirShift = theirScale - scale;
    let low = theirLow >> theirShift;
    let high = theirHigh >> theirShift;
    if (!ours.isEmpty) {
      const ourShift = this.scale - scale;
      low = Math.min(low, ours.start >> ourShift);
      high = Math.max(high, ours.end >> ourShift);
    }
    return scaleChange(low, high, this._maxBuckets);
  }

  /** Adds to one bucket, growing the range (which the caller made room for). */
  private _add(buckets: BucketCounts, index: number, count: number): void {
    if (!buckets.tryIncrement(index, count)) {
      buckets.growToInclude(index, this._maxBuckets);
      buckets.tryIncrement(index, count);
    }
  }

  private _addBuckets(
    ours: BucketCounts,
    theirs: BucketCounts,
    shift: number
  ): void {
    for (let index = theirs.start; index <= theirs.end; index++) {
      const count = theirs.at(index);
      if (count !== 0) this._add(ours, index >> shift, count);
    }
  }

  /** Adds the buckets BucketCounts.writeNonZero wrote, from `low` through `high`. */
  private _addWritten(
    reader: ByteReader,
    ours: BucketCounts,
    low: number,
    high: number,
    shift: number
  ): void {
    let index = low;
    do {
      const byte = reader.readByte();
      let count: number;
      if (byte === ESCAPE) {
        index += reader.readVarint();
        count = reader.readVarint();
      } else {
        index += byte >> 4;
        count = (byte & 15) + 1;
      }
      this._add(ours, index >> shift, count);
    } while (index < high);
  }

  /** Adds a validated point, downscaling as merge() would. */
  private _mergeParsed(point: ParsedPoint): void {
    const { positive, negative } = point;
    if (!isEmpty(positive) || !isEmpty(negative)) {
      const shift = this._makeRoom(
        point.mapping.scale,
        positive.low,
        positive.high,
        negative.low,
        negative.high
      );
      this._addSpan(this._positive, positive, shift);
      this._addSpan(this._negative, negative, shift);
    }
    this._zeroCount += point.zeroCount;
    this._count += point.count;
    if (typeof point.sum === 'number') this._sum.add(point.sum);
    else this._sum.merge(point.sum);
    if (point.min < this._min) this._min = point.min;
    if (point.max > this._max) this._max = point.max;
  }

  private _addSpan(ours: BucketCounts, span: ParsedSpan, shift: number): void {
    for (let index = span.low; index <= span.high; index++) {
      const count = span.counts[index - span.offset];
      if (count !== 0) this._add(ours, index >> shift, count);
    }
  }

  private _clamp(value: number): number {
    return value < this._min
      ? this._min
      : value > this._max
        ? this._max
        : value;
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
