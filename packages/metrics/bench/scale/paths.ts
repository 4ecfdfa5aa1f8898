/**
 * The paths the scale benchmark compares, each recording the workload's
 * histogram series and exporting to a NullExporter at the same series limit.
 */
import type { Attributes, Histogram } from '@opentelemetry/api';
import {
  AggregationType,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import type { AggregationOption } from '@opentelemetry/sdk-metrics';
import {
  Instruments,
  RetentionMeterProvider,
  RetentionMetricReader,
} from '../../src';
import type { HistogramMetric, RetentionMetricReaderOptions } from '../../src';
import { NullExporter } from './NullExporter';
import { selfMetricsOf } from './selfMetrics';
import type { RecordInto } from './RecordLoad';
import { COLLECTION_INTERVAL_MILLIS, EXPORT_INTERVAL_MILLIS } from './workload';

export const METRIC_NAME = 'latency';

/** One path set up for N series. */
export interface PathInstance {
  record: RecordInto;
  exporter: NullExporter;
  /** Collects now and returns our store's self-metrics (ours only). */
  selfMetrics?(): Promise<Record<string, number>>;
  shutdown(): Promise<void>;
}

export interface ScalePath {
  name: string;
  /** The row its ratios are taken against. */
  reference?: string;
  create(attributes: Attributes[]): PathInstance;
}

/**
 * Exponential histograms of 520 buckets with min and max: what
 * RetentionMetricReader asks of the SDK (its default maxBuckets), so the
 * SDK row and the reader row hold the same histograms.
 */
export const EXPONENTIAL: AggregationOption = {
  type: AggregationType.EXPONENTIAL_HISTOGRAM,
  options: { maxSize: 520, recordMinMax: true },
};

/**
 * The series limit that keeps every one of N series: both the SDK and our
 * store count the overflow series in their limit (N − 1 sets, then overflow).
 */
export function seriesLimitFor(seriesCount: number): number {
  return seriesCount + 1;
}

/** Our options: the workload's intervals and series limit, defaults otherwise. */
function ourOptions(
  exporter: NullExporter,
  seriesCount: number
): RetentionMetricReaderOptions {
  return {
    exporter,
    collectionIntervalMillis: COLLECTION_INTERVAL_MILLIS,
    exportIntervalMillis: EXPORT_INTERVAL_MILLIS,
    limits: { maxSeriesPerMetric: seriesLimitFor(seriesCount) },
  };
}

function sdkPath(
  attributes: Attributes[],
  exporter: NullExporter,
  reader: PeriodicExportingMetricReader | RetentionMetricReader
): PathInstance {
  const provider = new MeterProvider({ readers: [reader] });
  const histogram = provider.getMeter('bench').createHistogram(METRIC_NAME);
  return {
    record: (series, value) => histogram.record(value, attributes[series]),
    exporter,
    selfMetrics:
      reader instanceof RetentionMetricReader
        ? async () => selfMetricsOf(await reader.collect())
        : undefined,
    shutdown: () => provider.shutdown(),
  };
}

function periodicReader(
  exporter: NullExporter,
  seriesCount: number
): PeriodicExportingMetricReader {
  return new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: EXPORT_INTERVAL_MILLIS,
    cardinalityLimits: { histogram: seriesLimitFor(seriesCount) },
  });
}

/** Our provider, for the rows that record through it in some way. */
function providerPath(
  attributes: Attributes[],
  recordVia: (provider: RetentionMeterProvider) => RecordInto
): PathInstance {
  const exporter = new NullExporter(METRIC_NAME);
  const provider = new RetentionMeterProvider(
    ourOptions(exporter, attributes.length)
  );
  return {
    record: recordVia(provider),
    exporter,
    selfMetrics: async () => selfMetricsOf(await provider.collect()),
    shutdown: () => provider.shutdown(),
  };
}

/** The Instruments facade's histogram on our provider's meter. */
function facadeHistogram(provider: RetentionMeterProvider): HistogramMetric {
  return new Instruments(provider.getMeter('bench')).histogram(METRIC_NAME);
}

const SDK_EXPLICIT = 'SDK, explicit buckets';
const SDK_EXPONENTIAL = 'SDK, exponential (520)';

export const SCALE_PATHS: ScalePath[] = [
  {
    name: SDK_EXPLICIT,
    create: attributes => {
      const exporter = new NullExporter(METRIC_NAME);
      return sdkPath(
        attributes,
        exporter,
        periodicReader(exporter, attributes.length)
      );
    },
  },
  {
    name: SDK_EXPONENTIAL,
    create: attributes => {
      const exporter = new NullExporter(METRIC_NAME, EXPONENTIAL);
      return sdkPath(
        attributes,
        exporter,
        periodicReader(exporter, attributes.length)
      );
    },
  },
  {
    name: 'RetentionMetricReader under the SDK',
    reference: SDK_EXPONENTIAL,
    create: attributes => {
      const exporter = new NullExporter(METRIC_NAME);
      return sdkPath(
        attributes,
        exporter,
        new RetentionMetricReader(ourOptions(exporter, attributes.length))
      );
    },
  },
  {
    name: 'RetentionMeterProvider, API histogram',
    reference: SDK_EXPLICIT,
    create: attributes =>
      providerPath(attributes, provider => {
        const histogram: Histogram = provider
          .getMeter('bench')
          .createHistogram(METRIC_NAME);
        return (series, value) => histogram.record(value, attributes[series]);
      }),
  },
  {
    name: 'Instruments facade, unbound',
    reference: SDK_EXPLICIT,
    create: attributes =>
      providerPath(attributes, provider => {
        const histogram = facadeHistogram(provider);
        return (series, value) => histogram.record(value, attributes[series]);
      }),
  },
  {
    name: 'Instruments facade, bound handles',
    reference: SDK_EXPLICIT,
    create: attributes =>
      providerPath(attributes, provider => {
        const histogram = facadeHistogram(provider);
        // One handle per series, made with the provider (their memory counts).
        const handles = attributes.map(a => histogram.bind(a));
        return (series, value) => handles[series].record(value);
      }),
  },
];
