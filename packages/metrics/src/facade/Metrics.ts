import { ValueType } from '@opentelemetry/api';
import type {
  Attributes,
  Counter,
  Gauge,
  Histogram,
  Meter,
} from '@opentelemetry/api';
import {
  OptionReader,
  RateLimitedDiag,
  describeValue,
  isPlainObject,
} from '@datapunk/otel-common';
import type { DirectKind } from '../direct/DirectInstrument';
import type { DirectRecorder } from '../direct/DirectRecorder';
import type { DirectSeries } from '../direct/DirectSeries';
import { RetentionMetricReader } from '../RetentionMetricReader';
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

export interface MetricsOptions {
  /**
   * The reader to record into directly: instruments then skip the SDK's
   * record path (no attribute hashing per call; a bound handle costs a few
   * ns) and their data joins the reader's collections as a MetricProducer.
   * It reaches that reader only (not other readers of the provider), and
   * Views do not apply to it. Without it, everything goes through `meter`.
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

type Instrument =
  | CounterMetric
  | GaugeMetric
  | HistogramMetric
  | SummaryMetric
  | TimerMetric;

/** One instrument's values: recorded with attributes, or bound to a set. */
interface Sink {
  record(value: number, attributes: Attributes | undefined): void;
  bind(attributes: Attributes | undefined): (value: number) => void;
}

/**
 * Five metric types on a Meter: counter, gauge, histogram, summary and
 * timer. Histogram, summary and timer are all histograms (the reader gives
 * each percentile summaries); a timer records seconds. Each has `bind()`
 * for a handle on one attribute set.
 *
 * Every value is checked for its type (counters, histograms, summaries and
 * timers take non-negative finite numbers, gauges any finite number; the
 * attributes, absent or a plain object); a bad one is never thrown on: it is dropped, counted in {@link rejected} and in
 * the `datapunk.metrics.measurements.rejected` counter, and reported through
 * diag (rate-limited). So is a value recorded after the reader shut down,
 * when recording directly.
 */
export class Metrics {
  private readonly _meter: Meter;
  private readonly _direct:
    | { recorder: DirectRecorder; scope: string }
    | undefined;
  private readonly _instruments = new Map<
    string,
    { type: MetricType; instrument: Instrument }
  >();
  private readonly _rejectedCounter: Counter;
  private readonly _rejectedAttributes = new Map<string, Attributes>();
  private readonly _diag = new RateLimitedDiag('Metrics');
  private _rejected = 0;

