import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
} from '@opentelemetry/sdk-metrics';
import type {
  AggregationOption,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

/**
 * Accepts everything at once, cumulative: measures the reader or provider,
 * not a network. Remembers how many points the latest export held for one
 * metric, to check that every series was kept.
 */
export class NullExporter implements PushMetricExporter {
  private readonly _aggregation: AggregationOption;
  private readonly _watched: string;
  private _points = 0;

  constructor(
    watched: string,
    aggregation: AggregationOption = { type: AggregationType.DEFAULT }
  ) {
    this._watched = watched;
    this._aggregation = aggregation;
  }

  /** Points of the watched metric in the latest export. */
  get latestPoints(): number {
    return this._points;
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    let points = 0;
    for (const scope of metrics.scopeMetrics)
      for (const metric of scope.metrics)
        if (metric.descriptor.name === this._watched)
          points += metric.dataPoints.length;
    this._points = points;
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
