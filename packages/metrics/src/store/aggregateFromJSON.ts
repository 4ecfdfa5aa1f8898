import { MetricKind } from '../types';
import type { Aggregate } from './Aggregate';
import { GaugeAggregate } from './GaugeAggregate';
import { HistogramAggregate } from './HistogramAggregate';
import { SumAggregate } from './SumAggregate';

/**
 * An aggregate of `kind` from its JSON (a snapshot's).
 * @throws {TypeError|RangeError} naming `field`, if the JSON is malformed.
 */
export function aggregateFromJSON(
  kind: MetricKind,
  json: unknown,
  field: string,
  quantiles: readonly number[]
): Aggregate {
  switch (kind) {
    case MetricKind.SUM:
      return SumAggregate.fromJSON(json, field);
    case MetricKind.GAUGE:
      return GaugeAggregate.fromJSON(json, field);
    case MetricKind.HISTOGRAM:
      return HistogramAggregate.fromJSON(json, quantiles);
  }
}
