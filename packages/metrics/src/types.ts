import type { Attributes } from '@opentelemetry/api';
import type {
  MetricProducer,
  PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import type { ExponentialSketch, RunningStats } from '@datapunk/otel-sketch';
import type { ExemplarFilterName } from './exemplars/ExemplarFilter';

/** One resolution of retained history. */
export interface RetentionTier {
  /** Width of each point, a multiple of the collection interval and of the previous tier's resolution. */
  resolutionMillis: number;
  /** How old a point may get before it rolls into the next tier (or is dropped after the last). */
  durationMillis: number;
}

/** Hard limits; every one is enforced on every cycle and counted when it bites. */
export interface RetentionLimits {
  /** Distinct metric streams kept; data of further streams is dropped and counted. Default 1000. */
  maxMetrics?: number;
  /**
   * Series exported per metric, the overflow series included: beyond it, new
   * attribute sets fold into one series with `otel.metric.overflow: true`.
   * Default 2000 (the SDK's own default).
   */
  maxSeriesPerMetric?: number;
  /** Attributes kept per series: the first N keys in sorted order. Default 32. */
  maxAttributesPerSeries?: number;
  /** Longest string attribute value kept, in UTF-16 units; longer ones are cut. Default 1024. */
  maxAttributeValueLength?: number;
  /**
   * Estimated bytes of one series' attributes (2 per key or string
   * character, 8 per number or boolean); attributes past it are dropped,
   * in sorted key order. Default 16384.
   */
  maxAttributeBytesPerSeries?: number;
  /** Estimated bytes of retained history; beyond it the oldest points go first. Default 64 MiB. */
  maxRetainedBytes?: number;
  /**
   * Bytes all exemplars may take together (48 per slot: a series gets its
   * reservoir's slots with its first exemplar, 20 for an exponential
   * histogram, one per bucket for explicit buckets, 1 otherwise; filtered
   * attributes 2 per character); past it, exemplars of further series are
   * dropped and counted until some expire. Default 16 MiB.
   */
  maxExemplarBytes?: number;
}

/** Percentile summaries of every histogram. */
export interface SummaryOptions {
  /** The sliding window quantiles are computed over. Default 300000 (5 min), or the collection interval if longer. */
  windowMillis?: number;
  /**
   * Slots the window is kept in; it slides by windowMillis / slots, which
   * must be ≥ the collection interval. Default 5, or as many as fit.
   */
  slots?: number;
  /** Quantiles in (0, 1) besides min (0) and max (1). Default [0.5, 0.9, 0.95, 0.99]. */
  quantiles?: number[];
  /**
   * How summaries leave the process: 'summary' as OTLP Summary points (needs
   * an exporter that carries them, such as `OTLPSummaryMetricExporter` from `@datapunk/otel-metrics/otlp`),
   * 'gauges' as gauges with a `quantile` attribute, 'none' not at all; 'auto'
   * picks 'summary' when the exporter carries Summary, else 'gauges'.
   */
  export?: 'auto' | 'summary' | 'gauges' | 'none';
}

/** Snapshots of the store on disk, restored at start. */
export interface PersistenceOptions {
  /** The snapshot file; its directory is made if it is missing. */
  path: string;
  /** How often to write a snapshot. Default 60000. */
  intervalMillis?: number;
  /** Larger files are not loaded (moved aside instead). Default 256 MiB. */
  maxFileBytes?: number;
}

export interface RetentionMetricReaderOptions {
  /** Where to export; without one the reader only retains (for query() and persistence). */
  exporter?: PushMetricExporter;
  /** How often to collect deltas from the SDK: the store's time resolution. Default 10000, or the export interval if shorter. */
  collectionIntervalMillis?: number;
  /** How often to export; ≥ collectionIntervalMillis. Default 60000. */
  exportIntervalMillis?: number;
  /** How long one export may take; ≤ exportIntervalMillis. Default 30000. */
  exportTimeoutMillis?: number;
  /**
   * Points per export request at most: a larger collection goes out as
   * several requests, one after the other, so that no request's objects
   * and serialization grow with the number of series. Default 1000.
   */
  maxExportBatchSize?: number;
  /** A series not updated for this long is no longer exported and its live state is freed. Default 300000. */
  seriesTtlMillis?: number;
  /** Buckets per sign of every histogram's sketch (and of the SDK's exponential aggregation). Default 520. */
  maxBuckets?: number;
  /**
   * The finest scale histograms are kept at, in [-10, 20]. Default 5: every
   * percentile within 1.083%, and at most 32 buckets per doubling of the
   * data's range, however close its values are (the SDK starts at 20).
   */
  maxScale?: number;
  /** Retained history, finest first. Default 10 s for 10 min, then 1 min for 1 h. [] keeps none. */
  tiers?: RetentionTier[];
  limits?: RetentionLimits;
  /** Percentile summaries; `false` turns them off. */
  summary?: SummaryOptions | false;
  persistence?: PersistenceOptions;
  /** Further producers whose data the reader folds in like the SDK's. */
  metricProducers?: MetricProducer[];
  /**
   * Which measurements may become exemplars: 'trace_based' (those recorded
   * in a sampled span), 'always_on' or 'always_off' (no cost at all on the
   * record path). Default OTEL_METRICS_EXEMPLAR_FILTER, else 'trace_based'.
   * Measurements through the SDK's MeterProvider have none (the reader sees
   * its aggregated points); the Instruments facade on a reader does.
   */
  exemplarFilter?: ExemplarFilterName;
}

/** What {@link RetentionMetricReader.query} looks at. */
export interface QueryOptions {
  /** Series whose attributes include all of these; all series when absent. */
  attributes?: Attributes;
  /** Start of the range (inclusive), epoch ms. Default: the oldest retained point. */
  fromMillis?: number;
  /** End of the range (exclusive), epoch ms. Default: now. */
  toMillis?: number;
}

/** The kind of data a metric holds, as query results name it. */
export type MetricKindName = 'sum' | 'gauge' | 'histogram';

/** The kind of data a metric holds (internal; results carry its string). */
export enum MetricKind {
  SUM = 'sum',
  GAUGE = 'gauge',
  HISTOGRAM = 'histogram',
}

/**
 * Statistics over the matching series and range. Fields that do not apply
 * to the metric's kind are absent: sums give `sum` and `rate`; gauges give
 * `count`, `sum`, `min`, `max`, `mean`, `stddev`, `last`; histograms give
 * all but `last` and `rate`.
 */
export interface QueryResult {
  /** What the metric holds: 'sum' (counters), 'gauge' or 'histogram' (histograms, summaries, timers). */
  kind: MetricKindName;
  /** Series that matched. */
  series: number;
  /** The range actually covered by the points used. */
  fromMillis: number;
  toMillis: number;
  /** The coarsest resolution among the points used. */
  resolutionMillis: number;
  count?: number;
  sum?: number;
  min?: number;
  max?: number;
  mean?: number;
  median?: number;
  /** Exact for gauges; from bucket midpoints for histograms. */
  stddev?: number;
  /** Keyed 'p50', 'p90', …; within the sketch's relative error. */
  percentiles?: Record<string, number>;
  /** Per second over the covered range. */
  rate?: number;
  last?: number;
  /** Values of statistics added with registerStatistic(). */
  statistics?: Record<string, number>;
  /**
   * Present (true) while the snapshot found at start is still being
   * restored: the answer holds what is restored so far (see
   * `RetentionMetricReader.whenRestored()`).
   */
  restoring?: true;
}

/** What a custom statistic sees: the merged data of a query. */
export interface StatisticInput {
  kind: MetricKindName;
  /** Histograms: every matching value. */
  sketch?: ExponentialSketch;
  /** Gauges: every observed value. */
  stats?: RunningStats;
  /** Sums: the total over the range. */
  sum?: number;
  fromMillis: number;
  toMillis: number;
}

/** A custom statistic; its result is reported under its name, NaN if it throws. */
export type Statistic = (input: StatisticInput) => number;