  /** @throws {TypeError} for a value that is not a Meter, or invalid options. */
  constructor(meter: Meter, options: MetricsOptions = {}) {
    if (typeof meter?.createCounter !== 'function') {
      throw new TypeError(
        `Metrics: 'meter' must be an OpenTelemetry Meter, got ${describeValue(meter)}`
      );
    }
    const reader = new OptionReader('Metrics', options, [
      'reader',
      'meterName',
    ]);
    const given = reader.raw('reader');
    if (given instanceof RetentionMetricReader) {
      this._direct = {
        // The reader's producer; not part of its public API.
        recorder: given['_direct'],
        scope: reader.string('meterName'),
      };
    } else if (given !== undefined) {
      reader.failType('reader', 'a RetentionMetricReader', given);
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
      const sink = this._sink(
        MetricType.COUNTER,
        name,
        options,
        'counter',
        () => {
          const counter = this._meter.createCounter(name, options);
          return (value, attributes) => counter.add(value, attributes);
        }
      );
      return {
        add: (value, attributes) => sink.record(value, attributes),
        bind: attributes => ({ add: sink.bind(attributes) }),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  gauge(name: string, options?: MetricOptions): GaugeMetric {
    return this._instrument(name, MetricType.GAUGE, () => {
      const sink = this._sink(MetricType.GAUGE, name, options, 'gauge', () => {
        const gauge: Gauge = this._meter.createGauge(name, options);
        return (value, attributes) => gauge.record(value, attributes);
      });
      return {
        set: (value, attributes) => sink.record(value, attributes),
        bind: attributes => ({ set: sink.bind(attributes) }),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  histogram(name: string, options?: MetricOptions): HistogramMetric {
    return this._instrument(name, MetricType.HISTOGRAM, () => {
      const sink = this._histogramSink(MetricType.HISTOGRAM, name, options);
      return {
        record: (value, attributes) => sink.record(value, attributes),
        bind: attributes => ({ record: sink.bind(attributes) }),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  summary(name: string, options?: MetricOptions): SummaryMetric {
    return this._instrument(name, MetricType.SUMMARY, () => {
      const sink = this._histogramSink(MetricType.SUMMARY, name, options);
      return {
        observe: (value, attributes) => sink.record(value, attributes),
        bind: attributes => ({ observe: sink.bind(attributes) }),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  timer(name: string, options?: MetricOptions): TimerMetric {
    return this._instrument(name, MetricType.TIMER, () => {
      const sink = this._histogramSink(MetricType.TIMER, name, {
        unit: 's',
        ...options,
      });
      const record = (seconds: number, attributes?: Attributes) =>
        sink.record(seconds, attributes);
      return {
        record,
        startTimer: attributes => startTimer(s => record(s, attributes)),
        time: (fn, attributes) => time(fn, s => record(s, attributes)),
        bind: attributes => {
          const bound = sink.bind(attributes);
          return {
            record: bound,
            startTimer: () => startTimer(bound),
            time: fn => time(fn, bound),
          };
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

  private _histogramSink(
    type: MetricType,
    name: string,
    options: MetricOptions | undefined
  ): Sink {
    return this._sink(type, name, options, 'histogram', () => {
      const histogram: Histogram = this._meter.createHistogram(name, options);
      return (value, attributes) => histogram.record(value, attributes);
    });
  }

  /**
   * An instrument's sink: straight into the reader's producer when the
   * facade has one, else through the SDK instrument `viaSdk` makes. Values
   * are checked either way; bound recorders check inline, so a valid value
   * on a live series costs a type check and an add.
   */
  private _sink(
    type: MetricType,
    name: string,
    options: MetricOptions | undefined,
    kind: DirectKind,
    viaSdk: () => (value: number, attributes: Attributes | undefined) => void
  ): Sink {
    const negativeAllowed = type === MetricType.GAUGE;
    const accept = (value: unknown, attributes?: unknown) =>
      this._accept(type, value, negativeAllowed, attributes);
    if (this._direct === undefined) {
      const record = viaSdk();
      return {
        record: (value, attributes) => {
          if (accept(value, attributes)) record(value, attributes);
        },
        bind: attributes => {
          if (!accept(0, attributes)) attributes = undefined;
          const own = attributes && { ...attributes };
          return value => {
            if (accept(value)) record(value, own);
          };
        },
      };
    }
    const { recorder, scope } = this._direct;
    const instrument = recorder.instrument(
      scope,
      {
        name,
        description: options?.description ?? '',
        unit: options?.unit ?? '',
        valueType: options?.valueType ?? ValueType.DOUBLE,
      },
      kind
    );
    /** A series that is no longer live: back in, unless the reader shut down. */
    const revive = (series: DirectSeries): DirectSeries | undefined => {
      if (!recorder.closed) return instrument.revive(series);
      this._reject(
        type,
        'after_shutdown',
        `${type} '${name}' after the reader shut down`
      );
      return undefined;
    };
    return {
      record: (value, attributes) => {
        if (!accept(value, attributes)) return;
        const series = instrument.lookup(attributes);
        (series.live ? series : revive(series))?.record(value);
      },
      bind: attributes => {
        if (!accept(0, attributes)) attributes = undefined;
        let series = instrument.bind(attributes);
        return value => {
          if (
            typeof value === 'number' &&
            value - value === 0 &&
            (negativeAllowed || value >= 0) &&
            series.live
          ) {
            series.record(value);
          } else if (accept(value)) {
            const revived = revive(series);
            if (revived !== undefined) {
              series = revived;
              series.record(value);
            }
          }
        };
      },
    };
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

/** Starts timing on a monotonic clock; the stop() returned records once. */
function startTimer(record: (seconds: number) => void): () => number {
  const start = performance.now();
  let elapsed: number | undefined;
  return () => {
    if (elapsed === undefined) {
      elapsed = (performance.now() - start) / 1000;
      record(elapsed);
    }
    return elapsed;
  };
}

/** Times `fn`, sync or until its promise settles, and records the seconds. */
function time<T>(fn: () => T, record: (seconds: number) => void): T {
  const stop = startTimer(record);
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
}

function isThenable<T>(value: T): value is T & PromiseLike<Awaited<T>> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}
