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

/** The scope of our self-metrics, in the first request of each of our exports. */
const SELF_SCOPE = '@datapunk/otel-metrics';

/**
 * Accepts everything at once, cumulative: measures the reader or provider,
 * not a network. Remembers how many points the latest export held for one
 * metric, to check that every series was kept. Ours export in requests of
 * at most maxExportBatchSize points, the first with our self-metrics: an
 * export is the requests from one of those to the next.
 */
export class NullExporter implements PushMetricExporter {
  private readonly _aggregation: AggregationOption;
  private readonly _watched: string;
  private _points = 0;
  private _current = 0;
  /** Whether exports come in batches (ours do). */
  private _batched = false;

  constructor(
    watched: string,
    aggregation: AggregationOption = { type: AggregationType.DEFAULT }
  ) {
    this._watched = watched;
    this._aggregation = aggregation;
  }

  /** Points of the watched metric in the latest export (complete or under way, whichever holds more). */
  get latestPoints(): number {
    return Math.max(this._points, this._current);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    let points = 0;
    let ours = false;
    for (const scope of metrics.scopeMetrics) {
      if (scope.scope.name === SELF_SCOPE) ours = true;
      for (const metric of scope.metrics)
        if (metric.descriptor.name === this._watched)
          points += metric.dataPoints.length;
    }
    if (ours) this._batched = true;
    if (ours || !this._batched) {
      this._points = this._current;
      this._current = points;
    } else this._current += points;
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
