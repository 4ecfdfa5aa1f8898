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
import type { Exemplar } from '../exemplars/Exemplar';
import type { ResolvedSummary } from '../options';
import { HistogramAggregate } from '../store/HistogramAggregate';
import type { MetricStore } from '../store/MetricStore';
import type { Aggregate } from '../store/Aggregate';
import type { Scope, Stream } from '../store/Stream';
import type { Tally } from '../store/Tally';
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
  /** Whether this is an export's build (delta streams carry what is in flight) or a preview. */
  duringExport: boolean;
  /** The reader's own scope, for its self-observability metrics. */
  selfScope: Scope;
}

/** One series' summary of its sliding window. */
interface WindowSummary {
  attributes: Attributes;
  /** The series' start, shared by its summary points. */
  startTime: HrTime;
  count: number;
  mean: number;
  stddev: number;
  /** At 0, the configured quantiles, and 1. */
  quantiles: number[];
  /** Count and sum since the series started, as Summary points carry them. */
  totals: { count: number; sum: number };
}

/**
 * The store as OTLP-shaped metrics: one point per live series in the
 * temporality its exporter asked for, percentile summaries of histograms,
 * and the reader's own metrics. A pure read of the store, one series per
 * step, for the reader to run in slices.
 */
export function* buildResourceMetrics(
  store: MetricStore,
  context: BuildContext
): Generator<void, ResourceMetrics, undefined> {
  const byScope = new Map<string, ScopeMetrics>();
  const endTime = hrTime(context.nowMillis);
  const summarize =
    context.summary !== undefined && context.summaryMode !== 'none';
  const collected = store.lastCollectionMillis;
  for (const stream of store.streams.values()) {
    const scopeKey = `${stream.scope.name}\u0000${stream.scope.version ?? ''}\u0000${stream.scope.schemaUrl ?? ''}`;
    let scopeMetrics = byScope.get(scopeKey);
    if (scopeMetrics === undefined) {
      scopeMetrics = { scope: stream.scope, metrics: [] };
      byScope.set(scopeKey, scopeMetrics);
    }
    const points: DataPoint<unknown>[] = [];
    const summaries: WindowSummary[] = [];
    // Scratches of the build's own; the stream's belong to collections.
    const exported = stream.aggregator.create();
    const window = stream.summarized ? stream.aggregator.create() : undefined;
    for (let series = 0; series < stream.idLimit; series++) {
      if (!stream.isActive(series)) continue;
      // An observable's series not observed in the latest collection is not exported.
      if (stream.observable && stream.lastUpdateOf(series) !== collected)
        continue;
      const start = stream.exportedValue(
        series,
        context.duringExport,
        exported
      );
      const attributes = stream.attributesOf(series);
      if (!Number.isNaN(start)) {
        // Exemplars ride on the point (ExemplarCarrier): the SDK's DataPoint has no field for them.
        const point: DataPoint<unknown> & { exemplars?: Exemplar[] } = {
          attributes,
          startTime: hrTime(start),
          endTime,
          value: stream.aggregator.pointValue(exported),
        };
        const exemplars = stream.exemplars?.collect(series);
        if (exemplars !== undefined) point.exemplars = exemplars;
        points.push(point);
      }
      if (summarize && window instanceof HistogramAggregate) {
        const summary = summarizeWindow(
          stream,
          series,
          attributes,
          Number.isNaN(start) ? undefined : exported,
          window,
          context
        );
        if (summary) summaries.push(summary);
      }
      yield;
    }
    if (summaries.length > 0) {
      // The SDK's MetricData has no Summary; exporters that take one check dataPointType.
      scopeMetrics.metrics.push(
        ...(summaryMetrics(stream, summaries, context, endTime) as MetricData[])
      );
    }
    if (points.length > 0)
      scopeMetrics.metrics.push(
        stream.aggregator.toMetricData(
          {
            descriptor: stream.descriptor,
            aggregationTemporality: stream.temporality,
            isMonotonic: stream.isMonotonic,
          },
          points
        )
      );
  }
  const scopeMetrics = [...byScope.values()].filter(s => s.metrics.length > 0);
  scopeMetrics.push({
    scope: context.selfScope,
    metrics: selfMetrics(store, context, endTime),
  });
  return { resource: store.resource!, scopeMetrics };
}

