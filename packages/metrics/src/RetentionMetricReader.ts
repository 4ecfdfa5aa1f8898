import { ExportResultCode, globalErrorHandler } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  AggregationType,
  InstrumentType,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import type {
  CollectionResult,
  MetricCollectOptions,
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import { RateLimitedDiag, SlicedTask } from '@datapunk/otel-common';
import { buildResourceMetrics } from './export/buildResourceMetrics';
import type { SummaryMode } from './export/buildResourceMetrics';
import { acceptsSummaryPoints } from './export/SummaryMetricData';
import { DEFAULTS, resolveOptions } from './options';
import type { ResolvedOptions } from './options';
import { SnapshotFile } from './persistence/SnapshotFile';
import {
  applySnapshot,
  parseSnapshot,
  takeSnapshot,
} from './persistence/snapshot';
import { DirectRecorder } from './direct/DirectRecorder';
import { queryStore } from './query/queryStore';
import { MetricStore } from './store/MetricStore';
import { MetricKind } from './types';
import type {
  QueryOptions,
  QueryResult,
  RetentionMetricReaderOptions,
  Statistic,
} from './types';
import { VERSION } from './version';

const SELF_SCOPE = { name: '@datapunk/otel-metrics', version: VERSION };

/**
 * A MetricReader that adds what the SDK leaves out: series TTL and
 * multi-resolution retention, hard limits that hold in every temporality,
 * percentile summaries (real OTLP Summary points where the exporter carries
 * them), queries over retained data, and snapshots that survive restarts.
 *
 * It takes DELTA data from the SDK on its own timer, so the SDK's memory
 * stays bounded, folds it into its own store, and exports that store in the
 * temporality the exporter asks for (cumulative by default).
 *
 * ```ts
 * const reader = new RetentionMetricReader({ exporter: new OTLPSummaryMetricExporter() });
 * metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
 * ```
 */
export class RetentionMetricReader extends MetricReader {
  private readonly _options: ResolvedOptions;
  private readonly _store: MetricStore;
  /** Background failures go to the SDK's globalErrorHandler, as its own do. */
  private readonly _diag = new RateLimitedDiag(
    'RetentionMetricReader',
    undefined,
    undefined,
    globalErrorHandler
  );
  private readonly _summaryMode: SummaryMode;
  private readonly _statistics = new Map<string, Statistic>();
  private readonly _snapshotFile: SnapshotFile | undefined;
  /** Settles when the snapshot found at construction is restored (or refused). */
  private readonly _restored: Promise<void>;
  private _restoring = false;
  private readonly _startMillis = Date.now();
  private _timers: ReturnType<typeof setInterval>[] = [];
  /** Collections, exports and snapshots run one at a time, in order. */
  private _queue: Promise<unknown> = Promise.resolve();
  /** The one final collect, export and snapshot, however often shutdown is called. */
  private _finalFlush: Promise<void> | undefined;
  /** Instruments the facade records without the SDK (see facade/Instruments.ts). */
  private readonly _direct: DirectRecorder;

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(options: RetentionMetricReaderOptions = {}) {
    const resolved = resolveOptions(options);
    // The facade's directly recorded instruments join every collection as a
    // producer, on the same path as the SDK's data.
    const direct = new DirectRecorder(resolved.limits.maxSeriesPerMetric, {
      maxBuckets: resolved.maxBuckets,
      maxScale: resolved.maxScale,
    });
    super({
      aggregationSelector: type =>
        type === InstrumentType.HISTOGRAM
          ? {
              type: AggregationType.EXPONENTIAL_HISTOGRAM,
              options: { maxSize: resolved.maxBuckets, recordMinMax: true },
            }
          : { type: AggregationType.DEFAULT },
      aggregationTemporalitySelector: () => AggregationTemporality.DELTA,
      // The SDK applies its limit per delta cycle, to whichever sets come
      // first, and would fold data of series we keep into its overflow; with
      // twice ours, only a cycle with more new sets than that does.
      cardinalitySelector: () => 2 * resolved.limits.maxSeriesPerMetric,
      metricProducers: [...resolved.metricProducers, direct],
    });
    this._direct = direct;
    this._options = resolved;
    const summaryExport = resolved.summary?.export ?? 'none';
    this._summaryMode =
      summaryExport === 'auto'
        ? acceptsSummaryPoints(resolved.exporter)
          ? 'summary'
          : 'gauges'
        : summaryExport;
    this._store = new MetricStore({
      startMillis: this._startMillis,
      tiers: resolved.tiers,
      limits: resolved.limits,
      seriesTtlMillis: resolved.seriesTtlMillis,
      summary: resolved.summary,
      factory: {
        sketch: {
          maxBuckets: resolved.maxBuckets,
          maxScale: resolved.maxScale,
        },
        quantiles: resolved.summary?.quantiles ?? DEFAULTS.quantiles,
        summaries: resolved.summary !== undefined,
      },
      temporalityOf: (kind, isMonotonic) =>
        temporalityFor(resolved.exporter, kind, isMonotonic),
      diag: this._diag,
    });
    if (resolved.persistence) {
      this._snapshotFile = new SnapshotFile(
        resolved.persistence,
        this._store.stats.persistenceErrors,
        this._diag
      );
      this._restoring = true;
      this._restored = this._run(() =>
        this._restore(this._snapshotFile!)
      ).catch(error =>
        this._diag.error('restore', `restoring failed: ${String(error)}`)
      );
    } else {
      this._restored = Promise.resolve();
    }
  }

  /**
   * Settles once the snapshot found at construction is restored (or was
   * refused and moved aside). Restoration runs in the background, in slices,
   * so a large snapshot never blocks the host; collections, exports and
   * snapshots wait for it, and queries meanwhile answer with what is
   * restored so far, marked `restoring: true`. Never rejects.
   */
  whenRestored(): Promise<void> {
    return this._restored;
  }

  /**
   * Collects from the SDK now and returns the store as it would be exported
   * (in the exporter's temporality, summaries included), without committing
   * anything as exported.
   */
  override async collect(
    options?: MetricCollectOptions
  ): Promise<CollectionResult> {
    return this._run(async () => {
      const errors = await this._collect(options?.timeoutMillis);
      const resourceMetrics = await this._store.run(this._build(false));
      return { resourceMetrics, errors };
    });
  }

  /**
   * Statistics of `metricName` over retained history: the matching series
   * (all, or those whose attributes include `options.attributes`) merged,
   * each moment taken from the finest tier that still holds it. Data is as
   * of the last collection (one under way is finished first). Undefined for
   * a metric the reader does not hold.
   * @throws {TypeError|RangeError} for invalid arguments.
   */
  query(
    metricName: string,
    options: QueryOptions = {}
  ): QueryResult | undefined {
    const result = queryStore(
      this._store,
      metricName,
      options,
      Date.now(),
      this._statistics,
      this._diag
    );
    if (result !== undefined && this._restoring) result.restoring = true;
    return result;
  }

  /**
   * {@link query}, after collecting from the SDK first: the answer includes
   * everything recorded before the call (query() alone answers as of the
   * last collection, up to collectionIntervalMillis old).
   * @throws {TypeError|RangeError} (as a rejection) for invalid arguments.
   */
  async collectAndQuery(
    metricName: string,
    options: QueryOptions = {}
  ): Promise<QueryResult | undefined> {
    await this._run(() => this._collect());
    return this.query(metricName, options);
  }

  /**
   * Adds a statistic to every query result, computed from the merged data.
   * Returns a handle whose dispose() removes it.
   * @throws {TypeError} for a name already taken or a non-function.
   */
  registerStatistic(name: string, statistic: Statistic): { dispose(): void } {
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      this._statistics.has(name)
    ) {
      throw new TypeError(
        `RetentionMetricReader.registerStatistic: name must be a new non-empty string, got ${JSON.stringify(name)}`
      );
    }
    if (typeof statistic !== 'function') {
      throw new TypeError(
        `RetentionMetricReader.registerStatistic: '${name}' needs a function (input) => number`
      );
    }
    this._statistics.set(name, statistic);
    return { dispose: () => void this._statistics.delete(name) };
  }

  protected override onInitialized(): void {
    const every = (millis: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => {
        this._run(task).catch(error =>
          this._diag.error('timer', `background work failed: ${String(error)}`)
        );
      }, millis);
      timer.unref();
      this._timers.push(timer);
    };
    const {
      collectionIntervalMillis,
      exportIntervalMillis,
      exporter,
      persistence,
    } = this._options;
    every(collectionIntervalMillis, () => this._collect());
    if (exporter) every(exportIntervalMillis, () => this._export());
    if (persistence) every(persistence.intervalMillis, () => this._persist());
  }

  protected override async onForceFlush(): Promise<void> {
    await this._run(() => this._exportOrCollect());
    await this._options.exporter?.forceFlush();
  }

  /** Collects, exports and persists one last time; later calls wait for the first. */
  protected override onShutdown(): Promise<void> {
    this._finalFlush ??= this._shutdownOnce();
    return this._finalFlush;
  }

  private async _shutdownOnce(): Promise<void> {
    for (const timer of this._timers) clearInterval(timer);
    this._timers = [];
    this._direct.close();
    await this._run(async () => {
      try {
        await this._exportOrCollect();
      } catch (error) {
        this._diag.error(
          'shutdown',
          `the final collection failed: ${String(error)}`
        );
      }
      await this._persist(true);
    });
    await this._options.exporter?.shutdown();
  }

  /** Queues work after everything queued before; a failure does not block later work. */
  private _run<T>(task: () => Promise<T>): Promise<T> {
    const result = this._queue.then(task);
    this._queue = result.catch(() => undefined);
    return result;
  }

  private async _exportOrCollect(): Promise<void> {
    if (this._options.exporter) await this._export();
    else await this._collect();
  }

  /** Folds the SDK's deltas in and applies TTL, roll-ups and the memory budget. */
  private async _collect(timeoutMillis?: number): Promise<unknown[]> {
    const { resourceMetrics, errors } = await super.collect({ timeoutMillis });
    const now = Date.now();
    await this._store.run(this._store.fold(resourceMetrics, now));
    await this._store.run(this._store.maintain(now));
    for (const error of errors)
      this._diag.warn(
        'collect_error',
        `part of a collection failed: ${String(error)}`
      );
    return errors;
  }

  /**
   * Collects, then exports. The store's export cycle puts delta data in
   * flight first, drops it when the export succeeds and merges it back when
   * it fails, so a dead collector loses nothing (cumulative data needs no
   * such care).
   */
  private async _export(): Promise<void> {
    const exporter = this._options.exporter!;
    const store = this._store;
    await this._collect(this._options.exportTimeoutMillis);
    const cycle = await store.run(store.beginExport(Date.now()));
    let result: ExportResult = { code: ExportResultCode.FAILED };
    try {
      const metrics = await store.run(this._build(true, cycle.nowMillis));
      result = await exportWithTimeout(
        exporter,
        metrics,
        this._options.exportTimeoutMillis
      );
    } finally {
      await store.run(
        store.endExport(cycle, result.code === ExportResultCode.SUCCESS)
      );
    }
    if (result.code !== ExportResultCode.SUCCESS) {
      const timedOut = result.error instanceof ExportTimeout;
      store.stats.exportFailures.add(timedOut ? 'timeout' : 'error');
      this._diag.error(
        'export',
        `export failed, data kept for the next one: ${String(result.error ?? 'unknown error')}`
      );
    }
  }

  private async _persist(final = false): Promise<void> {
    if (this._snapshotFile === undefined) return;
    const chunks = await this._store.run(
      takeSnapshot(this._store, this._options, Date.now())
    );
    await this._snapshotFile.write(chunks, final);
  }

  /**
   * Restores the snapshot found at construction, in slices: the file is
   * read without blocking, every line checked and decoded (nothing is
   * applied from a malformed snapshot, which is moved aside), then applied
   * one series at a time.
   */
  private async _restore(file: SnapshotFile): Promise<void> {
    try {
      const chunks = await file.read();
      if (chunks === undefined) return;
      let parsed;
      try {
        parsed = await new SlicedTask(
          parseSnapshot(chunks, this._options, Date.now())
        ).run();
      } catch (error) {
        this._store.stats.persistenceErrors.add('read');
        file.moveAside(`it could not be restored: ${(error as Error).message}`);
        return;
      }
      await new SlicedTask(applySnapshot(this._store, parsed)).run();
    } finally {
      this._restoring = false;
    }
  }

  private _build(
    duringExport: boolean,
    nowMillis = Date.now()
  ): Generator<void, ResourceMetrics, undefined> {
    return buildResourceMetrics(this._store, {
      nowMillis,
      startMillis: this._startMillis,
      summary: this._options.summary,
      summaryMode: this._summaryMode,
      duringExport,
      selfScope: SELF_SCOPE,
    });
  }
}

