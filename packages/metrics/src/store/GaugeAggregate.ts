import { checkRecord } from '@datapunk/otel-common';
import { RunningStats } from '@datapunk/otel-sketch';
import type { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { MetricKind } from '../types';
import type { Aggregate } from './Aggregate';
import { AGGREGATE_OVERHEAD_BYTES } from './Aggregate';

/** RunningStats with its fields and header. */
const STATS_BYTES = 96;

/** A gauge's observations over some time: the last one, and exact statistics of all. */
export class GaugeAggregate implements Aggregate {
  readonly kind = MetricKind.GAUGE;
  last = NaN;
  private _stats: RunningStats;

  constructor(stats = new RunningStats()) {
    this._stats = stats;
  }

  get isEmpty(): boolean {
    return this._stats.count === 0;
  }

  get retainedBytes(): number {
    return AGGREGATE_OVERHEAD_BYTES + STATS_BYTES;
  }

  observe(value: number): void {
    this.last = value;
    this._stats.record(value);
  }

  merge(later: Aggregate): void {
    const other = later as GaugeAggregate;
    if (other.isEmpty) return;
    this.last = other.last;
    this._stats.merge(other._stats);
  }

  clear(): void {
    this.last = NaN;
    this._stats.clear();
  }

  writeTo(writer: ByteWriter): void {
    writer.writeFloat64(this.last);
    this._stats.writeTo(writer);
  }

  mergeFrom(reader: ByteReader): void {
    const last = reader.readFloat64();
    const before = this._stats.count;
    this._stats.mergeFrom(reader);
    if (this._stats.count > before) this.last = last;
  }

  /** The statistics, for custom query statistics. */
  get stats(): RunningStats {
    return this._stats;
  }

  toPointValue(): number {
    return this.last;
  }

  describe() {
    const stats = this._stats;
    return {
      count: stats.count,
      sum: stats.mean * stats.count,
      min: stats.min,
      max: stats.max,
      mean: stats.mean,
      stddev: stats.stddev,
      last: this.last,
    };
  }

  toJSON() {
    return {
      last: this.isEmpty ? null : this.last,
      stats: this._stats.toJSON(),
    };
  }

  /** @throws {TypeError|RangeError} if `json` is malformed. */
  static fromJSON(json: unknown, field: string): GaugeAggregate {
    const { last, stats } = checkRecord('snapshot', `'${field}'`, json);
    const aggregate = new GaugeAggregate(RunningStats.fromJSON(stats));
    if (!aggregate.isEmpty) {
      if (typeof last !== 'number' || !Number.isFinite(last)) {
        throw new TypeError(`'${field}.last' must be a finite number`);
      }
      aggregate.last = last;
    }
    return aggregate;
  }
}
