import { checkNumber, describeValue } from '@datapunk/otel-common/validation';
import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ByteWriter } from '@datapunk/otel-common/codec';
import type { RunningStatsJSON } from './types';
import { isRecordable, requireVersioned } from './validate';

const JSON_VERSION = 1;

/**
 * Exact-count running statistics of raw values: count, min and max exactly;
 * mean and variance by Welford's update, and merges by Chan et al.'s parallel
 * formula, both numerically stable (no sum of squares).
 *
 * Invalid values and counts are dropped and counted in {@link rejected}.
 */
export class RunningStats {
  private _count = 0;
  private _mean = 0;
  /** Sum of squared deviations from the mean. */
  private _m2 = 0;
  private _min = Infinity;
  private _max = -Infinity;
  private _rejected = 0;

  get count(): number {
    return this._count;
  }

  /** NaN when empty. */
  get mean(): number {
    return this._count === 0 ? NaN : this._mean;
  }

  /** Population variance (divides by count); NaN when empty. */
  get variance(): number {
    return this._count === 0 ? NaN : this._m2 / this._count;
  }

  /** Population standard deviation; NaN when empty. */
  get stddev(): number {
    return Math.sqrt(this.variance);
  }

  /** NaN when empty. */
  get min(): number {
    return this._count === 0 ? NaN : this._min;
  }

  /** NaN when empty. */
  get max(): number {
    return this._count === 0 ? NaN : this._max;
  }

  /** Number of record() calls dropped for an invalid value or count. */
  get rejected(): number {
    return this._rejected;
  }

  /** Adds `count` occurrences of `value`; never throws. */
  record(value: number, count = 1): void {
    if (!isRecordable(value, count, this._count)) {
      this._rejected++;
      return;
    }
    const total = this._count + count;
    const delta = value - this._mean;
    this._mean += (delta * count) / total;
    this._m2 += delta * (value - this._mean) * count;
    this._count = total;
    if (value < this._min) this._min = value;
    if (value > this._max) this._max = value;
  }

  /**
   * Adds another's values, as if they had been recorded here.
   * @throws {TypeError} if `other` is not a RunningStats.
   */
  merge(other: RunningStats): void {
    if (!(other instanceof RunningStats)) {
      throw new TypeError(
        `RunningStats.merge: expected a RunningStats, got ${describeValue(other)}`
      );
    }
    this._rejected += other._rejected;
    if (other._count === 0) return;
    this._combine(other._count, other._mean, other._m2, other._min, other._max);
  }

  /** Chan et al.'s parallel update with another set's statistics. */
  private _combine(
    count: number,
    mean: number,
    m2: number,
    min: number,
    max: number
  ): void {
    const total = this._count + count;
    const delta = mean - this._mean;
    this._m2 += m2 + delta * delta * ((this._count / total) * count);
    this._mean += delta * (count / total);
    this._count = total;
    if (min < this._min) this._min = min;
    if (max > this._max) this._max = max;
  }

  /** Empties the statistics, for reuse. */
  clear(): void {
    this._count = 0;
    this._mean = 0;
    this._m2 = 0;
    this._min = Infinity;
    this._max = -Infinity;
    this._rejected = 0;
  }

  /** Writes the statistics in binary; {@link mergeFrom} reads them back exactly. */
  writeTo(writer: ByteWriter): void {
    writer.writeVarint(this._count);
    writer.writeVarint(this._rejected);
    if (this._count === 0) return;
    writer.writeFloat64(this._mean);
    writer.writeFloat64(this._m2);
    writer.writeFloat64(this._min);
    writer.writeFloat64(this._max);
  }

  /** Adds statistics written by {@link writeTo}, as merge() would. */
  mergeFrom(reader: ByteReader): void {
    const count = reader.readVarint();
    this._rejected += reader.readVarint();
    if (count === 0) return;
    this._combine(
      count,
      reader.readFloat64(),
      reader.readFloat64(),
      reader.readFloat64(),
      reader.readFloat64()
    );
  }

  /** An independent copy. */
  clone(): RunningStats {
    const copy = new RunningStats();
    copy.merge(this);
    return copy;
  }

  toJSON(): RunningStatsJSON {
    return {
      version: JSON_VERSION,
      count: this._count,
      ...(this._count > 0
        ? { mean: this._mean, m2: this._m2, min: this._min, max: this._max }
        : {}),
      rejected: this._rejected,
    };
  }

  /**
   * Restores statistics from {@link toJSON} output.
   * @throws {TypeError|RangeError} naming the field, if `json` is malformed or
   *   inconsistent (min ≤ mean ≤ max, m2 ≥ 0).
   */
  static fromJSON(json: unknown): RunningStats {
    const owner = 'RunningStats.fromJSON';
    const record = requireVersioned(owner, json, JSON_VERSION);
    const stats = new RunningStats();
    stats._count = checkNumber(owner, "'count'", record.count, {
      integer: true,
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    });
    stats._rejected = checkNumber(owner, "'rejected'", record.rejected, {
      integer: true,
      min: 0,
      max: Number.MAX_SAFE_INTEGER,
    });
    if (stats._count === 0) return stats;
    stats._mean = checkNumber(owner, "'mean'", record.mean);
    stats._m2 = checkNumber(owner, "'m2'", record.m2);
    stats._min = checkNumber(owner, "'min'", record.min);
    stats._max = checkNumber(owner, "'max'", record.max);
    if (
      !(
        stats._min <= stats._mean &&
        stats._mean <= stats._max &&
        stats._m2 >= 0
      )
    ) {
      throw new RangeError(
        `${owner}: fields must satisfy min ≤ mean ≤ max and m2 ≥ 0`
      );
    }
    return stats;
  }
}
