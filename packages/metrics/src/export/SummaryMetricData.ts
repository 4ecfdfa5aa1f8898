import type {
  AggregationTemporality,
  DataPoint,
  MetricData,
  MetricDescriptor,
} from '@opentelemetry/sdk-metrics';

/**
 * The `dataPointType` of a {@link SummaryMetricData}: the field number of
 * OTLP's `Metric.summary`, a value no SDK data point type uses.
 */
export const SUMMARY_DATA_POINT_TYPE = 11;

/** One value of an OTLP Summary data point. */
export interface SummaryValue {
  /** Values since the point's start time (cumulative). */
  count: number;
  sum: number;
  /** Quantiles of the sliding window, 0 (min) and 1 (max) included. */
  quantileValues: { quantile: number; value: number }[];
}

/**
 * An OTLP Summary metric. The SDK has no Summary type: the reader emits this
 * shape only to an exporter that declares it carries Summary points (see
 * {@link SummaryCapableExporter}), such as `OTLPSummaryMetricExporter` from `@datapunk/otel-metrics/otlp`.
 */
export interface SummaryMetricData {
  readonly descriptor: MetricDescriptor;
  readonly aggregationTemporality: AggregationTemporality.CUMULATIVE;
  readonly dataPointType: typeof SUMMARY_DATA_POINT_TYPE;
  readonly dataPoints: DataPoint<SummaryValue>[];
}

/** An exporter that serializes {@link SummaryMetricData} among its metrics. */
export interface SummaryCapableExporter {
  readonly acceptsSummaryPoints: true;
}

export function isSummaryMetricData(
  metric: MetricData | SummaryMetricData
): metric is SummaryMetricData {
  return (metric.dataPointType as number) === SUMMARY_DATA_POINT_TYPE;
}

/** Whether an exporter declares it carries Summary points. */
export function acceptsSummaryPoints(exporter: unknown): boolean {
  return (
    (exporter as Partial<SummaryCapableExporter> | undefined)
      ?.acceptsSummaryPoints === true
  );
}
