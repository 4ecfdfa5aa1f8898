export { RetentionMetricReader } from './RetentionMetricReader';
export { RetentionMeterProvider } from './provider/RetentionMeterProvider';
export type { RetentionMeterProviderOptions } from './provider/RetentionMeterProvider';
export {
  SUMMARY_DATA_POINT_TYPE,
  isSummaryMetricData,
} from './export/SummaryMetricData';
export type {
  SummaryCapableExporter,
  SummaryMetricData,
  SummaryValue,
} from './export/SummaryMetricData';
export type { Exemplar, ExemplarCarrier } from './exemplars/Exemplar';
export type { ExemplarFilterName } from './exemplars/ExemplarFilter';
export { createAttributeLimitProcessor } from './attributes';
export type { AttributeLimits } from './attributes';
export { Instruments } from './facade/Instruments';
export type {
  BoundCounter,
  BoundGauge,
  BoundHistogram,
  BoundSummary,
  BoundTimer,
  CounterMetric,
  GaugeMetric,
  HistogramMetric,
  InstrumentConfig,
  InstrumentsOptions,
  SummaryMetric,
  TimerMetric,
} from './facade/types';
export { MetricType } from './facade/MetricType';
export { setupMetrics } from './setupMetrics';
export type {
  ExporterChoice,
  MetricsSetup,
  SetupMetricsOptions,
} from './setupMetrics';
export type {
  MetricKindName,
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
