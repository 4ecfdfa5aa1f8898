import {
  AggregationTemporality,
  DataPointType,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  ExponentialHistogram,
  MetricDescriptor,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { ExponentialSketch } from '@datapunk/otel-sketch';
import { MetricKind } from '../types';
import type { Aggregate } from './Aggregate';
import { GaugeAggregate } from './GaugeAggregate';
import { HistogramAggregate } from './HistogramAggregate';
import { PackedHistogramAggregate } from './PackedHistogramAggregate';
import { SumAggregate } from './SumAggregate';
import type { Series } from './Series';

export type Scope = ScopeMetrics['scope'];

/** How a stream's aggregates are made; shared by every stream of a reader. */
export interface AggregateFactory {
  /** Options of every histogram sketch. */
  sketch: { maxBuckets: number; maxScale: number };
  quantiles: readonly number[];
  /** Whether histograms keep a summary window. */
  summaries: boolean;
}

/** One metric of one instrumentation scope, and its series. */
export class MetricStream {
  readonly key: string;
  readonly scope: Scope;
  readonly descriptor: MetricDescriptor;
  readonly kind: MetricKind;
  readonly isMonotonic: boolean;
  /** The temporality the exporter asked for (gauges are always cumulative state). */
  readonly temporality: AggregationTemporality;
  /** Series that are exported, by attribute key; the overflow series among them. */
  readonly live = new Map<string, Series>();
  /** Expired series that still hold history. */
  retired: Series[] = [];
  /** Holds a collected delta, or a coarser point being formed; reused. */
  readonly foldScratch: Aggregate;
  /** Where packed points are merged; reused. */
  readonly mergeScratch: Aggregate;
  /** Where packed live histograms are unpacked; reused. */
  private readonly _packScratch: HistogramAggregate | undefined;
  private readonly _factory: AggregateFactory;

  constructor(
    key: string,
    scope: Scope,
    descriptor: MetricDescriptor,
    kind: MetricKind,
    isMonotonic: boolean,
    temporality: AggregationTemporality,
    factory: AggregateFactory
  ) {
    this.key = key;
    this.scope = scope;
    this.descriptor = descriptor;
    this.kind = kind;
    this.isMonotonic = isMonotonic;
    this.temporality =
      kind === MetricKind.GAUGE
        ? AggregationTemporality.CUMULATIVE
        : temporality;
    this._factory = factory;
    this.foldScratch = this.createAggregate();
    this.mergeScratch = this.createAggregate();
    this._packScratch =
      kind === MetricKind.HISTOGRAM
        ? (this.createAggregate() as HistogramAggregate)
        : undefined;
  }

  /**
   * An empty aggregate for a series' live value: histograms packed (see
   * PackedHistogramAggregate), other kinds as they are.
   */
  createLiveAggregate(): Aggregate {
    return this._packScratch
      ? new PackedHistogramAggregate(
          this._packScratch,
          () => this.createAggregate() as HistogramAggregate
        )
      : this.createAggregate();
  }

  /** Whether live values are deltas since the last export. */
  get exportsDelta(): boolean {
    return this.temporality === AggregationTemporality.DELTA;
  }

  /** Whether its series keep a summary window. */
  get summarized(): boolean {
    return this.kind === MetricKind.HISTOGRAM && this._factory.summaries;
  }

  /** Every series with live state or history. */
  *allSeries(): IterableIterator<Series> {
    yield* this.live.values();
    yield* this.retired;
  }

  createAggregate(): Aggregate {
    switch (this.kind) {
      case MetricKind.SUM:
        return new SumAggregate();
      case MetricKind.GAUGE:
        return new GaugeAggregate();
      case MetricKind.HISTOGRAM:
        return new HistogramAggregate(
          new ExponentialSketch(this._factory.sketch),
          this._factory.quantiles
        );
    }
  }

  /**
   * One SDK data point's value as an aggregate, in {@link foldScratch}:
   * valid until the scratch is used again.
   * @throws {TypeError|RangeError} if the point's value is malformed.
   */
  parse(point: DataPoint<unknown>): Aggregate {
    const aggregate = this.foldScratch;
    aggregate.clear();
    if (aggregate instanceof HistogramAggregate) {
      aggregate.sketch.mergeExponentialHistogram(
        point.value as ExponentialHistogram
      );
      return aggregate;
    }
    const value = point.value;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TypeError(
        `a ${this.kind} point needs a finite number, got ${String(value)}`
      );
    }
    if (aggregate instanceof SumAggregate) aggregate.add(value);
    else (aggregate as GaugeAggregate).observe(value);
    return aggregate;
  }
}

/**
 * An aggregate of `kind` from its JSON.
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

/** The kind of data an SDK data point type carries, or undefined if not retained. */
export function kindOf(dataPointType: DataPointType): MetricKind | undefined {
  switch (dataPointType) {
    case DataPointType.SUM:
      return MetricKind.SUM;
    case DataPointType.GAUGE:
      return MetricKind.GAUGE;
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return MetricKind.HISTOGRAM;
    default:
      return undefined;
  }
}
