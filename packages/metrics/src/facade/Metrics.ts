import { ValueType } from '@opentelemetry/api';
import type {
  Attributes,
  Counter,
  Gauge,
  Histogram,
  Meter,
} from '@opentelemetry/api';
import {
  RateLimitedDiag,
  describeValue,
  isPlainObject,
} from '@datapunk/otel-common';
import { MetricType } from './MetricType';

/** OpenTelemetry's instrument name syntax. */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;
const REJECTED_METRIC = 'datapunk.metrics.measurements.rejected';
const TYPES = new Set<string>(Object.values(MetricType));

export interface MetricOptions {
  description?: string;
  /** UCUM unit; timers default to 's'. */
  unit?: string;
  /** INT or DOUBLE (the default). */
  valueType?: ValueType;
}

export interface CounterMetric {
  /** Adds a non-negative finite increment. */
  add(value: number, attributes?: Attributes): void;
}

export interface GaugeMetric {
  /** Sets the current finite value. */
  set(value: number, attributes?: Attributes): void;
}

export interface HistogramMetric {
  /** Records a non-negative finite value. */
  record(value: number, attributes?: Attributes): void;
}

export interface SummaryMetric {
  /** Observes a non-negative finite value (for percentile summaries). */
  observe(value: number, attributes?: Attributes): void;
}

export interface TimerMetric {
  /** Records a duration in seconds. */
  record(seconds: number, attributes?: Attributes): void;
  /** Starts timing on a monotonic clock; the returned stop() records once and returns seconds. */
  startTimer(attributes?: Attributes): () => number;
  /** Times `fn` (sync, or until its promise settles, success or failure) and returns its result. */
  time<T>(fn: () => T, attributes?: Attributes): T;
}

type Instrument =
  | CounterMetric
  | GaugeMetric
  | HistogramMetric
  | SummaryMetric
  | TimerMetric;

/**
 * Five metric types on a Meter: counter, gauge, histogram, summary and
 * timer. Histogram, summary and timer are all SDK histograms (the reader
 * gives each percentile summaries); a timer records seconds.
 *
 * Every value is checked for its type (counters, histograms, summaries and
 * timers take non-negative finite numbers, gauges any finite number; the
 * attributes, absent or a plain object); a bad one is never thrown on: it is dropped, counted in {@link rejected} and in
 * the `datapunk.metrics.measurements.rejected` counter, and reported through
 * diag (rate-limited).
 */
export class Metrics {
  private readonly _meter: Meter;
  private readonly _instruments = new Map<
    string,
    { type: MetricType; instrument: Instrument }
  >();
  private readonly _rejectedCounter: Counter;
  private readonly _rejectedAttributes = new Map<string, Attributes>();
  private readonly _diag = new RateLimitedDiag('Metrics');
  private _rejected = 0;

  constructor(meter: Meter) {
    if (typeof meter?.createCounter !== 'function') {
      throw new TypeError(
        `Metrics: 'meter' must be an OpenTelemetry Meter, got ${describeValue(meter)}`
      );
    }
    this._meter = meter;
    this._rejectedCounter = meter.createCounter(REJECTED_METRIC, {
      description:
        'Measurements the Metrics facade rejected, by metric type and reason',
      unit: '{measurement}',
      valueType: ValueType.INT,
    });
  }

