import type {
  AggregationTemporality,
  DataPoint,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { SlicedTask } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import { AttributeLimiter, OVERFLOW_ATTRIBUTES } from '../attributes';
import type { ResolvedLimits, ResolvedSummary } from '../options';
import type { MetricKind } from '../types';
import type { RetentionTier } from '../types';
import type { AggregateFactory, Scope } from './MetricStream';
import { MetricStream, kindOf } from './MetricStream';
import { Series } from './Series';
import type { SeriesLayout, SeriesState } from './Series';
import { StoreStats } from './Tally';

export type Resource = ResourceMetrics['resource'];

export interface StoreConfig {
  /** When the reader started: nothing it keeps is older. */
  startMillis: number;
  tiers: readonly RetentionTier[];
  limits: ResolvedLimits;
  seriesTtlMillis: number;
  summary: ResolvedSummary | undefined;
  factory: AggregateFactory;
  /** The temporality the exporter wants for a kind of metric. */
  temporalityOf(kind: MetricKind, isMonotonic: boolean): AggregationTemporality;
  diag: RateLimitedDiag;
}

/**
 * The delta series one export carries: moved in flight by
 * {@link MetricStore.beginExport}, settled by {@link MetricStore.endExport}.
 */
export interface ExportCycle {
  readonly nowMillis: number;
  readonly inFlight: readonly Series[];
}

/** Work that changes the store, as generators the reader runs in slices. */
type Work<T = void> = Generator<void, T, undefined>;

/**
 * Every metric stream the reader keeps, with the retention rules: folding
 * deltas in under the limits, expiring idle series, rolling history into
 * coarser tiers, keeping it within the memory budget, and the export cycle
 * (what is in flight, what goes back after a failure).
 *
 * Everything proportional to the number of series is a generator that
 * yields between series: the reader runs it in slices of a few ms. A
 * synchronous reader of the store (a query) calls {@link settle} first, so
 * it never sees half of a collection.
 */
export class MetricStore {
  readonly streams = new Map<string, MetricStream>();
  readonly stats = new StoreStats();
  readonly layout: SeriesLayout;
  /** The SDK's resource, from the latest collection. */
  resource: Resource | undefined;
  private readonly _config: StoreConfig;
  private readonly _limiter: AttributeLimiter;
  private readonly _overflowKey: string;
  private _historyBytes = 0;
  private _liveBytes = 0;
  private _liveSeries = 0;
  private _lastCollectionMillis = NaN;
  /** Work on the store under way, which a query finishes first. */
  private _running: SlicedTask<unknown> | undefined;

  constructor(config: StoreConfig) {
    this._config = config;
    this._limiter = new AttributeLimiter(config.limits);
    this._overflowKey = this._limiter.limit(OVERFLOW_ATTRIBUTES).key;
    const summary = config.summary;
    this.layout = {
      tiers: config.tiers,
      window: summary && {
        slotMillis: summary.windowMillis / summary.slots,
        slots: summary.slots,
      },
    };
  }

  /** When the reader started: points that end before it were restored from a snapshot. */
  get startMillis(): number {
    return this._config.startMillis;
  }

  get tiers(): readonly RetentionTier[] {
    return this._config.tiers;
  }

  /** Estimated bytes of retained history, what the memory budget bounds. */
  get historyBytes(): number {
    return this._historyBytes;
  }

  /** Estimated bytes of live state (values, windows), as of the last maintenance. */
  get liveBytes(): number {
    return this._liveBytes;
  }

  /** When the latest collection was folded in: what the data covers up to. NaN before one. */
  get lastCollectionMillis(): number {
    return this._lastCollectionMillis;
  }

  /** Series exported now, across all metrics. */
  get liveSeries(): number {
    return this._liveSeries;
  }

  /** Runs `work` in slices; a query meanwhile finishes it first. */
  async run<T>(work: Work<T>): Promise<T> {
    const task = new SlicedTask(work);
    this._running = task;
    try {
      return await task.run();
    } finally {
      if (this._running === task) this._running = undefined;
    }
  }

  /** Finishes, in one block, work on the store that is under way. */
  settle(): void {
    this._running?.finish();
  }

  /** Folds one collection of SDK deltas in, as of `nowMillis`. */
  *fold(resourceMetrics: ResourceMetrics, nowMillis: number): Work {
    this.resource = resourceMetrics.resource;
    // A series new in this collection has data since the previous one: it
    // had none then.
    const since = Number.isNaN(this._lastCollectionMillis)
      ? this._config.startMillis
      : this._lastCollectionMillis;
    this._lastCollectionMillis = nowMillis;
    for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
      for (const metric of metrics) {
        const stream = this._streamFor(scope, metric);
        if (stream === undefined) continue;
        for (const point of metric.dataPoints as DataPoint<unknown>[]) {
          this._foldPoint(stream, point, since, nowMillis);
          yield;
        }
      }
    }
  }

  /**
   * The retention rules, one series at a time: expires series not updated
   * for the TTL (a delta still waiting for a successful export keeps its
   * series), slides summary windows, rolls history up and ages it out; then
   * keeps history within the memory budget.
   */
  *maintain(nowMillis: number): Work {
    const ttl = this._config.seriesTtlMillis;
    let liveBytes = 0;
    let liveSeries = 0;
    for (const [key, stream] of this.streams) {
      for (const series of stream.live.values()) {
        const pending = stream.exportsDelta && series.hasUnconfirmedData;
        if (nowMillis - series.lastUpdateMillis >= ttl && !pending) {
          stream.live.delete(series.key);
          series.expire();
          this.stats.evictedSeries.add('ttl');
          if (series.hasHistory) stream.retired.push(series);
        }
        this._maintainSeries(stream, series, nowMillis);
        if (series.isLive) {
          liveBytes += series.liveBytes;
          liveSeries++;
        }
        yield;
      }
      for (const series of stream.retired) {
        this._maintainSeries(stream, series, nowMillis);
        yield;
      }
      stream.retired = stream.retired.filter(series => series.hasHistory);
      if (stream.live.size === 0 && stream.retired.length === 0)
        this.streams.delete(key);
    }
    this._liveBytes = liveBytes;
    this._liveSeries = liveSeries;
    yield* this._enforceBudget();
  }

  /** Moves every delta series' pending data in flight, for one export. */
  *beginExport(nowMillis: number): Work<ExportCycle> {
    const inFlight: Series[] = [];
    for (const stream of this.streams.values()) {
      if (!stream.exportsDelta) continue;
      for (const series of stream.live.values()) {
        if (series.beginExport(nowMillis)) inFlight.push(series);
        yield;
      }
    }
    return { nowMillis, inFlight };
  }

  /**
   * Ends an export: what was in flight is dropped when it was sent, or merged
   * back into the pending data when it was not, to go with the next export.
   */
  *endExport(cycle: ExportCycle, succeeded: boolean): Work {
    for (const series of cycle.inFlight) {
      series.endExport(succeeded);
      yield;
    }
  }

  /** Finds or creates a stream; undefined (and counted) when it cannot be kept. */
  streamFor(
    scope: Scope,
    descriptor: MetricData['descriptor'],
    kind: MetricKind,
    isMonotonic: boolean
  ): MetricStream | undefined {
    const key = [
      scope.name,
      scope.version ?? '',
      scope.schemaUrl ?? '',
      descriptor.name,
      kind,
    ].join('\u0000');
    let stream = this.streams.get(key);
    if (stream === undefined) {
      if (this.streams.size >= this._config.limits.maxMetrics) return undefined;
      stream = new MetricStream(
        key,
        scope,
        descriptor,
        kind,
        isMonotonic,
        this._config.temporalityOf(kind, isMonotonic),
        this._config.factory
      );
      this.streams.set(key, stream);
    }
    return stream;
  }

  /**
   * Brings back a series from a snapshot, through the same attribute and
   * series limits as new data (a series over the limit joins the overflow).
   * One saved without live state comes back as history only.
   */
  restoreSeries(
    stream: MetricStream,
    attributes: Series['attributes'],
    saved: SeriesState
  ): void {
    let series: Series;
    if (saved.live === undefined) {
      const limited = this._limiter.limit(attributes);
      series = new Series(
        limited.key,
        limited.attributes,
        saved.startMillis,
        this.layout,
        false
      );
      series.expire();
      stream.retired.push(series);
    } else {
      series = this._seriesFor(stream, attributes, saved.startMillis);
    }
    const before = series.historyBytes;
    series.restore(stream, saved);
    this._historyBytes += series.historyBytes - before;
  }

  private _maintainSeries(
    stream: MetricStream,
    series: Series,
    nowMillis: number
  ): void {
    const before = series.historyBytes;
    series.maintain(stream, nowMillis, this.layout, this.stats);
    this._historyBytes += series.historyBytes - before;
  }

  /** Drops the oldest history points, all series alike, until within the budget. */
  private *_enforceBudget(): Work {
    const budget = this._config.limits.maxRetainedBytes;
    while (this._historyBytes > budget) {
      // The newest start time to drop through: the oldest points, in order of
      // age, until what they hold brings the total within the budget.
      const bytesByStart = new Map<number, number>();
      for (const series of this._allSeries()) {
        for (let tier = 0; tier < this.tiers.length; tier++) {
          series.forEachPoint(tier, (start, _reader, bytes) =>
            bytesByStart.set(start, (bytesByStart.get(start) ?? 0) + bytes)
          );
        }
        yield;
      }
      if (bytesByStart.size === 0) return;
      const starts = [...bytesByStart.keys()].sort((a, b) => a - b);
      // Logs give back their spare capacity as they drop points, so freeing
      // the points' own bytes is about enough; the loop checks again.
      let excess = this._historyBytes - budget;
      let cutoff = starts[0];
      for (const start of starts) {
        cutoff = start;
        excess -= bytesByStart.get(start)!;
        if (excess <= 0) break;
      }
      for (const [, stream] of this.streams) {
        for (const series of stream.allSeries()) {
          const before = series.historyBytes;
          const dropped = series.dropHistoryThrough(cutoff);
          this._historyBytes += series.historyBytes - before;
          this.stats.evictedPoints.add('budget', dropped);
          yield;
        }
        stream.retired = stream.retired.filter(series => series.hasHistory);
      }
    }
  }

  private *_allSeries(): IterableIterator<Series> {
    for (const stream of this.streams.values()) yield* stream.allSeries();
  }

  private _streamFor(
    scope: Scope,
    metric: MetricData
  ): MetricStream | undefined {
    const kind = kindOf(metric.dataPointType);
    if (kind === undefined) {
      this.stats.droppedPoints.add(
        'unsupported_aggregation',
        metric.dataPoints.length
      );
      this._config.diag.warn(
        `unsupported:${metric.descriptor.name}`,
        `metric '${metric.descriptor.name}' is aggregated as explicit-bucket histogram by a View; it is not retained or exported by this reader (use exponential histograms)`
      );
      return undefined;
    }
    const isMonotonic = 'isMonotonic' in metric && metric.isMonotonic;
    const stream = this.streamFor(scope, metric.descriptor, kind, isMonotonic);
    if (stream === undefined) {
      this.stats.droppedPoints.add('metric_limit', metric.dataPoints.length);
      this._config.diag.warn(
        'metric_limit',
        `maxMetrics (${this._config.limits.maxMetrics}) reached: data of '${metric.descriptor.name}' is dropped`
      );
    }
    return stream;
  }

  private _foldPoint(
    stream: MetricStream,
    point: DataPoint<unknown>,
    sinceMillis: number,
    nowMillis: number
  ): void {
    let delta;
    try {
      delta = stream.parse(point);
    } catch (error) {
      this.stats.droppedPoints.add('invalid_point');
      this._config.diag.warn(
        'invalid_point',
        `dropped a malformed point of '${stream.descriptor.name}': ${(error as Error).message}`
      );
      return;
    }
    const series = this._seriesFor(stream, point.attributes, sinceMillis);
    const before = series.historyBytes;
    series.absorb(stream, delta, nowMillis, this.layout);
    this._historyBytes += series.historyBytes - before;
  }

  private _seriesFor(
    stream: MetricStream,
    attributes: DataPoint<unknown>['attributes'],
    nowMillis: number
  ): Series {
    const limited = this._limiter.limit(attributes);
    if (limited.dropped > 0) this.stats.trimmedAttributes.add('keys');
    if (limited.truncated > 0) this.stats.trimmedAttributes.add('values');
    if (limited.invalid > 0) this.stats.trimmedAttributes.add('invalid');
    // The SDK folds sets past its own per-collection limit (twice ours) into
    // an overflow point; those join the reader's overflow series.
    const isOverflow = limited.key === this._overflowKey;
    if (isOverflow) this.stats.overflowedPoints.add('sdk_cardinality_limit');
    const existing = stream.live.get(limited.key);
    if (existing !== undefined) return existing;
    // One slot stays free for the overflow series, so the limit holds with it.
    if (
      isOverflow ||
      stream.live.size >= this._config.limits.maxSeriesPerMetric - 1
    ) {
      if (!isOverflow) this.stats.overflowedPoints.add('series_limit');
      const overflow = stream.live.get(this._overflowKey);
      if (overflow !== undefined) return overflow;
      this._config.diag.warn(
        'series_limit',
        `metric '${stream.descriptor.name}' reached its series limit (maxSeriesPerMetric ${this._config.limits.maxSeriesPerMetric}): further attribute sets fold into its overflow series`
      );
      return this._createSeries(
        stream,
        this._overflowKey,
        OVERFLOW_ATTRIBUTES,
        nowMillis
      );
    }
    return this._createSeries(
      stream,
      limited.key,
      limited.attributes,
      nowMillis
    );
  }

  private _createSeries(
    stream: MetricStream,
    key: string,
    attributes: Series['attributes'],
    nowMillis: number
  ): Series {
    const series = new Series(
      key,
      attributes,
      nowMillis,
      this.layout,
      stream.summarized && this.layout.window !== undefined
    );
    stream.live.set(key, series);
    this._liveSeries++;
    return series;
  }
}
