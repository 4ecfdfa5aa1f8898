import {
  AggregationTemporality,
  AggregationType,
  DataPointType,
  InstrumentType,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import type {
  CollectionResult,
  DataPoint,
  MetricCollectOptions,
  MetricData,
  MetricDescriptor,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { AttributeReader, SlicedTask } from '@datapunk/otel-common';
import type { AttributeReading } from '@datapunk/otel-common';
import { resolveOptions } from './options';
import { MetricPipeline } from './pipeline/MetricPipeline';
import { registerPipeline } from './pipeline/pipelines';
import { OVERFLOW_KEY } from './store/Stream';
import { MetricKind } from './types';
import type {
  QueryOptions,
  QueryResult,
  RetentionMetricReaderOptions,
  Statistic,
} from './types';

const OWNER = 'RetentionMetricReader';

/**
 * A MetricReader that adds what the SDK leaves out: series TTL and
 * multi-resolution retention, hard limits that hold in every temporality,
 * percentile summaries (real OTLP Summary points where the exporter carries
 * them), queries over retained data, and snapshots that survive restarts.
 * For teams that keep the SDK's MeterProvider (NodeSDK, say); with a
 * provider of its own, {@link RetentionMeterProvider} records into the same
 * store without the SDK's record path.
 *
 * It takes DELTA data from the SDK on its own timer, so the SDK's memory
 * stays bounded, folds it into its store, and exports that store in the
 * temporality the exporter asks for (cumulative by default).
 *
 * ```ts
 * const reader = new RetentionMetricReader({ exporter: new OTLPSummaryMetricExporter() });
 * metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
 * ```
 */
export class RetentionMetricReader extends MetricReader {
  private readonly _pipeline: MetricPipeline;
  private readonly _attributes: AttributeReader;
  /** Attribute sets the SDK hands over again, read once. */
  private readonly _readings = new WeakMap<
    object,
    AttributeReading | undefined
  >();
  private readonly _overflowReading: AttributeReading;

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(options: RetentionMetricReaderOptions = {}) {
    const resolved = resolveOptions(options);
    super({
      aggregationSelector: type =>
        type === InstrumentType.HISTOGRAM
          ? {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { maxSize: resolved.maxBuckets, recordMinMax: true },
            }
          : { type: AggregationType.DEFAULT },
      aggregationTemporalitySelector: () => AggregationTemporality.DELTA,
      // The SDK applies its limit per delta cycle, to whichever sets come
      // first, and would fold data of series we keep into its overflow; with
      // twice ours, only a cycle with more new sets than that does.
      cardinalitySelector: () => 2 * resolved.limits.maxSeriesPerMetric,
      metricProducers: resolved.metricProducers,
    });
    this._attributes = new AttributeReader(resolved.limits);
    this._overflowReading = {
      attributes: {},
      key: OVERFLOW_KEY,
      invalid: 0,
      truncated: 0,
      dropped: 0,
    };
    this._pipeline = new MetricPipeline(OWNER, resolved, {
      gather: timeoutMillis => this._gather(timeoutMillis),
    });
    registerPipeline(this, this._pipeline);
  }

  /**
   * Collects from the SDK now and returns the store as it would be exported
   * (in the exporter's temporality, summaries included), without committing
   * anything as exported.
   */
  override collect(options?: MetricCollectOptions): Promise<CollectionResult> {
    return this._pipeline.collect(options?.timeoutMillis);
  }

  /**
   * Statistics of `metricName` over retained history: the matching series
   * (all, or those whose attributes include `options.attributes`) merged,
   * each moment taken from the finest tier that still holds it. Data is as
   * of the last collection. Undefined for a metric the reader does not hold.
   * @throws {TypeError|RangeError} for invalid arguments.
   */
  query(
    metricName: string,
    options: QueryOptions = {}
  ): QueryResult | undefined {
    return this._pipeline.query(metricName, options);
  }

  /**
   * {@link query}, after collecting from the SDK first: the answer includes
   * everything recorded before the call.
   * @throws {TypeError|RangeError} (as a rejection) for invalid arguments.
   */
  collectAndQuery(
    metricName: string,
    options: QueryOptions = {}
  ): Promise<QueryResult | undefined> {
    return this._pipeline.collectAndQuery(metricName, options);
  }

  /**
   * Adds a statistic to every query result, computed from the merged data.
   * Returns a handle whose dispose() removes it.
   * @throws {TypeError} for a name already taken or a non-function.
   */
  registerStatistic(name: string, statistic: Statistic): { dispose(): void } {
    return this._pipeline.registerStatistic(OWNER, name, statistic);
  }

  /**
   * Settles once the snapshot found at construction is restored (or was
   * refused and moved aside). Restoration runs in the background, in slices,
   * so a large snapshot never blocks the host; collections, exports and
   * snapshots wait for it, and queries meanwhile answer with what is
   * restored so far, marked `restoring: true`. Never rejects.
   */
  whenRestored(): Promise<void> {
    return this._pipeline.whenRestored();
  }

  protected override onInitialized(): void {
    this._pipeline.start();
  }

  protected override onForceFlush(): Promise<void> {
    return this._pipeline.forceFlush();
  }

  /** Collects, exports and persists one last time; later calls wait for the first. */
  protected override onShutdown(): Promise<void> {
    return this._pipeline.shutdown();
  }

  /** The SDK's deltas since the last collection, into the store's current deltas. */
  private async _gather(timeoutMillis: number | undefined): Promise<unknown[]> {
    const { resourceMetrics, errors } = await super.collect({ timeoutMillis });
    await new SlicedTask(this._fold(resourceMetrics)).run();
    return errors;
  }

  /** One SDK collection, point by point, into the store. */
  private *_fold(
    resourceMetrics: ResourceMetrics
  ): Generator<void, void, undefined> {
    const store = this._pipeline.store;
    store.resource = resourceMetrics.resource;
    const since = this._pipeline.sinceMillis();
    for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
      for (const metric of metrics) {
        const kind = kindOf(metric);
        if (kind === undefined) {
          store.stats.droppedPoints.add(
            'unsupported_aggregation',
            metric.dataPoints.length
          );
          this._pipeline.diag.warn(
            `unsupported:${metric.descriptor.name}`,
            `metric '${metric.descriptor.name}' is aggregated as explicit-bucket histogram by a View; it is not retained or exported by this reader (use exponential histograms)`
          );
          continue;
        }
        const instrumentType = instrumentTypeOf(metric.descriptor);
        const stream = store.streamFor(
          scope,
          metric.descriptor,
          kind,
          'isMonotonic' in metric && metric.isMonotonic,
          {
            instrumentType,
            observable:
              instrumentType !== undefined && OBSERVABLE.has(instrumentType),
          }
        );
        if (stream === undefined) {
          store.stats.droppedPoints.add(
            'metric_limit',
            metric.dataPoints.length
          );
          continue;
        }
        for (const point of metric.dataPoints as DataPoint<unknown>[]) {
          const reading = this._read(point.attributes);
          if (reading.dropped > 0) store.stats.trimmedAttributes.add('keys');
          if (reading.truncated > 0)
            store.stats.trimmedAttributes.add('values');
          if (reading.invalid > 0) store.stats.trimmedAttributes.add('invalid');
          // The SDK folds sets past its own limit (twice ours) into an
          // overflow point; those join the store's overflow series.
          if (reading.key === OVERFLOW_KEY)
            store.stats.overflowedPoints.add('sdk_cardinality_limit');
          const series = stream.seriesFor(reading.key, since, store.stats);
          try {
            stream.absorb(series, point);
          } catch (error) {
            store.stats.droppedPoints.add('invalid_point');
            this._pipeline.diag.warn(
              'invalid_point',
              `dropped a malformed point of '${metric.descriptor.name}': ${(error as Error).message}`
            );
          }
          yield;
        }
      }
    }
  }

  /** A point's attributes under the limits, read once per attributes object. */
  private _read(attributes: unknown): AttributeReading {
    if (typeof attributes !== 'object' || attributes === null)
      return this._attributes.read(undefined)!;
    let reading = this._readings.get(attributes);
    if (reading === undefined) {
      reading = this._attributes.read(attributes);
      if (reading === undefined) reading = this._attributes.read(undefined)!;
      else if (reading.key === OVERFLOW_KEY) reading = this._overflowReading;
      this._readings.set(attributes, reading);
    }
    return reading;
  }
}

const OBSERVABLE = new Set<InstrumentType>([
  InstrumentType.OBSERVABLE_COUNTER,
  InstrumentType.OBSERVABLE_UP_DOWN_COUNTER,
  InstrumentType.OBSERVABLE_GAUGE,
]);
const INSTRUMENT_TYPES = new Set<unknown>(Object.values(InstrumentType));

/**
 * The instrument type behind an SDK metric: its descriptor is the SDK's
 * instrument descriptor, whose `type` the public MetricDescriptor type
 * leaves out (the SDK reads it itself); undefined where it is absent.
 */
function instrumentTypeOf(
  descriptor: MetricDescriptor
): InstrumentType | undefined {
  const type = (descriptor as { type?: unknown }).type;
  return INSTRUMENT_TYPES.has(type) ? (type as InstrumentType) : undefined;
}

/** The kind of data an SDK metric carries, or undefined if not retained. */
function kindOf(metric: MetricData): MetricKind | undefined {
  switch (metric.dataPointType) {
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
