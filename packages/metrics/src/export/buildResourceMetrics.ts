import { ValueType } from '@opentelemetry/api';
import type { Attributes, HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
} from '@opentelemetry/sdk-metrics';
import type {
  DataPoint,
  GaugeMetricData,
  MetricData,
  MetricDescriptor,
  ResourceMetrics,
  ScopeMetrics,
  SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { ExponentialSketch } from '@datapunk/otel-sketch';
import type { ResolvedSummary } from '../options';
import type { HistogramAggregate } from '../store/HistogramAggregate';
import type { MetricStore } from '../store/MetricStore';
import type { MetricStream, Scope } from '../store/MetricStream';
import type { Series } from '../store/Series';
import type { Tally } from '../store/Tally';
import { MetricKind } from '../types';
import { SUMMARY_DATA_POINT_TYPE } from './SummaryMetricData';
import type { SummaryMetricData, SummaryValue } from './SummaryMetricData';

/** How summaries leave the process, once 'auto' is decided. */
export type SummaryMode = 'summary' | 'gauges' | 'none';

export interface BuildContext {
  nowMillis: number;
  /** When the reader started: the start of its own cumulative counters. */
  startMillis: number;
  summary: ResolvedSummary | undefined;
  summaryMode: SummaryMode;
  /**
   * Delta streams: move each pending value into `inFlight` and start a new
   * one, so data folded during the export is not lost or sent twice.
   */
  commitDeltas: boolean;
  /** The reader's own scope, for its self-observability metrics. */
  selfScope: Scope;
}

/**
 * The store as OTLP-shaped metrics: one point per live series in the
 * temporality its exporter asked for, percentile summaries of histograms,
 * and the reader's own metrics.
 */
export function buildResourceMetrics(
  store: MetricStore,
  context: BuildContext
): ResourceMetrics {
  const byScope = new Map<string, ScopeMetrics>();
  const endTime = hrTime(context.nowMillis);
  for (const stream of store.streams.values()) {
    const scopeKey = `${stream.scope.name}\u0000${stream.scope.version ?? ''}\u0000${stream.scope.schemaUrl ?? ''}`;
    let scopeMetrics = byScope.get(scopeKey);
    if (scopeMetrics === undefined) {
      scopeMetrics = { scope: stream.scope, metrics: [] };
      byScope.set(scopeKey, scopeMetrics);
    }
    const series = [...stream.live.values()].filter(
      s => s.live !== undefined && !s.live.isEmpty
    );
    if (series.length === 0) continue;
    if (
      stream.kind === MetricKind.HISTOGRAM &&
      context.summary &&
      context.summaryMode !== 'none'
    ) {
      // The SDK's MetricData has no Summary; exporters that take one check dataPointType.
      scopeMetrics.metrics.push(
        ...(summaryMetrics(stream, series, context, endTime) as MetricData[])
      );
    }
    scopeMetrics.metrics.push(streamMetric(stream, series, context, endTime));
  }
  const scopeMetrics = [...byScope.values()].filter(s => s.metrics.length > 0);
  scopeMetrics.push({
    scope: context.selfScope,
    metrics: selfMetrics(store, context, endTime),
  });
  return { resource: store.resource!, scopeMetrics };
}

/** The stream's own metric: a sum, gauge or exponential histogram. */
function streamMetric(
  stream: MetricStream,
  series: Series[],
  context: BuildContext,
  endTime: HrTime
): MetricData {
  const { descriptor, temporality } = stream;
  const points = series.map(s => {
    const startMillis = stream.exportsDelta
      ? s.pendingSinceMillis
      : s.startMillis;
    const value = s.live!;
    if (stream.exportsDelta && context.commitDeltas) {
      s.inFlight = value;
      s.inFlightSinceMillis = s.pendingSinceMillis;
      s.live = stream.createAggregate();
      s.pendingSinceMillis = context.nowMillis;
    }
    return {
      attributes: s.attributes,
      startTime: hrTime(startMillis),
      endTime,
      value,
    };
  });
  const metric = {
    descriptor,
    aggregationTemporality: temporality,
    dataPoints: points.map(p => ({ ...p, value: p.value.toPointValue() })),
  };
  switch (stream.kind) {
    case MetricKind.SUM:
      return {
        ...metric,
        dataPointType: DataPointType.SUM,
        isMonotonic: stream.isMonotonic,
      } as SumMetricData;
    case MetricKind.GAUGE:
      return {
        ...metric,
        dataPointType: DataPointType.GAUGE,
      } as GaugeMetricData;
    case MetricKind.HISTOGRAM:
      return {
        ...metric,
        dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM,
      } as MetricData;
  }
}

/**
 * `<name>.summary` (a Summary, or a gauge with a `quantile` attribute) and
 * `<name>.summary.{count,mean,stddev}` gauges, over the sliding window.
 */
function summaryMetrics(
  stream: MetricStream,
  series: Series[],
  context: BuildContext,
  endTime: HrTime
): (MetricData | SummaryMetricData)[] {
  const summary = context.summary!;
  const quantiles = [0, ...summary.quantiles, 1];
  const windows = series
    .filter(s => s.window !== undefined)
    .map(s => {
      s.window!.rotate(context.nowMillis - 1);
      const window = s.window!.merged();
      return { series: s, window, quantiles: window.quantiles(quantiles) };
    })
    .filter(({ window }) => window.count > 0);
  if (windows.length === 0) return [];

  const { name, unit } = stream.descriptor;
  const over = `over the last ${summary.windowMillis / 1000} s`;
  const base = (suffix: string, description: string, metricUnit = unit) => ({
    descriptor: {
      name: `${name}.summary${suffix}`,
      description: `${description} of ${name} ${over}`,
      unit: metricUnit,
      valueType: ValueType.DOUBLE,
    } satisfies MetricDescriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE as const,
  });
  const point = (w: (typeof windows)[number], attributes: Attributes) => ({
    attributes,
    startTime: hrTime(w.series.startMillis),
    endTime,
  });
  const gauge = (
    suffix: string,
    description: string,
    value: (w: ExponentialSketch) => number,
    metricUnit?: string
  ): GaugeMetricData => ({
    ...base(suffix, description, metricUnit),
    dataPointType: DataPointType.GAUGE,
    dataPoints: windows.map(w => ({
      ...point(w, w.series.attributes),
      value: value(w.window),
    })),
  });
  const quantileBase = base('', 'Quantiles (0 = min, 1 = max)');
  return [
    gauge('.count', 'Values recorded', w => w.count, '{value}'),
    gauge('.mean', 'Mean', w => w.mean),
    gauge(
      '.stddev',
      'Standard deviation (from bucket midpoints)',
      w => w.stddev
    ),
    context.summaryMode === 'summary'
      ? {
          ...quantileBase,
          dataPointType: SUMMARY_DATA_POINT_TYPE,
          dataPoints: windows.map(
            (w): DataPoint<SummaryValue> => ({
              ...point(w, w.series.attributes),
              value: {
                ...cumulativeTotals(stream, w.series),
                quantileValues: quantiles.map((quantile, i) => ({
                  quantile,
                  value: w.quantiles[i],
                })),
              },
            })
          ),
        }
      : {
          ...quantileBase,
          dataPointType: DataPointType.GAUGE,
          dataPoints: windows.flatMap(w =>
            quantiles.map((quantile, i) => ({
              ...point(w, { ...w.series.attributes, quantile }),
              value: w.quantiles[i],
            }))
          ),
        },
  ];
}

/** Count and sum since the series started, as Summary points carry them. */
function cumulativeTotals(
  stream: MetricStream,
  series: Series
): { count: number; sum: number } {
  const pending = (series.live as HistogramAggregate).sketch;
  if (!stream.exportsDelta) return { count: pending.count, sum: pending.sum };
  const totals = series.deltaTotals!;
  return { count: totals.count, sum: totals.sum };
}

/** The reader's own metrics, cumulative since it started. */
function selfMetrics(
  store: MetricStore,
  context: BuildContext,
  endTime: HrTime
): MetricData[] {
  const startTime = hrTime(context.startMillis);
  const counter = (
    name: string,
    description: string,
    unit: string,
    key: string,
    tally: Tally
  ): SumMetricData => ({
    descriptor: { name, description, unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic: true,
    dataPoints: [...tally.entries()].map(([reason, value]) => ({
      attributes: { [key]: reason },
      startTime,
      endTime,
      value,
    })),
  });
  const gauge = (
    name: string,
    description: string,
    unit: string,
    values: [Attributes, number][]
  ): GaugeMetricData => ({
    descriptor: { name, description, unit, valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: values.map(([attributes, value]) => ({
      attributes,
      startTime,
      endTime,
      value,
    })),
  });
  let activeSeries = 0;
  for (const stream of store.streams.values()) activeSeries += stream.live.size;
  const { stats } = store;
  return [
    gauge(
      'datapunk.metrics.series.active',
      'Series exported now, across all metrics',
      '{series}',
      [[{}, activeSeries]]
    ),
    gauge(
      'datapunk.metrics.retained.bytes',
      'Estimated memory held, by part',
      'By',
      [
        [{ part: 'history' }, store.historyBytes],
        [{ part: 'live' }, store.liveBytes()],
      ]
    ),
    counter(
      'datapunk.metrics.series.evicted',
      'Series whose live state expired',
      '{series}',
      'reason',
      stats.evictedSeries
    ),
    counter(
      'datapunk.metrics.points.dropped',
      'Data points not kept',
      '{point}',
      'reason',
      stats.droppedPoints
    ),
    counter(
      'datapunk.metrics.points.overflowed',
      'Data points folded into an overflow series',
      '{point}',
      'reason',
      stats.overflowedPoints
    ),
    counter(
      'datapunk.metrics.attributes.trimmed',
      'Data points whose attributes a limit cut',
      '{point}',
      'part',
      stats.trimmedAttributes
    ),
    counter(
      'datapunk.metrics.history.evicted',
      'Retained history points dropped',
      '{point}',
      'reason',
      stats.evictedPoints
    ),
    counter(
      'datapunk.metrics.persistence.errors',
      'Failed snapshot reads and writes',
      '{error}',
      'operation',
      stats.persistenceErrors
    ),
    counter(
      'datapunk.metrics.export.failures',
      'Failed exports',
      '{export}',
      'reason',
      stats.exportFailures
    ),
  ].filter(metric => metric.dataPoints.length > 0);
}

/** Epoch milliseconds as OpenTelemetry's [seconds, nanoseconds]. */
export function hrTime(millis: number): HrTime {
  const seconds = Math.floor(millis / 1000);
  return [seconds, Math.round((millis - seconds * 1000) * 1e6)];
}