/** A series' window merged in `scratch`, summarized; undefined when it is empty. */
function summarizeWindow(
  stream: Stream,
  series: number,
  attributes: Attributes,
  exported: Aggregate | undefined,
  scratch: HistogramAggregate,
  context: BuildContext
): WindowSummary | undefined {
  const summary = context.summary!;
  scratch.clear();
  stream.mergeWindowInto(series, context.nowMillis, scratch);
  const window = scratch.sketch;
  if (window.count === 0) return undefined;
  return {
    attributes,
    startTime: hrTime(stream.startOf(series)),
    count: window.count,
    mean: window.mean,
    stddev: window.stddev,
    quantiles: window.quantiles([0, ...summary.quantiles, 1]),
    totals: stream.totals(series, exported ?? stream.aggregator.create()),
  };
}

/**
 * `<name>.window` (a Summary, or a gauge with a `quantile` attribute) and
 * `<name>.window.{values,mean,stddev}` gauges, over the sliding window.
 * No name holds a Prometheus type word (`summary`) or ends in `count`:
 * promtool's lint flags both.
 */
function summaryMetrics(
  stream: Stream,
  windows: WindowSummary[],
  context: BuildContext,
  endTime: HrTime
): (MetricData | SummaryMetricData)[] {
  const summary = context.summary!;
  const quantiles = [0, ...summary.quantiles, 1];
  const { name, unit } = stream.descriptor;
  const over = `over the last ${summary.windowMillis / 1000} s`;
  const base = (suffix: string, description: string, metricUnit = unit) => ({
    descriptor: {
      name: `${name}.window${suffix}`,
      description: `${description} of ${name} ${over}`,
      unit: metricUnit,
      valueType: ValueType.DOUBLE,
    } satisfies MetricDescriptor,
    aggregationTemporality: AggregationTemporality.CUMULATIVE as const,
  });
  const gauge = (
    suffix: string,
    description: string,
    value: (w: WindowSummary) => number,
    metricUnit?: string
  ): GaugeMetricData => ({
    ...base(suffix, description, metricUnit),
    dataPointType: DataPointType.GAUGE,
    dataPoints: windows.map(w => ({
      attributes: w.attributes,
      startTime: w.startTime,
      endTime,
      value: value(w),
    })),
  });
  const quantileBase = base('', 'Quantiles (0 = min, 1 = max)');
  return [
    gauge('.values', 'Values recorded', w => w.count, '{value}'),
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
              attributes: w.attributes,
              startTime: w.startTime,
              endTime,
              value: {
                count: w.totals.count,
                sum: w.totals.sum,
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
              attributes: { ...w.attributes, quantile },
              startTime: w.startTime,
              endTime,
              value: w.quantiles[i],
            }))
          ),
        },
  ];
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
  const { stats } = store;
  return [
    gauge(
      'datapunk.metrics.series.active',
      'Series exported now, across all metrics',
      '{series}',
      [[{}, store.liveSeries]]
    ),
    gauge(
      'datapunk.metrics.retained.bytes',
      'Estimated memory held, by part',
      'By',
      [
        [{ part: 'history' }, store.historyBytes],
        [{ part: 'live' }, store.liveBytes],
        [{ part: 'exemplars' }, store.exemplarBudget.usedBytes],
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
      'Data points whose attributes a limit cut (part: keys past a count or byte limit, values or keys past a length limit, invalid values dropped)',
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
      'datapunk.metrics.measurements.rejected',
      'Measurements not recorded (a bad value or attributes, after shutdown)',
      '{measurement}',
      'reason',
      stats.rejectedMeasurements
    ),
    counter(
      'datapunk.metrics.callbacks.failed',
      'Observable callbacks that threw or did not settle in time',
      '{callback}',
      'reason',
      stats.callbackErrors
    ),
    counter(
      'datapunk.metrics.exemplars.dropped',
      'Exemplars not kept (memory_limit: limits.maxExemplarBytes reached; filtered_attributes: too long; invalid_context: a context that could not be read)',
      '{exemplar}',
      'reason',
      stats.droppedExemplars
    ),
    counter(
      'datapunk.metrics.export.failures',
      'Failed exports',
      '{export}',
      'reason',
      stats.exportFailures
    ),
  ];
}

/** Epoch milliseconds as OpenTelemetry's [seconds, nanoseconds]. */
export function hrTime(millis: number): HrTime {
  const seconds = Math.floor(millis / 1000);
  return [seconds, Math.round((millis - seconds * 1000) * 1e6)];
}
