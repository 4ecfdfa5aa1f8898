import { ValueType } from '@opentelemetry/api';
import type { Attributes, Counter, Meter } from '@opentelemetry/api';
import {
  AttributeReader,
  DEFAULT_ATTRIBUTE_BOUNDS,
  OptionReader,
  RateLimitedDiag,
  describeValue,
} from '@datapunk/otel-common';
import { pipelineOf } from '../pipeline/pipelines';
import { RetentionMeter } from '../provider/RetentionMeter';
import type { SyncInstrument } from '../provider/SyncInstrument';
import { RetentionMetricReader } from '../RetentionMetricReader';
import {
  BoundCounterHandle,
  BoundGaugeHandle,
  BoundHistogramHandle,
  BoundSummaryHandle,
  BoundTimerHandle,
} from './boundHandles';
import { MetricType } from './MetricType';
import { apiSink, directSink } from './sinks';
import type { Sink } from './sinks';
import { startTimer, time } from './timing';
import type {
  CounterMetric,
  GaugeMetric,
  HistogramMetric,
  InstrumentConfig,
  InstrumentsOptions,
  SummaryMetric,
  TimerMetric,
} from './types';

/** OpenTelemetry's instrument name syntax. */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;
const REJECTED_METRIC = 'datapunk.metrics.measurements.rejected';
const DROPPED_ATTRIBUTES_METRIC = 'datapunk.metrics.attributes.dropped';
const TYPES = new Set<string>(Object.values(MetricType));

type Instrument =
  | CounterMetric
  | GaugeMetric
  | HistogramMetric
  | SummaryMetric
  | TimerMetric;

/**
 * Five metric types on a Meter: counter, gauge, histogram, summary and
 * timer. Histogram, summary and timer are all histograms (the retention
 * store gives each percentile summaries); a timer records seconds. Each has
 * `bind()` for a handle on one attribute set.
 *
 * On a meter of {@link RetentionMeterProvider} (or with `reader`), values
 * go straight into the store; on any other meter, through the API. Either
 * way every value is checked (counters, histograms, summaries and timers
 * take non-negative finite numbers, gauges any finite number; attributes
 * are read as the API defines them), and a bad one is never thrown on: it
 * is dropped, counted in {@link rejected} and in
 * `datapunk.metrics.measurements.rejected`, and reported through diag
 * (rate-limited).
 */
