import { noHeldBytes } from './arena/HeldBytes';
import type { HeldBytes } from './arena/HeldBytes';
import type {
  AggregationTemporality,
  InstrumentType,
  MetricDescriptor,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { SlicedTask } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import { defaultReservoir } from '../exemplars/defaultReservoir';
import { ExemplarBudget } from '../exemplars/ExemplarBudget';
import type { ExemplarFilterName } from '../exemplars/ExemplarFilter';
import type { ResolvedLimits, ResolvedSummary } from '../options';
import { MetricKind } from '../types';
import type { RetentionTier } from '../types';
import type { HistogramChoice } from '../provider/ViewRegistry';
import type { Aggregator } from './aggregators/Aggregator';
import { ExplicitHistogramAggregator } from './aggregators/ExplicitHistogramAggregator';
import { GaugeAggregator } from './aggregators/GaugeAggregator';
import { HistogramAggregator } from './aggregators/HistogramAggregator';
import { SumAggregator } from './aggregators/SumAggregator';
import { enforceBudget } from './enforceBudget';
import { Stream } from './Stream';
import type { Scope, SeriesLayout } from './Stream';
import { StoreStats } from './Tally';

export type Resource = ResourceMetrics['resource'];

export interface StoreConfig {
  /** When the store started: nothing it keeps is older, and older points were restored. */
  startMillis: number;
  tiers: readonly RetentionTier[];
  limits: ResolvedLimits;
  seriesTtlMillis: number;
  summary: ResolvedSummary | undefined;
  /** Every histogram's sketch. */
  sketch: { maxBuckets: number; maxScale: number };
  /** Quantiles a query reports. */
  quantiles: readonly number[];
  /**
   * The temporality the exporter wants for a kind of metric, or for the
   * instrument type when it is known.
   */
  temporalityOf(
    kind: MetricKind,
    isMonotonic: boolean,
    instrumentType: InstrumentType | undefined
  ): AggregationTemporality;
  /** Whether a temporality is delta. */
  isDelta(temporality: AggregationTemporality): boolean;
  /** 'always_off': streams keep no exemplars. */
  exemplarFilter: ExemplarFilterName;
  diag: RateLimitedDiag;
}

/** How a new stream differs from the store's defaults. */
export interface StreamOptions {
  /** Series kept, the overflow series included; default limits.maxSeriesPerMetric. */
  maxSeries?: number;
  /** Histograms: the aggregation a View chose. */
  histogram?: HistogramChoice;
  /** Histograms: the instrument's advice, for exporters that want explicit buckets. */
  advice?: { explicitBucketBoundaries?: number[] };
  /** An observable instrument's stream: only series observed in the latest collection are exported. */
  observable?: boolean;
  /** An instrument holds the stream: it is kept while it has no series. */
  held?: boolean;
  /**
   * The instrument type of a provider's stream, which the exporter's
   * temporality is asked for (the SDK's data carries none: its kind decides).
   */
  instrumentType?: InstrumentType;
}

/** Work that changes the store, as generators run in slices. */
export type Work<T = void> = Generator<void, T, undefined>;

/**
 * Every metric stream of a reader or a provider, and the work on them:
 * collections (folding each series' current delta in), then the retention
 * rules on every series (expiry, window, roll-ups) and the memory budget
 * ({@link enforceBudget}); the export cycle is in exportCycle.ts.
 *
 * Everything proportional to the number of series is a generator that
 * yields between series, run in slices of a few ms. A synchronous reader of
 * the store (a query) calls {@link settle} first, so it never sees half of
 * a collection.
 */
export class MetricStore {
  readonly streams = new Map<string, Stream>();
  readonly stats = new StoreStats();
  readonly layout: SeriesLayout;
  /** The memory every stream's exemplars share (limits.maxExemplarBytes). */
  readonly exemplarBudget: ExemplarBudget;
  /** The resource exports carry. */
  resource: Resource | undefined;
  private readonly _config: StoreConfig;
  private _liveSeries = 0;
  private _lastCollectionMillis = NaN;
  private _collections = 0;
  /** Work on the store under way, which a query finishes first. */
  private _running: SlicedTask<unknown> | undefined;

  constructor(config: StoreConfig) {
    this._config = config;
    this.exemplarBudget = new ExemplarBudget(
      config.limits.maxExemplarBytes,
      this.stats.droppedExemplars,
      config.diag
    );
    const summary = config.summary;
    this.layout = {
      tiers: config.tiers,
      window: summary && {
        slotMillis: summary.windowMillis / summary.slots,
        slots: summary.slots,
      },
    };
  }

  /** When the store started: points that end before it were restored from a snapshot. */
  get startMillis(): number {
    return this._config.startMillis;
  }

  get tiers(): readonly RetentionTier[] {
    return this._config.tiers;
  }

  get limits(): ResolvedLimits {
    return this._config.limits;
  }

  get summary(): ResolvedSummary | undefined {
    return this._config.summary;
  }

  get diag(): RateLimitedDiag {
    return this._config.diag;
  }

  /**
   * The bytes every stream holds now, by part: typed arrays and arena
   * chunks counted whole, which is what `arrayBuffers` grows by. Read from
   * each stream's arenas and columns (no walk over series).
   */
  heldBytes(): HeldBytes {
    const held = noHeldBytes();
    for (const stream of this.streams.values()) stream.addHeldBytes(held);
    return held;
  }

  /** When the latest collection was folded in: what the data covers up to. NaN before one. */
  get lastCollectionMillis(): number {
    return this._lastCollectionMillis;
  }

  /** Collections so far: the latest one's number. */
  get collections(): number {
    return this._collections;
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

  /**
   * Finds or creates a stream; undefined (and counted, reported) when the
   * store holds maxMetrics streams already.
   */
  streamFor(
    scope: Scope,
    descriptor: MetricDescriptor,
    kind: MetricKind,
    isMonotonic: boolean,
    options: StreamOptions = {}
  ): Stream | undefined {
    // A Counter and an UpDownCounter of one name stay two metrics, as in the SDK.
    const key = [
      scope.name,
      scope.version ?? '',
      scope.schemaUrl ?? '',
      descriptor.name,
      kind,
      isMonotonic ? 'monotonic' : '',
    ].join('\u0000');
    let stream = this.streams.get(key);
    if (stream !== undefined) {
      // A stream restored from a snapshot does not know it is an observable's.
      if (options.observable) stream.observable = true;
      if (options.held) stream.held = true;
      return stream;
    }
    if (this.streams.size >= this._config.limits.maxMetrics) {
      this._config.diag.warn(
        'metric_limit',
        `maxMetrics (${this._config.limits.maxMetrics}) reached: data of '${descriptor.name}' is dropped`
      );
      return undefined;
    }
    const temporality = this._config.temporalityOf(
      kind,
      isMonotonic,
      options.instrumentType
    );
    stream = new Stream({
      key,
      scope,
      descriptor,
      isMonotonic,
      temporality,
      // A gauge's state is its last value: no pending data to keep.
      exportsDelta:
        kind !== MetricKind.GAUGE && this._config.isDelta(temporality),
      summarized:
        kind === MetricKind.HISTOGRAM && this._config.summary !== undefined,
      maxSeries: options.maxSeries ?? this._config.limits.maxSeriesPerMetric,
      aggregator: this._aggregatorFor(kind, options.histogram),
      // Observable instruments have no measurement context to sample from.
      exemplars:
        options.observable || this._config.exemplarFilter === 'always_off'
          ? undefined
          : defaultReservoir(
              kind,
              options.histogram,
              this._maxBucketsOf(options.histogram),
              this.exemplarBudget
            ),
      layout: this.layout,
      advice: options.advice,
      observable: options.observable ?? false,
      diag: this._config.diag,
    });
    stream.held = options.held ?? false;
    this.streams.set(key, stream);
    return stream;
  }

  /**
   * A collection as of `nowMillis`: every stream's changed series fold
   * their current delta in, then the retention rules run on every series,
   * then the memory budget.
   */
  *collect(nowMillis: number): Work {
    this._lastCollectionMillis = nowMillis;
    const collection = ++this._collections;
    for (const stream of this.streams.values())
      yield* stream.fold(nowMillis, collection);
    yield* this.maintain(nowMillis);
  }

  /**
   * The retention rules, one series at a time: expiry after the TTL, the
   * window slid, history rolled up and aged out; then the memory budget.
   */
  *maintain(nowMillis: number): Work {
    const ttl = this._config.seriesTtlMillis;
    let liveSeries = 0;
    let historyBytes = 0;
    for (const [key, stream] of this.streams) {
      yield* stream.tracks.compact();
      for (let series = 0; series < stream.idLimit; series++) {
        if (!stream.exists(series)) continue;
        if (stream.maintain(series, nowMillis, ttl, this.stats)) {
          historyBytes += stream.historyBytes(series);
          if (stream.isActive(series)) liveSeries++;
        }
        yield;
      }
      // A stream without series goes, unless an instrument records into it.
      if (stream.activeSeries === 0 && !stream.held && !anySeries(stream))
        this.streams.delete(key);
    }
    this._liveSeries = liveSeries;
    yield* enforceBudget(
      this,
      this._config.limits.maxRetainedBytes,
      historyBytes
    );
  }

  /** The one place a kind picks its aggregation. */
  private _aggregatorFor(
    kind: MetricKind,
    histogram: HistogramChoice | undefined
  ): Aggregator {
    switch (kind) {
      case MetricKind.SUM:
        return new SumAggregator();
      case MetricKind.GAUGE:
        return new GaugeAggregator();
      case MetricKind.HISTOGRAM: {
        const sketch = {
          maxScale: this._config.sketch.maxScale,
          maxBuckets: this._maxBucketsOf(histogram),
        };
        return histogram?.type === 'explicit'
          ? new ExplicitHistogramAggregator(
              sketch,
              this._config.quantiles,
              histogram.boundaries
            )
          : new HistogramAggregator(sketch, this._config.quantiles);
      }
    }
  }

  /** A histogram's buckets per sign: a View's choice, else the store's. */
  private _maxBucketsOf(histogram: HistogramChoice | undefined): number {
    return histogram?.type === 'exponential' &&
      histogram.maxBuckets !== undefined
      ? histogram.maxBuckets
      : this._config.sketch.maxBuckets;
  }
}

function anySeries(stream: Stream): boolean {
  for (let series = 0; series < stream.idLimit; series++)
    if (stream.exists(series)) return true;
  return false;
}
