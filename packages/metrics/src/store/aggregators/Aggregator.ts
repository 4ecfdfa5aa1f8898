import type { DataPoint, MetricData } from '@opentelemetry/sdk-metrics';
import type { MetricKind } from '../../types';
import type { Aggregate } from '../Aggregate';
import type { HeldBytes } from '../arena/HeldBytes';

/** What an exported metric needs besides its points. */
export interface MetricHead {
  descriptor: MetricData['descriptor'];
  aggregationTemporality: MetricData['aggregationTemporality'];
  isMonotonic: boolean;
}

/**
 * How one kind of aggregation keeps and reads its data, the one place for
 * what differs by kind (as sdk-metrics' Aggregator<T>): measurements go
 * into each series' *current* delta, kept in typed arrays indexed by series
 * id; a collection drains it into the kind's aggregate (the decoded form
 * that history, exports and queries use) and empties it.
 */
export interface Aggregator<A extends Aggregate = Aggregate> {
  readonly kind: MetricKind;
  /** Whether merging needs time order (a gauge's last value does). */
  readonly ordered: boolean;
  /** A new, empty aggregate of this kind. */
  create(): A;
  /** Makes room for series ids below `series`. */
  reserve(series: number): void;
  /** Adds one measurement, already checked for the kind, to the current delta. */
  record(series: number, value: number): void;
  /** Adds an SDK data point's value to the current delta. @throws {TypeError|RangeError} if malformed. */
  absorb(series: number, point: DataPoint<unknown>): void;
  /** Merges the current delta into `into` and empties it. */
  drain(series: number, into: A): void;
  /** Gives back what the series held (it is gone, or idle). */
  release(series: number): void;
  /** Adds the bytes its typed arrays and arena hold, by part, to `into`. */
  addHeldBytes(into: HeldBytes): void;
  /** The value an exported data point carries. */
  pointValue(aggregate: A): unknown;
  /** An exported metric of these points, of this kind's data point type. */
  toMetricData(head: MetricHead, points: DataPoint<unknown>[]): MetricData;
}
