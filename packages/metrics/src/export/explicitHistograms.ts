import { DataPointType } from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  ExponentialHistogram,
  Histogram,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/**
 * The same metrics with every exponential histogram as an explicit-bucket
 * one, for the Prometheus text format (whose serializer knows no
 * exponential histograms): each occupied bucket's upper bound base^(i+1)
 * becomes a boundary, zeros and negatives count below the lowest one.
 * Counts, sum, min and max are unchanged.
 */
export function withExplicitHistograms(
  resourceMetrics: ResourceMetrics
): ResourceMetrics {
  return {
    resource: resourceMetrics.resource,
    scopeMetrics: resourceMetrics.scopeMetrics.map(scope => ({
      scope: scope.scope,
      metrics: scope.metrics.map(metric =>
        metric.dataPointType === DataPointType.EXPONENTIAL_HISTOGRAM
          ? explicit(metric)
          : metric
      ),
    })),
  };
}

function explicit(metric: MetricData): MetricData {
  return {
    descriptor: metric.descriptor,
    aggregationTemporality: metric.aggregationTemporality,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: (metric.dataPoints as DataPoint<ExponentialHistogram>[]).map(
      point => ({ ...point, value: toExplicit(point.value) })
    ),
  } as MetricData;
}

function toExplicit(value: ExponentialHistogram): Histogram {
  const base = 2 ** (2 ** -value.scale);
  const { offset, bucketCounts } = value.positive;
  const below =
    value.zeroCount + value.negative.bucketCounts.reduce((a, c) => a + c, 0);
  const boundaries = [base ** offset];
  const counts = [below];
  bucketCounts.forEach((count, i) => {
    boundaries.push(base ** (offset + i + 1));
    counts.push(count);
  });
  counts.push(0);
  return {
    buckets: { boundaries, counts },
    count: value.count,
    sum: value.sum,
    min: value.min,
    max: value.max,
  };
}
