import { ExportResultCode } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import type {
  InstrumentType,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { acceptsSummaryPoints } from './SummaryMetricData';

/**
 * Several exporters as one (`OTEL_METRICS_EXPORTER=otlp,console`): each
 * export goes to all; it succeeded when all of them did (a failure keeps
 * delta data for the next export, which all then get again: at least once).
 * The temporality is the first exporter's; Summary points go out only when
 * every exporter carries them.
 */
export class FanOutExporter implements PushMetricExporter {
  readonly acceptsSummaryPoints: boolean;
  private readonly _exporters: readonly PushMetricExporter[];

  constructor(exporters: readonly PushMetricExporter[]) {
    this._exporters = exporters;
    this.acceptsSummaryPoints = exporters.every(acceptsSummaryPoints);
  }

  export(metrics: ResourceMetrics, done: (result: ExportResult) => void): void {
    let pending = this._exporters.length;
    let failure: ExportResult | undefined;
    for (const exporter of this._exporters) {
      const settle = (result: ExportResult) => {
        if (result.code !== ExportResultCode.SUCCESS) failure ??= result;
        if (--pending === 0)
          done(failure ?? { code: ExportResultCode.SUCCESS });
      };
      try {
        exporter.export(metrics, settle);
      } catch (error) {
        settle({ code: ExportResultCode.FAILED, error: error as Error });
      }
    }
  }

  selectAggregationTemporality(type: InstrumentType): AggregationTemporality {
    return (
      this._exporters[0]?.selectAggregationTemporality?.(type) ??
      AggregationTemporality.CUMULATIVE
    );
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this._exporters.map(e => e.forceFlush()));
  }

  async shutdown(): Promise<void> {
    await Promise.all(this._exporters.map(e => e.shutdown()));
  }
}
