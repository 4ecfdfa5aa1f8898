import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';

/**
 * Our store's self-metrics (`datapunk.metrics.*`) in a collection, each
 * summed over its points: series active, retained bytes, what was dropped.
 */
export function selfMetricsOf(collection: {
  resourceMetrics: ResourceMetrics;
}): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const scope of collection.resourceMetrics.scopeMetrics)
    for (const metric of scope.metrics) {
      const name = metric.descriptor.name;
      if (!name.startsWith('datapunk.metrics.')) continue;
      for (const point of metric.dataPoints)
        if (typeof point.value === 'number')
          totals[name] = (totals[name] ?? 0) + point.value;
    }
  return totals;
}