export class Instruments {
  private readonly _meter: Meter;
  /** Our meter: values go straight into its store. */
  private readonly _direct: RetentionMeter | undefined;
  private readonly _instruments = new Map<
    string,
    { type: MetricType; instrument: Instrument }
  >();
  private readonly _attributeReader: AttributeReader;
  private readonly _diag = new RateLimitedDiag('Instruments');
  /** Through the API only: the facade's own counters (the store counts its own). */
  private _rejectedCounter: Counter | undefined;
  private _droppedAttributesCounter: Counter | undefined;
  private readonly _counterAttributes = new Map<string, Attributes>();
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
    this._meter = meter;
    if (meter instanceof RetentionMeter) {
      this._direct = meter;
    } else if (given instanceof RetentionMetricReader) {
      this._direct = pipelineOf(given)!.meter({
        name: reader.string('meterName'),
      });
    } else if (given !== undefined) {
      reader.failType('reader', 'a RetentionMetricReader', given);
    }
    this._attributeReader = new AttributeReader(DEFAULT_ATTRIBUTE_BOUNDS);
  }

  /** Measurements rejected so far. */
  get rejected(): number {
    return this._rejected;
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  counter(name: string, config?: InstrumentConfig): CounterMetric {
    return this._instrument(name, MetricType.COUNTER, () => {
      const sink = this._sink(MetricType.COUNTER, name, false, meter => {
        const counter = meter.createCounter(name, config);
        return [counter, (v, a) => counter.add(v, a)];
      });
      return {
        add: (value, attributes) => sink.record(value, attributes),
        bind: attributes => new BoundCounterHandle(sink.bind(attributes)),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  gauge(name: string, config?: InstrumentConfig): GaugeMetric {
    return this._instrument(name, MetricType.GAUGE, () => {
      const sink = this._sink(MetricType.GAUGE, name, true, meter => {
        const gauge = meter.createGauge(name, config);
        return [gauge, (v, a) => gauge.record(v, a)];
      });
      return {
        set: (value, attributes) => sink.record(value, attributes),
        bind: attributes => new BoundGaugeHandle(sink.bind(attributes)),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  histogram(name: string, config?: InstrumentConfig): HistogramMetric {
    return this._instrument(name, MetricType.HISTOGRAM, () => {
      const sink = this._histogramSink(MetricType.HISTOGRAM, name, config);
      return {
        record: (value, attributes) => sink.record(value, attributes),
        bind: attributes => new BoundHistogramHandle(sink.bind(attributes)),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  summary(name: string, config?: InstrumentConfig): SummaryMetric {
    return this._instrument(name, MetricType.SUMMARY, () => {
      const sink = this._histogramSink(MetricType.SUMMARY, name, config);
      return {
        observe: (value, attributes) => sink.record(value, attributes),
        bind: attributes => new BoundSummaryHandle(sink.bind(attributes)),
      };
    });
  }

  /** @throws {TypeError} for an invalid name, or a name taken by another type. */
  timer(name: string, config?: InstrumentConfig): TimerMetric {
    return this._instrument(name, MetricType.TIMER, () => {
      const sink = this._histogramSink(MetricType.TIMER, name, {
        unit: 's',
        ...config,
      });
      const owner = `Instruments: timer '${name}'`;
      const record = (seconds: number, attributes?: Attributes) =>
        sink.record(seconds, attributes);
      return {
        record,
        startTimer: attributes => startTimer(s => record(s, attributes)),
        time: (fn, attributes) => time(owner, fn, s => record(s, attributes)),
        bind: attributes => new BoundTimerHandle(sink.bind(attributes), owner),
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
        `'${name}' is a ${existing.type}, not a ${describeValue(type)}`
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
        `cannot create ${describeValue(type)} ${describeValue(name)}`
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
    config: InstrumentConfig | undefined
  ): Sink {
    return this._sink(type, name, false, meter => {
      const histogram = meter.createHistogram(name, config);
      return [histogram, (v, a) => histogram.record(v, a)];
    });
  }

  /**
   * An instrument's sink: straight into our store when the meter is ours
   * (or given a reader), else through the API instrument `create` makes.
   */
  private _sink(
    type: MetricType,
    name: string,
    negativeAllowed: boolean,
    create: (
      meter: Meter
    ) => [unknown, (value: number, attributes: Attributes | undefined) => void]
  ): Sink {
    const owner = `Instruments: ${type} '${name}'`;
    if (this._direct !== undefined) {
      const [instrument] = create(this._direct);
      return directSink(
        owner,
        instrument as SyncInstrument,
        () => this._rejected++
      );
    }
    const [, record] = create(this._meter);
    return apiSink(
      owner,
      record,
      !negativeAllowed,
      this._attributeReader,
      (reason, message) =>
        this._reject(type, reason, `${type} '${name}' ${message}`),
      (reason, count) => this._dropAttributes(type, reason, count)
    );
  }

  private _reject(type: string, reason: string, message: string): void {
    this._rejected++;
    this._rejectedCounter ??= this._meter.createCounter(REJECTED_METRIC, {
      description:
        'Measurements the Instruments facade rejected, by metric type and reason',
      unit: '{measurement}',
      valueType: ValueType.INT,
    });
    this._rejectedCounter.add(1, this._attributesOf(type, reason));
    this._diag.warn(
      `${type}:${reason}`,
      `rejected a measurement (${reason}): ${message}`
    );
  }

  private _dropAttributes(type: string, reason: string, count: number): void {
    if (count === 0) return;
    this._droppedAttributesCounter ??= this._meter.createCounter(
      DROPPED_ATTRIBUTES_METRIC,
      {
        description:
          'Attributes the Instruments facade dropped or cut (the measurement was kept), by metric type and reason',
        unit: '{attribute}',
        valueType: ValueType.INT,
      }
    );
    this._droppedAttributesCounter.add(count, this._attributesOf(type, reason));
    this._diag.warn(
      `${type}:attributes:${reason}`,
      `dropped or cut ${count} attribute(s) of a ${type} measurement (${reason}); the measurement was kept`
    );
  }

  private _attributesOf(type: string, reason: string): Attributes {
    const key = `${type}:${reason}`;
    let attributes = this._counterAttributes.get(key);
    if (attributes === undefined) {
      attributes = { 'metric.type': type, reason };
      this._counterAttributes.set(key, attributes);
    }
    return attributes;
  }
}
