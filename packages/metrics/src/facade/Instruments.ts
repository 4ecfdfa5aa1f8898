import { ValueType } from '@opentelemetry/api';
import type {
  Attributes,
  Counter,
  Gauge,
  Histogram,
  Meter,
} from '@opentelemetry/api';
import {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  OptionReader,
  RateLimitedDiag,
  describeValue,
} from '@datapunk/otel-common';
import type { DirectKind } from '../direct/DirectInstrument';
import type { DirectRecorder } from '../direct/DirectRecorder';
import type { DirectSeries } from '../direct/DirectSeries';
import { RetentionMetricReader } from '../RetentionMetricReader';
import { MetricType } from './MetricType';

/** OpenTelemetry's instrument name syntax. */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;
const REJECTED_METRIC = 'datapunk.metrics.measurements.rejected';
const DROPPED_ATTRIBUTES_METRIC = 'datapunk.metrics.attributes.dropped';
/** Marks attributes that are not an attributes object at all. */
const UNREADABLE = Symbol('unreadable attributes');
const TYPES = new Set<string>(Object.values(MetricType));

export interface InstrumentConfig {
  description?: string;
  /** UCUM unit; timers default to 's'. */
  unit?: string;
  /** INT or DOUBLE (the default). */
  valueType?: ValueType;
}

export interface InstrumentsOptions {
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
export class Instruments {
  private readonly _meter: Meter;
  private readonly _direct:
    | { recorder: DirectRecorder; scope: string }
    | undefined;
  private readonly _instruments = new Map<
    string,
    { type: MetricType; instrument: Instrument }
  >();
  private readonly _rejectedCounter: Counter;
  private readonly _droppedAttributesCounter: Counter;
  private readonly _rejectedAttributes = new Map<string, Attributes>();
  private readonly _attributeReader: AttributeReader;
  private readonly _diag = new RateLimitedDiag('Instruments');
  private _rejected = 0;

