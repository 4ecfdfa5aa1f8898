/** The readers the metrics benchmarks compare, each exporting to a NullExporter. */
import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
  InstrumentType,
  MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type {
  AggregationOption,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { RetentionMetricReader } from '../src';

/** Accepts everything at once: measures the reader, not a network. */
export class NullExporter implements PushMetricExporter {
  private readonly _aggregation: AggregationOption;
  constructor(
    aggregation: AggregationOption = { type: AggregationType.DEFAULT }
  ) {
    this._aggregation = aggregation;
  }
  export(
    _metrics: ResourceMetrics,
    done: (result: ExportResult) => void
  ): void {
    done({ code: ExportResultCode.SUCCESS });
  }
  selectAggregation(): AggregationOption {
    return this._aggregation;
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  async forceFlush(): Promise<void> {}
  async shutdown(): Promise<void> {}
}

export interface ReaderShape {
  /** Series kept per metric, the overflow series included. */
  seriesLimit: number;
  /** How often to collect (the SDK reader collects only to export). */
  collectMillis: number;
  exportMillis: number;
}

export interface Setup {
  name: string;
  reader(shape: ReaderShape): MetricReader;
}

const EXPONENTIAL: AggregationOption = {
  type: AggregationType.EXPONENTIAL_HISTOGRAM,
  options: { maxSize: 520, recordMinMax: true },
};

/**
 * What any reader asking the SDK for delta exponential histograms pays
 * before doing anything with them: RetentionMetricReader's SDK settings,
 * collecting on the same timer and dropping the result.
 */
class SdkCollectionOnly extends MetricReader {
  private readonly _timer: ReturnType<typeof setInterval>;
  constructor(shape: ReaderShape) {
    super({
      aggregationSelector: type =>
        type === InstrumentType.HISTOGRAM
          ? EXPONENTIAL
          : { type: AggregationType.DEFAULT },
      aggregationTemporalitySelector: () => AggregationTemporality.DELTA,
      cardinalitySelector: () => 2 * shape.seriesLimit,
    });
    this._timer = setInterval(() => void this.collect(), shape.collectMillis);
    this._timer.unref();
  }
  protected override async onForceFlush(): Promise<void> {
    await this.collect();
  }
  protected override async onShutdown(): Promise<void> {
    clearInterval(this._timer);
  }
}

export const SETUPS: Setup[] = [
  {
    name: 'RetentionMetricReader (defaults)',
    reader: shape =>
      new RetentionMetricReader({
        exporter: new NullExporter(),
        collectionIntervalMillis: shape.collectMillis,
        exportIntervalMillis: shape.exportMillis,
        seriesTtlMillis: 3_600_000,
        limits: {
          maxSeriesPerMetric: shape.seriesLimit,
          maxRetainedBytes: 2 ** 40,
        },
      }),
  },
  {
    name: 'PeriodicExportingMetricReader (explicit buckets)',
    reader: shape =>
      new PeriodicExportingMetricReader({
        exporter: new NullExporter(),
        exportIntervalMillis: shape.exportMillis,
        cardinalityLimits: { histogram: shape.seriesLimit },
      }),
  },
  {
    name: 'SDK delta exponential collection alone (floor)',
    reader: shape => new SdkCollectionOnly(shape),
  },
  {
    name: 'PeriodicExportingMetricReader (exponential, 520)',
    reader: shape =>
      new PeriodicExportingMetricReader({
        exporter: new NullExporter(EXPONENTIAL),
        exportIntervalMillis: shape.exportMillis,
        cardinalityLimits: { histogram: shape.seriesLimit },
      }),
  },
];
