import type {
  AggregationTemporality,
  DataPoint,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { ExponentialSketch, SlidingWindow } from '@datapunk/otel-sketch';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import { AttributeLimiter, OVERFLOW_ATTRIBUTES } from '../attributes';
import type { ResolvedLimits, ResolvedSummary } from '../options';
import { MetricKind } from '../types';
import type { RetentionTier } from '../types';
import type { Aggregate } from './Aggregate';
import { HistogramAggregate } from './HistogramAggregate';
import type { AggregateFactory, Scope } from './MetricStream';
import { MetricStream, kindOf } from './MetricStream';
import { Series } from './Series';
import { StoreStats } from './Tally';

export type Resource = ResourceMetrics['resource'];

/** A series as a snapshot saved it. */
export interface RestoredSeries {
  startMillis: number;
  lastUpdateMillis: number;
  pendingSinceMillis: number;
  /** Undefined for a series that had expired: history only. */
  live: Aggregate | undefined;
  deltaTotals: { count: number; sum: number } | undefined;
  /** Per tier, [startMillis, value] oldest first. */
  history: [number, Aggregate][][];
}

export interface StoreConfig {
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
 * Every metric stream the reader keeps, with the retention rules: folding
 * deltas in under the limits, expiring idle series, rolling history into
 * coarser tiers and keeping it within the memory budget.
 */
export class MetricStore {
  readonly streams = new Map<string, MetricStream>();
  readonly stats = new StoreStats();
  /** The SDK's resource, from the latest collection. */
  resource: Resource | undefined;
  private readonly _config: StoreConfig;
  private readonly _limiter: AttributeLimiter;
  private readonly _overflowKey: string;
  private _historyBytes = 0;

  constructor(config: StoreConfig) {
    this._config = config;
    this._limiter = new AttributeLimiter(config.limits);
    this._overflowKey = this._limiter.limit(OVERFLOW_ATTRIBUTES).key;
  }

  /** Forgets every stream, e.g. what a snapshot restored before it proved malformed. */
  clear(): void {
    this.streams.clear();
    this._historyBytes = 0;
  }

  get tiers(): readonly RetentionTier[] {
    return this._config.tiers;
  }

  /** Estimated bytes of retained history, what the memory budget bounds. */
  get historyBytes(): number {
    return this._historyBytes;
  }

  /**
   * Estimated bytes of live state: exported values and summary windows (each
   * window counted as its current slot's size times its slots).
   */
  liveBytes(): number {
    let bytes = 0;
    for (const stream of this.streams.values()) {
      for (const series of stream.live.values()) {
        bytes += series.live?.retainedBytes ?? 0;
        const window = series.window;
        if (window) bytes += window.current.retainedBytes * window.slots;
      }
    }
    return bytes;
  }

  /** Folds one collection of SDK deltas in, as of `nowMillis`. */
  fold(resourceMetrics: ResourceMetrics, nowMillis: number): void {
    this.resource = resourceMetrics.resource;
    for (const { scope, metrics } of resourceMetrics.scopeMetrics) {
      for (const metric of metrics) {
        const stream = this._streamFor(scope, metric);
        if (stream === undefined) continue;
        for (const point of metric.dataPoints as DataPoint<unknown>[]) {
          this._foldPoint(stream, point, nowMillis);
        }
      }
    }
  }

  /**
   * Frees the live state of series not updated for the TTL (a delta still
   * waiting for a successful export keeps its series), and drops streams
   * left with nothing.
   */
  expire(nowMillis: number): void {
    const ttl = this._config.seriesTtlMillis;
    for (const [key, stream] of this.streams) {
      for (const series of stream.live.values()) {
        const pending =
          stream.exportsDelta &&
          (series.live?.isEmpty === false || series.inFlight !== undefined);
        if (nowMillis - series.lastUpdateMillis < ttl || pending) continue;
        stream.live.delete(series.key);
        series.retire();
        this.stats.evictedSeries.add('ttl');
        if (series.hasHistory) stream.retired.push(series);
      }
      if (stream.live.size === 0 && stream.retired.length === 0)
        this.streams.delete(key);
    }
  }

  /**
   * Moves points older than their tier's duration into the next tier,
   * merged by kind (sums add, gauges keep last and statistics, histograms
   * merge sketches); drops them after the last tier.
   */
  rollUp(nowMillis: number): void {
    const tiers = this._config.tiers;
    for (const stream of this.streams.values()) {
      for (const series of stream.allSeries()) {
        tiers.forEach((tier, i) => {
          const points = series.tiers[i];
          while (
            points.length > 0 &&
            points[0].startMillis + tier.resolutionMillis <=
              nowMillis - tier.durationMillis
          ) {
            const point = points.shift()!;
            this._historyBytes -= point.value.retainedBytes;
            const next = tiers[i + 1];
            if (next === undefined) {
              this.stats.evictedPoints.add('age');
              continue;
            }
            const start =
              Math.floor(point.startMillis / next.resolutionMillis) *
              next.resolutionMillis;
            this._addToTier(series, i + 1, start, point.value, false);
          }
        });
      }
      stream.retired = stream.retired.filter(series => series.hasHistory);
    }
  }

  /** Drops the oldest history points, all series alike, until within the budget. */
  enforceBudget(): void {
    const budget = this._config.limits.maxRetainedBytes;
    while (this._historyBytes > budget) {
      let oldest = Infinity;
      for (const stream of this.streams.values()) {
        for (const series of stream.allSeries()) {
          for (const points of series.tiers) {
            if (points.length > 0 && points[0].startMillis < oldest)
              oldest = points[0].startMillis;
          }
        }
      }
      if (oldest === Infinity) return;
      for (const stream of this.streams.values()) {
        for (const series of stream.allSeries()) {
          for (const points of series.tiers) {
            while (points.length > 0 && points[0].startMillis === oldest) {
              this._historyBytes -= points.shift()!.value.retainedBytes;
              this.stats.evictedPoints.add('budget');
            }
          }
        }
        stream.retired = stream.retired.filter(series => series.hasHistory);
      }
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

  /** A new live series, with its summary window for histograms. */
  createSeries(
    stream: MetricStream,
    key: string,
    attributes: Series['attributes'],
    nowMillis: number
  ): Series {
    const series = new Series(
      key,
      attributes,
      nowMillis,
      this._config.tiers.length
    );
    series.live = stream.createAggregate();
    const summary = this._config.summary;
    if (summary && stream.kind === MetricKind.HISTOGRAM) {
      const options = this._config.factory.sketch;
      series.window = new SlidingWindow({
        slots: summary.slots,
        slotMillis: summary.windowMillis / summary.slots,
        create: () => new ExponentialSketch(options),
      });
      series.window.rotate(nowMillis - 1);
    }
    if (stream.exportsDelta && stream.kind === MetricKind.HISTOGRAM) {
      series.deltaTotals = { count: 0, sum: 0 };
    }
    stream.live.set(key, series);
    return series;
  }

  /**
   * Brings back a series from a snapshot, through the same attribute and
   * series limits as new data (a series over the limit joins the overflow).
   * One saved without live state comes back as history only.
   */
  restoreSeries(
    stream: MetricStream,
    attributes: Series['attributes'],
    restored: RestoredSeries
  ): void {
    let series: Series;
    if (restored.live === undefined) {
      const limited = this._limiter.limit(attributes);
      series = new Series(
        limited.key,
        limited.attributes,
        restored.startMillis,
        this._config.tiers.length
      );
      stream.retired.push(series);
    } else {
      series = this._seriesFor(stream, attributes, restored.startMillis);
      series.live!.merge(restored.live);
      series.pendingSinceMillis = Math.min(
        series.pendingSinceMillis,
        restored.pendingSinceMillis
      );
      if (series.deltaTotals && restored.deltaTotals) {
        series.deltaTotals.count += restored.deltaTotals.count;
        series.deltaTotals.sum += restored.deltaTotals.sum;
      }
    }
    series.lastUpdateMillis = Math.max(
      series.lastUpdateMillis,
      restored.lastUpdateMillis
    );
    restored.history.forEach((points, tier) => {
      for (const [startMillis, value] of points)
        this._addToTier(series, tier, startMillis, value, false);
    });
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
    nowMillis: number
  ): void {
    let delta: Aggregate;
    try {
      delta = stream.aggregateOf(point);
    } catch (error) {
      this.stats.droppedPoints.add('invalid_point');
      this._config.diag.warn(
        'invalid_point',
        `dropped a malformed point of '${stream.descriptor.name}': ${(error as Error).message}`
      );
      return;
    }
    const series = this._seriesFor(stream, point.attributes, nowMillis);
    // Data collected now happened before now: place it in the slot it ends in.
    const at = nowMillis - 1;
    series.live!.merge(delta);
    series.lastUpdateMillis = nowMillis;
    if (delta instanceof HistogramAggregate) {
      if (series.window) {
        series.window.rotate(at);
        series.window.current.merge(delta.sketch);
      }
      if (series.deltaTotals) {
        series.deltaTotals.count += delta.sketch.count;
        series.deltaTotals.sum += delta.sketch.sum;
      }
    }
    const tier = this._config.tiers[0];
    if (tier !== undefined) {
      const start =
        Math.floor(at / tier.resolutionMillis) * tier.resolutionMillis;
      this._addToTier(series, 0, start, delta, true);
    }
  }

  private _seriesFor(
    stream: MetricStream,
    attributes: DataPoint<unknown>['attributes'],
    nowMillis: number
  ): Series {
    const limited = this._limiter.limit(attributes);
    if (limited.droppedKeys > 0) this.stats.trimmedAttributes.add('keys');
    if (limited.truncatedValues > 0) this.stats.trimmedAttributes.add('values');
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
      return this.createSeries(
        stream,
        this._overflowKey,
        OVERFLOW_ATTRIBUTES,
        nowMillis
      );
    }
    return this.createSeries(
      stream,
      limited.key,
      limited.attributes,
      nowMillis
    );
  }

  private _addToTier(
    series: Series,
    tier: number,
    startMillis: number,
    value: Aggregate,
    copy: boolean
  ): void {
    const points = series.tiers[tier];
    const last = points[points.length - 1];
    // A clock that stepped back still lands in the newest point: order holds.
    if (last !== undefined && last.startMillis >= startMillis) {
      this._historyBytes -= last.value.retainedBytes;
      last.value.merge(value);
      this._historyBytes += last.value.retainedBytes;
      return;
    }
    const point = { startMillis, value: copy ? value.clone() : value };
    points.push(point);
    this._historyBytes += point.value.retainedBytes;
  }
}
