import type { HeldBytes } from '../store/arena/HeldBytes';
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
import type { MetricStore, Work } from '../store/MetricStore';
import type { Aggregate } from '../store/Aggregate';
import type { SeriesRange } from '../store/exportCycle';
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

/** Part of a collection: at most about maxPoints points, a series' points never split. */
export interface Batch {
  readonly resourceMetrics: ResourceMetrics;
  /** The series it holds, to settle once it is exported. */
  readonly ranges: readonly SeriesRange[];
}

/**
 * The store as OTLP-shaped metrics, in batches: one point per live series
 * in the temporality its exporter asked for, percentile summaries of
 * histograms, and (in the first batch) the reader's own metrics. A pure
 * read of the store, one series per step, for the pipeline to run in
 * slices; each batch can be exported and dropped before the next is built,
 * so no object graph grows with the number of series.
 */
export class CollectionBatches {
  private readonly _store: MetricStore;
  private readonly _context: BuildContext;
  private readonly _maxPoints: number;
  private readonly _streams: Stream[];
  private readonly _endTime: HrTime;
  private _stream = 0;
  private _series = 0;
  private _first = true;

  constructor(store: MetricStore, context: BuildContext, maxPoints: number) {
    this._store = store;
    this._context = context;
    this._maxPoints = maxPoints;
    this._streams = [...store.streams.values()];
    this._endTime = hrTime(context.nowMillis);
  }

  /** The next batch; undefined after the last. */
  *next(): Work<Batch | undefined> {
    if (!this._first && this._stream >= this._streams.length) return undefined;
    const byScope = new Map<string, ScopeMetrics>();
    const ranges: SeriesRange[] = [];
    let points = 0;
    while (this._stream < this._streams.length && points < this._maxPoints) {
      const stream = this._streams[this._stream];
      const from = this._series;
      const part = yield* buildPart(
        stream,
        from,
        this._maxPoints - points,
        this._context,
        this._endTime,
        this._store.collections
      );
      points += part.points;
      ranges.push({ stream, from, to: part.to });
      if (part.to < stream.idLimit) this._series = part.to;
      else {
        this._stream++;
        this._series = 0;
      }
      if (part.metrics.length > 0)
        scopeMetricsOf(byScope, stream.scope).metrics.push(...part.metrics);
    }
    const scopeMetrics = [...byScope.values()];
    if (this._first) {
      scopeMetrics.push({
        scope: this._context.selfScope,
        metrics: selfMetrics(this._store, this._context, this._endTime),
      });
      this._first = false;
    }
    return {
      resourceMetrics: { resource: this._store.resource!, scopeMetrics },
      ranges,
    };
  }
}

/** The whole store as one ResourceMetrics (a preview; exports go in batches). */
export function* buildResourceMetrics(
  store: MetricStore,
  context: BuildContext
): Work<ResourceMetrics> {
  const batch = yield* new CollectionBatches(store, context, Infinity).next();
  return batch!.resourceMetrics;
}

function scopeMetricsOf(
  byScope: Map<string, ScopeMetrics>,
  scope: Scope
): ScopeMetrics {
  const key = `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}`;
  let scopeMetrics = byScope.get(key);
  if (scopeMetrics === undefined) {
    scopeMetrics = { scope, metrics: [] };
    byScope.set(key, scopeMetrics);
  }
  return scopeMetrics;
}

/**
 * A stream's metrics for its series from `from` on, until about `budget`
 * points are made: its own points and its window summaries. Returns where
 * it stopped.
 */
