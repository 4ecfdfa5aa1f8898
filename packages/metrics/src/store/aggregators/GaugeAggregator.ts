import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import { MetricKind } from '../../types';
import { ColumnSet } from '../arena/columns';
import { columnBytes } from '../arena/HeldBytes';
import type { HeldBytes } from '../arena/HeldBytes';
import { GaugeAggregate } from '../GaugeAggregate';
import type { Aggregator, MetricHead } from './Aggregator';
import { finiteValue } from './SumAggregator';

/** Moments in RunningStats' binary form, to merge without an object per series. */
const moments = new ByteWriter();

/**
 * Gauges: per series the last value and running statistics of every
 * observation (count, mean, M2 as Welford keeps them, min, max).
 */
export class GaugeAggregator implements Aggregator<GaugeAggregate> {
  readonly kind = MetricKind.GAUGE;
  readonly ordered = true;
  private _last = new Float64Array(0);
  private _count = new Float64Array(0);
  private _mean = new Float64Array(0);
  private _m2 = new Float64Array(0);
  private _min = new Float64Array(0);
  private _max = new Float64Array(0);
  /** New series start empty (see release). */
  private readonly _columns = new ColumnSet([
    {
      get: () => this._last,
      set: c => (this._last = c as Float64Array<ArrayBuffer>),
      fill: NaN,
    },
    {
      get: () => this._count,
      set: c => (this._count = c as Float64Array<ArrayBuffer>),
    },
    {
      get: () => this._mean,
      set: c => (this._mean = c as Float64Array<ArrayBuffer>),
    },
    {
      get: () => this._m2,
      set: c => (this._m2 = c as Float64Array<ArrayBuffer>),
    },
    {
      get: () => this._min,
      set: c => (this._min = c as Float64Array<ArrayBuffer>),
      fill: Infinity,
    },
    {
      get: () => this._max,
      set: c => (this._max = c as Float64Array<ArrayBuffer>),
      fill: -Infinity,
    },
  ]);

  create(): GaugeAggregate {
    return new GaugeAggregate();
  }

  reserve(series: number): void {
    this._columns.reserve(series);
  }

  addHeldBytes(into: HeldBytes): void {
    into.columns += columnBytes(
      this._last,
      this._count,
      this._mean,
      this._m2,
      this._min,
      this._max
    );
  }

  record(series: number, value: number): void {
    const count = this._count[series] + 1;
    const delta = value - this._mean[series];
    this._mean[series] += delta / count;
    this._m2[series] += delta * (value - this._mean[series]);
    this._count[series] = count;
    if (value < this._min[series]) this._min[series] = value;
    if (value > this._max[series]) this._max[series] = value;
    this._last[series] = value;
  }

  absorb(series: number, point: DataPoint<unknown>): void {
    this.record(series, finiteValue(point));
  }

  drain(series: number, into: GaugeAggregate): void {
    const count = this._count[series];
    if (count === 0) return;
    moments.truncate(0);
    moments.writeVarint(count);
    moments.writeVarint(0);
    moments.writeFloat64(this._mean[series]);
    moments.writeFloat64(this._m2[series]);
    moments.writeFloat64(this._min[series]);
    moments.writeFloat64(this._max[series]);
    into.stats.mergeFrom(new ByteReader(moments.bytes));
    into.last = this._last[series];
    this.release(series);
  }

  release(series: number): void {
    this._count[series] = 0;
    this._mean[series] = 0;
    this._m2[series] = 0;
    this._min[series] = Infinity;
    this._max[series] = -Infinity;
    this._last[series] = NaN;
  }

  pointValue(aggregate: GaugeAggregate): unknown {
    return aggregate.toPointValue();
  }

  toMetricData(head: MetricHead, points: DataPoint<unknown>[]): MetricData {
    return {
      descriptor: head.descriptor,
      aggregationTemporality: head.aggregationTemporality,
      dataPointType: DataPointType.GAUGE,
      dataPoints: points as DataPoint<number>[],
    };
  }
}