  /** Measurements rejected so far. */
  get rejected(): number {
    return this._rejected;
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  counter(name: string, options?: MetricOptions): CounterMetric {
    return this._instrument(name, MetricType.COUNTER, () => {
      const counter = this._meter.createCounter(name, options);
      return {
        add: (value, attributes) =>
          this._accept(MetricType.COUNTER, value, false, attributes) &&
          counter.add(value, attributes),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  gauge(name: string, options?: MetricOptions): GaugeMetric {
    return this._instrument(name, MetricType.GAUGE, () => {
      const gauge: Gauge = this._meter.createGauge(name, options);
      return {
        set: (value, attributes) =>
          this._accept(MetricType.GAUGE, value, true, attributes) &&
          gauge.record(value, attributes),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  histogram(name: string, options?: MetricOptions): HistogramMetric {
    return this._instrument(name, MetricType.HISTOGRAM, () => {
      const histogram = this._meter.createHistogram(name, options);
      return {
        record: (value, attributes) =>
          this._accept(MetricType.HISTOGRAM, value, false, attributes) &&
          histogram.record(value, attributes),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  summary(name: string, options?: MetricOptions): SummaryMetric {
    return this._instrument(name, MetricType.SUMMARY, () => {
      const histogram = this._meter.createHistogram(name, options);
      return {
        observe: (value, attributes) =>
          this._accept(MetricType.SUMMARY, value, false, attributes) &&
          histogram.record(value, attributes),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  timer(name: string, options?: MetricOptions): TimerMetric {
    return this._instrument(name, MetricType.TIMER, () => {
      const histogram: Histogram = this._meter.createHistogram(name, {
        unit: 's',
        ...options,
      });
      const record = (seconds: number, attributes?: Attributes) => {
        if (this._accept(MetricType.TIMER, seconds, false, attributes))
          histogram.record(seconds, attributes);
      };
      const startTimer = (attributes?: Attributes) => {
        const start = performance.now();
        let elapsed: number | undefined;
        return () => {
          if (elapsed === undefined) {
            elapsed = (performance.now() - start) / 1000;
            record(elapsed, attributes);
          }
          return elapsed;
        };
      };
      return {
        record,
        startTimer,
        time<T>(fn: () => T, attributes?: Attributes): T {
          const stop = startTimer(attributes);
          let result: T;
          try {
            result = fn();
          } catch (error) {
            stop();
            throw error;
          }
          if (isThenable(result)) {
            return result.then(
              value => (stop(), value),
              error => {
                stop();
                throw error;
              }
            ) as T;
          }
          stop();
          return result;
        },
      };
    });
  }

  /**
   * Records `value` into the metric `name` of `type`, creating it on first
   * use. Never throws: an unknown type, an invalid name, a name already used
   * by another type or a bad value is rejected and counted.
   */
  record(
    name: string,
    value: number,
    type: MetricType,
    attributes?: Attributes
  ): void {
    const existing = this._instruments.get(name);
    if (existing !== undefined && existing.type !== type) {
      this._reject(
        TYPES.has(type) ? type : 'unknown',
        'type_conflict',
        `'${name}' is a ${existing.type}, not a ${String(type)}`
      );
      return;
    }
    if (
      existing === undefined &&
      (!TYPES.has(type) || typeof name !== 'string' || !NAME_PATTERN.test(name))
    ) {
      this._reject(
        TYPES.has(type) ? type : 'unknown',
        'invalid_name_or_type',
        `cannot create ${describeValue(type)} '${String(name)}'`
      );
      return;
    }
    switch (type) {
      case MetricType.COUNTER:
        return this.counter(name).add(value, attributes);
      case MetricType.GAUGE:
        return this.gauge(name).set(value, attributes);
      case MetricType.HISTOGRAM:
        return this.histogram(name).record(value, attributes);
      case MetricType.SUMMARY:
        return this.summary(name).observe(value, attributes);
      case MetricType.TIMER:
        return this.timer(name).record(value, attributes);
    }
  }

  private _instrument<T extends Instrument>(
    name: string,
    type: MetricType,
    create: () => T
  ): T {
    const existing = this._instruments.get(name);
    if (existing !== undefined) {
      if (existing.type !== type) {
        throw new TypeError(
          `Metrics: '${name}' is already a ${existing.type}; it cannot also be a ${type}`
        );
      }
      return existing.instrument as T;
    }
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new TypeError(
        `Metrics: metric name ${describeValue(name)} must start with a letter and hold at most 255 letters, digits, '_', '.', '-' or '/'`
      );
    }
    const instrument = create();
    this._instruments.set(name, { type, instrument });
    return instrument;
  }

  /**
   * Whether a value (and its attributes: absent, or a plain object) suits
   * the type; counts and reports it if not. The SDK throws on some bad
   * attributes (a gauge given null), so they never reach it.
   */
  private _accept(
    type: MetricType,
    value: unknown,
    negativeAllowed: boolean,
    attributes: unknown
  ): boolean {
    const attributesOk = attributes === undefined || isPlainObject(attributes);
    if (
      typeof value === 'number' &&
      value - value === 0 &&
      (negativeAllowed || value >= 0) &&
      attributesOk
    )
      return true;
    const [reason, got] = !attributesOk
      ? ['invalid_attributes', attributes]
      : [
          typeof value !== 'number'
            ? 'not_a_number'
            : value - value !== 0
              ? 'not_finite'
              : 'negative',
          value,
        ];
    this._reject(type, reason, `${type} got ${describeValue(got)}`);
    return false;
  }

  private _reject(type: string, reason: string, message: string): void {
    this._rejected++;
    const key = `${type}:${reason}`;
    let attributes = this._rejectedAttributes.get(key);
    if (attributes === undefined) {
      attributes = { 'metric.type': type, reason };
      this._rejectedAttributes.set(key, attributes);
    }
    this._rejectedCounter.add(1, attributes);
    this._diag.warn(key, `rejected a measurement (${reason}): ${message}`);
  }
}

function isThenable<T>(value: T): value is T & PromiseLike<Awaited<T>> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
