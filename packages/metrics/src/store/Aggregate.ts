import type { ExponentialHistogram } from '@opentelemetry/sdk-metrics';
import type { ByteReader, ByteWriter } from '@datapunk/otel-common/codec';
import type { MetricKind, QueryResult } from '../types';

/**
 * The data of one series over some time: a total, gauge observations or a
 * distribution. Aggregates of one kind merge exactly, which is all that
 * series, tiers, roll-ups and queries need.
 */
export interface Aggregate {
  readonly kind: MetricKind;
  /** Whether nothing has been added since creation. */
  readonly isEmpty: boolean;
  /** Estimated bytes held, for the memory budget. */
  readonly retainedBytes: number;
  /** Adds another aggregate of the same kind, covering later or equal time. */
  merge(later: Aggregate): void;
  /** Empties it, keeping its allocations for reuse. */
  clear(): void;
  /** The compact binary form that packed history is kept in. */
  writeTo(writer: ByteWriter): void;
  /** Adds one written by {@link writeTo}, covering later or equal time: the same as merge(). */
  mergeFrom(reader: ByteReader): void;
  /** The value of an exported data point: a number, or an exponential histogram. */
  toPointValue(): number | ExponentialHistogram;
  /** The fields of a query result this kind can answer. */
  describe(): Omit<
    QueryResult,
    'kind' | 'series' | 'fromMillis' | 'toMillis' | 'resolutionMillis'
  >;
  toJSON(): unknown;
}

/** Object, array slot and field allowance per aggregate (V8, 64-bit). */
export const AGGREGATE_OVERHEAD_BYTES = 64;
