import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import { MetricKind } from '../../types';
import { ColumnSet } from '../arena/columns';
import { columnBytes } from '../arena/HeldBytes';
import type { HeldBytes } from '../arena/HeldBytes';
import { SumAggregate } from '../SumAggregate';
import type { Aggregator, MetricHead } from './Aggregator';

/** Counters and up-down counters: a running total per series. */
export class SumAggregator implements Aggregator<SumAggregate> {
  readonly kind = MetricKind.SUM;
  readonly ordered = false;
  private _current = new Float64Array(0);
  private readonly _columns = new ColumnSet([
    {
      get: () => this._current,
      set: c => (this._current = c as Float64Array<ArrayBuffer>),
    },
  ]);

  create(): SumAggregate {
    return new SumAggregate();
  }

  reserve(series: number): void {
    this._columns.reserve(series);
  }

  addHeldBytes(into: HeldBytes): void {
    into.columns += columnBytes(this._current);
  }

  record(series: number, value: number): void {
    this._current[series] += value;
  }

  absorb(series: number, point: DataPoint<unknown>): void {
    this._current[series] += finiteValue(point);
  }

  drain(series: number, into: SumAggregate): void {
    into.add(this._current[series]);
    this._current[series] = 0;
  }

  release(series: number): void {
    this._current[series] = 0;
  }

  pointValue(aggregate: SumAggregate): unknown {
    return aggregate.toPointValue();
  }

  toMetricData(head: MetricHead, points: DataPoint<unknown>[]): MetricData {
    return {
      descriptor: head.descriptor,
      aggregationTemporality: head.aggregationTemporality,
      dataPointType: DataPointType.SUM,
      isMonotonic: head.isMonotonic,
      dataPoints: points as DataPoint<number>[],
    };
  }
}

/** A number point's value. @throws {TypeError} unless finite. */
export function finiteValue(point: DataPoint<unknown>): number {
  const value = point.value;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new TypeError(`a point needs a finite number, got ${String(value)}`);
  return value;
}
