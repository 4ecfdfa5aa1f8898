import type { Attributes, ValueType } from '@opentelemetry/api';
import type { RetentionMetricReader } from '../RetentionMetricReader';

export interface InstrumentConfig {
  description?: string;
  /** UCUM unit; timers default to 's'. */
  unit?: string;
  /** INT or DOUBLE (the default). */
  valueType?: ValueType;
}

export interface InstrumentsOptions {
  /**
   * With a meter of the SDK's MeterProvider: the RetentionMetricReader to
   * record into directly, skipping the SDK's record path (a bound handle
   * costs a few ns). It reaches that reader's store only (not other readers
   * of the provider), and the SDK's Views do not apply to it. A meter of
   * RetentionMeterProvider needs no reader: it records into its store.
   * Without either, everything goes through the OpenTelemetry API.
   */
  reader?: RetentionMetricReader;
  /** The name of `meter`, required with `reader`: the data's scope. */
  meterName?: string;
}

export interface BoundCounter {
  /** Adds a non-negative finite increment. */
  add(value: number): void;
}

export interface BoundGauge {
  /** Sets the current finite value. */
  set(value: number): void;
}

export interface BoundHistogram {
  /** Records a non-negative finite value. */
  record(value: number): void;
}

export interface BoundSummary {
  /** Observes a non-negative finite value. */
  observe(value: number): void;
}

export interface BoundTimer {
  /** Records a duration in seconds. */
  record(seconds: number): void;
  /** Starts timing on a monotonic clock; the returned stop() records once and returns seconds. */
  startTimer(): () => number;
  /** Times `fn` (sync, or until its promise settles) and returns its result. */
  time<T>(fn: () => T): T;
}

export interface CounterMetric {
  /** Adds a non-negative finite increment. */
  add(value: number, attributes?: Attributes): void;
  /** A handle for one attribute set (copied now): recording costs no look-up. */
  bind(attributes?: Attributes): BoundCounter;
}

export interface GaugeMetric {
  /** Sets the current finite value. */
  set(value: number, attributes?: Attributes): void;
  /** A handle for one attribute set (copied now): recording costs no look-up. */
  bind(attributes?: Attributes): BoundGauge;
}

export interface HistogramMetric {
  /** Records a non-negative finite value. */
  record(value: number, attributes?: Attributes): void;
  /** A handle for one attribute set (copied now): recording costs no look-up. */
  bind(attributes?: Attributes): BoundHistogram;
}

export interface SummaryMetric {
  /** Observes a non-negative finite value (for percentile summaries). */
  observe(value: number, attributes?: Attributes): void;
  /** A handle for one attribute set (copied now): recording costs no look-up. */
  bind(attributes?: Attributes): BoundSummary;
}

export interface TimerMetric {
  /** Records a duration in seconds. */
  record(seconds: number, attributes?: Attributes): void;
  /** Starts timing on a monotonic clock; the returned stop() records once and returns seconds. */
  startTimer(attributes?: Attributes): () => number;
  /** Times `fn` (sync, or until its promise settles, success or failure) and returns its result. */
  time<T>(fn: () => T, attributes?: Attributes): T;
  /** A handle for one attribute set (copied now): recording costs no look-up. */
  bind(attributes?: Attributes): BoundTimer;
}