  /** @throws {TypeError} for a value that is not a Meter, or invalid options. */
  constructor(meter: Meter, options: InstrumentsOptions = {}) {
    if (typeof meter?.createCounter !== 'function') {
      throw new TypeError(
        `Instruments: 'meter' must be an OpenTelemetry Meter, got ${describeValue(meter)}`
      );
    }
    const reader = new OptionReader('Instruments', options, [
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
    // The reader's attribute limits apply before anything is kept.
    this._attributeReader = new AttributeReader(
      given instanceof RetentionMetricReader
        ? given['_options'].limits
        : DEFAULT_ATTRIBUTE_BOUNDS
    );
    this._rejectedCounter = meter.createCounter(REJECTED_METRIC, {
      description:
        'Measurements the Instruments facade rejected, by metric type and reason',
      unit: '{measurement}',
      valueType: ValueType.INT,
    });
    this._droppedAttributesCounter = meter.createCounter(
      DROPPED_ATTRIBUTES_METRIC,
      {
        description:
          'Attributes the Instruments facade dropped or cut (the measurement was kept), by metric type and reason',
        unit: '{attribute}',
        valueType: ValueType.INT,
      }
    );
  }

  /** Measurements rejected so far. */
  get rejected(): number {
    return this._rejected;
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  counter(name: string, options?: InstrumentConfig): CounterMetric {
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
  gauge(name: string, options?: InstrumentConfig): GaugeMetric {
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
  histogram(name: string, options?: InstrumentConfig): HistogramMetric {
    return this._instrument(name, MetricType.HISTOGRAM, () => {
      const sink = this._histogramSink(MetricType.HISTOGRAM, name, options);
      return {
        record: (value, attributes) => sink.record(value, attributes),
        bind: attributes => ({ record: sink.bind(attributes) }),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  summary(name: string, options?: InstrumentConfig): SummaryMetric {
    return this._instrument(name, MetricType.SUMMARY, () => {
      const sink = this._histogramSink(MetricType.SUMMARY, name, options);
      return {
        observe: (value, attributes) => sink.record(value, attributes),
        bind: attributes => ({ observe: sink.bind(attributes) }),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  timer(name: string, options?: InstrumentConfig): TimerMetric {
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
        time: (fn, attributes) =>
          time(`Instruments: timer '${name}'`, fn, s => record(s, attributes)),
        bind: attributes => {
          const bound = sink.bind(attributes);
          return {
            record: bound,
            startTimer: () => startTimer(bound),
            time: fn => time(`Instruments: timer '${name}'`, fn, bound),
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
          `Instruments: '${name}' is already a ${existing.type}; it cannot also be a ${type}`
        );
      }
      return existing.instrument as T;
    }
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      throw new TypeError(
        `Instruments: metric name ${describeValue(name)} must start with a letter and hold at most 255 letters, digits, '_', '.', '-' or '/'`
      );
    }
    const instrument = create();
    this._instruments.set(name, { type, instrument });
    return instrument;
  }

  private _histogramSink(
    type: MetricType,
    name: string,
    options: InstrumentConfig | undefined
  ): Sink {
    return this._sink(type, name, options, 'histogram', () => {
      const histogram: Histogram = this._meter.createHistogram(name, options);
      return (value, attributes) => histogram.record(value, attributes);
    });
  }

  /**
   * An instrument's sink: straight into the reader's producer when the
   * facade has one, else through the SDK instrument `viaSdk` makes. Values
   * and attributes are checked either way; bound recorders check inline, so
   * a valid value on a live series costs a type check and an add.
   */
  private _sink(
    type: MetricType,
    name: string,
    options: InstrumentConfig | undefined,
    kind: DirectKind,
    viaSdk: () => (value: number, attributes: Attributes | undefined) => void
  ): Sink {
    const negativeAllowed = type === MetricType.GAUGE;
    /** The attributes to record with; UNREADABLE (counted) to reject the measurement. */
    const accept = (value: unknown, attributes: unknown) =>
      this._acceptValue(type, value, negativeAllowed)
        ? this._readAttributes(type, attributes)
        : UNREADABLE;
    const bindAttributes = (attributes: unknown) =>
      this._bindAttributes(type, name, attributes);
    if (this._direct === undefined) {
      const record = viaSdk();
      return {
        record: (value, attributes) => {
          const read = accept(value, attributes);
          if (read === UNREADABLE) return;
          try {
            record(value, read);
          } catch (error) {
            this._failed(type, name, error);
          }
        },
        bind: attributes => {
          const own = bindAttributes(attributes);
          return value => {
            if (this._acceptValue(type, value, negativeAllowed))
              record(value, own);
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
        const read = accept(value, attributes);
        if (read === UNREADABLE) return;
        try {
          const series = instrument.lookup(read);
          (series.live ? series : revive(series))?.record(value);
        } catch (error) {
          this._failed(type, name, error);
        }
      },
      bind: attributes => {
        let series = instrument.bind(bindAttributes(attributes));
        return value => {
          if (
            typeof value === 'number' &&
            value - value === 0 &&
            (negativeAllowed || value >= 0) &&
            series.live
          ) {
            series.record(value);
          } else if (this._acceptValue(type, value, negativeAllowed)) {
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

  /** Whether a value suits the type; counts and reports it if not. */
  private _acceptValue(
    type: MetricType,
    value: unknown,
    negativeAllowed: boolean
  ): value is number {
    if (
      typeof value === 'number' &&
      value - value === 0 &&
      (negativeAllowed || value >= 0)
    )
      return true;
    const reason =
      typeof value !== 'number'
        ? 'not_a_number'
        : value - value !== 0
          ? 'not_finite'
          : 'negative';
    this._reject(type, reason, `${type} got ${describeValue(value)}`);
    return false;
  }

  /**
   * The attributes of one measurement as the OpenTelemetry API defines them
   * and within the limits: invalid entries are dropped and long values cut
   * (counted; the measurement is kept). An object passed again unchanged is
   * handed on as is, so the recorder's identity cache still serves it.
   * UNREADABLE (the measurement rejected) when it is no attributes object.
   */
  private _readAttributes(
    type: MetricType,
    attributes: unknown
  ): Attributes | undefined | typeof UNREADABLE {
    // null means none, as absent options do.
    if (attributes === undefined || attributes === null) return undefined;
    const read = this._attributeReader.read(attributes);
    if (read === undefined) {
      this._reject(
        type,
        'invalid_attributes',
        `${type} got ${describeValue(attributes)} as attributes`
      );
      return UNREADABLE;
    }
    if (read.invalid + read.truncated + read.dropped === 0)
      return attributes as Attributes;
    this._dropAttributes(type, 'invalid', read.invalid);
    this._dropAttributes(type, 'too_long', read.truncated);
    this._dropAttributes(type, 'over_limit', read.dropped);
    return read.attributes;
  }

  /**
   * A bound handle's attributes, copied now: anything but an attributes
   * object (or absent) is refused, as are invalid entries; long values are
   * cut to the limits.
   * @throws {TypeError} naming the instrument and the attribute.
   */
  private _bindAttributes(
    type: MetricType,
    name: string,
    attributes: unknown
  ): Attributes | undefined {
    if (attributes === undefined) return undefined;
    const checked = new OptionReader(
      `Instruments: ${type} '${name}'.bind()`,
      {
        attributes,
      },
      ['attributes']
    ).attributes('attributes');
    const read = this._attributeReader.read(checked)!;
    this._dropAttributes(type, 'too_long', read.truncated);
    this._dropAttributes(type, 'over_limit', read.dropped);
    return read.attributes;
  }

  /**
   * The last line of defence: an attributes object that was readable once
   * but threw when read again (a getter, a Proxy) never reaches the caller.
   */
  private _failed(type: MetricType, name: string, error: unknown): void {
    let message: string;
    try {
      message = String(error);
    } catch {
      message = 'an unprintable error';
    }
    this._reject(type, 'record_failed', `${type} '${name}': ${message}`);
  }

  private _dropAttributes(type: string, reason: string, count: number): void {
    if (count === 0) return;
    this._droppedAttributesCounter.add(count, { 'metric.type': type, reason });
    this._diag.warn(
      `${type}:attributes:${reason}`,
      `dropped or cut ${count} attribute(s) of a ${type} measurement (${reason}); the measurement was kept`
    );
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

/**
 * Times `fn`, sync or until its promise settles, and records the seconds.
 * @throws {TypeError} when `fn` is not a function (there is nothing to run).
 */
function time<T>(
  owner: string,
  fn: () => T,
  record: (seconds: number) => void
): T {
  if (typeof fn !== 'function')
    throw new TypeError(
      `${owner}.time() needs a function to time, got ${describeValue(fn)}`
    );
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

/** Whether `value` is a thenable; a `then` that throws when read makes it a plain value. */
function isThenable<T>(value: T): value is T & PromiseLike<Awaited<T>> {
  try {
    return typeof (value as { then?: unknown } | null)?.then === 'function';
  } catch {
    return false;
  }
}