function* buildPart(
  stream: Stream,
  from: number,
  budget: number,
  context: BuildContext,
  endTime: HrTime,
  collections: number
): Work<{ metrics: MetricData[]; to: number; points: number }> {
  const summarize =
    context.summary !== undefined &&
    context.summaryMode !== 'none' &&
    stream.summarized;
  const points: DataPoint<unknown>[] = [];
  const windows = summarize
    ? new WindowMetrics(stream, context, endTime)
    : undefined;
  // Scratches of the build's own; the stream's belong to collections.
  const exported = stream.aggregator.create();
  const window = summarize ? stream.aggregator.create() : undefined;
  let made = 0;
  let series = from;
  for (; series < stream.idLimit && made < budget; series++) {
    yield;
    if (!stream.isActive(series)) continue;
    // An observable's series not observed in the latest collection is not exported.
    if (stream.observable && stream.lastCollectionOf(series) !== collections)
      continue;
    const start = stream.exportedValue(series, context.duringExport, exported);
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
      made++;
    }
    if (windows && window instanceof HistogramAggregate) {
      const summary = summarizeWindow(
        stream,
        series,
        attributes,
        Number.isNaN(start) ? undefined : exported,
        window,
        context
      );
      if (summary) {
        windows.add(summary);
        made += windows.pointsPerSeries;
      }
    }
  }
  // The SDK's MetricData has no Summary; exporters that take one check dataPointType.
  const metrics = (windows?.metrics() ?? []) as MetricData[];
  if (points.length > 0)
    metrics.push(
      stream.aggregator.toMetricData(
        {
          descriptor: stream.descriptor,
          aggregationTemporality: stream.temporality,
          isMonotonic: stream.isMonotonic,
        },
        points
      )
    );
  return { metrics, to: series, points: made };
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
 * A part's window summaries as `<name>.window` (a Summary, or a gauge
 * with a `quantile` attribute) and `<name>.window.{values,mean,stddev}`
 * gauges, their points made series by series. No name holds a Prometheus
 * type word (`summary`) or ends in `count`: promtool's lint flags both.
 */
class WindowMetrics {
  private readonly _stream: Stream;
  private readonly _context: BuildContext;
  private readonly _endTime: HrTime;
  private readonly _quantiles: number[];
  private readonly _values: DataPoint<number>[] = [];
  private readonly _means: DataPoint<number>[] = [];
  private readonly _stddevs: DataPoint<number>[] = [];
  private readonly _summaries: DataPoint<SummaryValue>[] = [];
  private readonly _quantileGauges: DataPoint<number>[] = [];

  constructor(stream: Stream, context: BuildContext, endTime: HrTime) {
    this._stream = stream;
    this._context = context;
    this._endTime = endTime;
    this._quantiles = [0, ...context.summary!.quantiles, 1];
  }

  /** Points a series adds. */
  get pointsPerSeries(): number {
    return (
      3 + (this._context.summaryMode === 'summary' ? 1 : this._quantiles.length)
    );
  }

  add(w: WindowSummary): void {
    const endTime = this._endTime;
    const point = <T>(value: T, attributes = w.attributes): DataPoint<T> => ({
      attributes,
      startTime: w.startTime,
      endTime,
      value,
    });
    this._values.push(point(w.count));
    this._means.push(point(w.mean));
    this._stddevs.push(point(w.stddev));
    if (this._context.summaryMode === 'summary') {
      this._summaries.push(
        point({
          count: w.totals.count,
          sum: w.totals.sum,
          quantileValues: this._quantiles.map((quantile, i) => ({
            quantile,
            value: w.quantiles[i],
          })),
        })
      );
    } else {
      this._quantiles.forEach((quantile, i) =>
        this._quantileGauges.push(
          point(w.quantiles[i], { ...w.attributes, quantile })
        )
      );
    }
  }

  metrics(): (MetricData | SummaryMetricData)[] {
    if (this._values.length === 0) return [];
    const { name, unit } = this._stream.descriptor;
    const over = `over the last ${this._context.summary!.windowMillis / 1000} s`;
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
      dataPoints: DataPoint<number>[],
      metricUnit?: string
    ): GaugeMetricData => ({
      ...base(suffix, description, metricUnit),
      dataPointType: DataPointType.GAUGE,
      dataPoints,
    });
    const quantileBase = base('', 'Quantiles (0 = min, 1 = max)');
    return [
      gauge('.values', 'Values recorded', this._values, '{value}'),
      gauge('.mean', 'Mean', this._means),
      gauge(
        '.stddev',
        'Standard deviation (from bucket midpoints)',
        this._stddevs
      ),
      this._context.summaryMode === 'summary'
        ? {
            ...quantileBase,
            dataPointType: SUMMARY_DATA_POINT_TYPE,
            dataPoints: this._summaries,
          }
        : {
            ...quantileBase,
            dataPointType: DataPointType.GAUGE,
            dataPoints: this._quantileGauges,
          },
    ];
  }
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
  const held = store.heldBytes();
  return [
    gauge(
      'datapunk.metrics.series.active',
      'Series exported now, across all metrics',
      '{series}',
      [[{}, store.liveSeries]]
    ),
    gauge(
      'datapunk.metrics.retained.bytes',
      'Bytes of typed arrays and arena chunks held, by part',
      'By',
      (Object.keys(held) as (keyof HeldBytes)[]).map(part => [
        { part },
        held[part],
      ])
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
