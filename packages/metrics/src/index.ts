export { RetentionMetricReader } from './RetentionMetricReader';
export { OTLPSummaryMetricExporter } from './export/OTLPSummaryMetricExporter';
export type {
  OTLPHttpProtocol,
  OTLPSummaryMetricExporterOptions,
} from './export/OTLPSummaryMetricExporter';
export {
  SUMMARY_DATA_POINT_TYPE,
  isSummaryMetricData,
} from './export/SummaryMetricData';
export type {
  SummaryCapableExporter,
  SummaryMetricData,
  SummaryValue,
} from './export/SummaryMetricData';
export { PrometheusScrapeServer } from './export/PrometheusScrapeServer';
export { createAttributeLimitProcessor } from './attributes';
export type { AttributeLimits } from './attributes';
export { Metrics } from './facade/Metrics';
export type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  BoundSummary,
  BoundTimer,
  CounterMetric,
  GaugeMetric,
  HistogramMetric,
  MetricOptions,
  MetricsOptions,
  SummaryMetric,
  TimerMetric,
} from './facade/Metrics';
export { MetricType } from './facade/MetricType';
export { setupMetrics } from './setupMetrics';
export type {
  ExporterChoice,
  MetricsSetup,
  SetupMetricsOptions,
} from './setupMetrics';
export type {
  PersistenceOptions,
  QueryOptions,
  QueryResult,
  RetentionLimits,
  RetentionMetricReaderOptions,
  RetentionTier,
  Statistic,
  StatisticInput,
  SummaryOptions,
} from './types';
export { VERSION } from './version';