/** The instrument type a stored metric stands for, to ask the exporter's temporality. */
function temporalityFor(
  exporter: PushMetricExporter | undefined,
  kind: MetricKind,
  isMonotonic: boolean
): AggregationTemporality {
  const type =
    kind === MetricKind.HISTOGRAM
      ? InstrumentType.HISTOGRAM
      : kind === MetricKind.GAUGE
        ? InstrumentType.GAUGE
        : isMonotonic
          ? InstrumentType.COUNTER
          : InstrumentType.UP_DOWN_COUNTER;
  return (
    exporter?.selectAggregationTemporality?.(type) ??
    AggregationTemporality.CUMULATIVE
  );
}

class ExportTimeout extends Error {}

/** Exports and resolves with the result; never rejects. */
function exportWithTimeout(
  exporter: PushMetricExporter,
  metrics: ResourceMetrics,
  timeoutMillis: number
): Promise<ExportResult> {
  return new Promise(resolve => {
    const timer = setTimeout(
      () =>
        resolve({
          code: ExportResultCode.FAILED,
          error: new ExportTimeout(
            `export timed out after ${timeoutMillis} ms`
          ),
        }),
      timeoutMillis
    );
    timer.unref();
    const settle = (result: ExportResult) => {
      clearTimeout(timer);
      resolve(result);
    };
    try {
      exporter.export(metrics, settle);
    } catch (error) {
      settle({ code: ExportResultCode.FAILED, error: error as Error });
    }
  });
}
