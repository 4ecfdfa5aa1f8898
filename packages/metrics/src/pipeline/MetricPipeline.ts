import { ExportResultCode, globalErrorHandler } from '@opentelemetry/core';
import type { ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InstrumentType,
} from '@opentelemetry/sdk-metrics';
import type {
  PushMetricExporter,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  AttributeReader,
  RateLimitedDiag,
  SlicedTask,
} from '@datapunk/otel-common';
import { eligibilityOf } from '../exemplars/ExemplarFilter';
import type { ExemplarEligibility } from '../exemplars/ExemplarFilter';
import {
  buildResourceMetrics,
  CollectionBatches,
} from '../export/buildResourceMetrics';
import type { BuildContext, SummaryMode } from '../export/buildResourceMetrics';
import { acceptsSummaryPoints } from '../export/SummaryMetricData';
import { DEFAULTS } from '../options';
import type { ResolvedOptions } from '../options';
import { SnapshotFile } from '../persistence/SnapshotFile';
import {
  applySnapshot,
  parseSnapshot,
  takeSnapshot,
} from '../persistence/snapshot';
import { queryStore } from '../query/queryStore';
import { allSeries, beginExport, endExport } from '../store/exportCycle';
import { MetricStore } from '../store/MetricStore';
import type { Resource } from '../store/MetricStore';
import type { Scope } from '../store/Stream';
import { RetentionMeter } from '../provider/RetentionMeter';
import { ViewRegistry } from '../provider/ViewRegistry';
import { MetricKind } from '../types';
import type { QueryOptions, QueryResult, Statistic } from '../types';
import { VERSION } from '../version';

const SELF_SCOPE = { name: '@datapunk/otel-metrics', version: VERSION };
/** Meters of the facade over a reader's store: the SDK's Views do not reach it. */
const NO_VIEWS = new ViewRegistry(undefined);

/** Where a collection's data comes from, besides what was recorded straight into the store. */
export interface DataSource {
  /**
   * Puts what the source holds into the store's current deltas (the SDK's
   * collection, observable callbacks); returns errors it met.
   */
  gather(timeoutMillis: number | undefined): Promise<unknown[]>;
}

/** A collection as an exporter would receive it. */
export interface Collection {
  resourceMetrics: ResourceMetrics;
  errors: unknown[];
}

/**
 * What the retention reader and the retention meter provider share: the
 * store, its collection and export cycle on timers (one at a time, in
 * order, each in slices), snapshots on disk, queries and custom
 * statistics. They differ only in where data comes from
 * ({@link DataSource}).
 */
export class MetricPipeline {
  readonly store: MetricStore;
  readonly options: ResolvedOptions;
  /** Background failures go to the SDK's globalErrorHandler, as its own do. */
  readonly diag: RateLimitedDiag;
  private readonly _source: DataSource;
  private readonly _attributeReader: AttributeReader;
  /** Undefined for 'always_off': instruments do nothing for exemplars. */
  private readonly _exemplars: ExemplarEligibility | undefined;
  private readonly _summaryMode: SummaryMode;
  private readonly _statistics = new Map<string, Statistic>();
  private readonly _snapshotFile: SnapshotFile | undefined;
  private readonly _startMillis: number;
  private readonly _restored: Promise<void>;
  private _restoring = false;
  private _timers: ReturnType<typeof setInterval>[] = [];
  /** Collections, exports and snapshots run one at a time, in order. */
  private _queue: Promise<unknown> = Promise.resolve();
  /** The one final collect, export and snapshot, however often shutdown is called. */
  private _finalFlush: Promise<void> | undefined;
  private _closed = false;

  constructor(
    owner: string,
    options: ResolvedOptions,
    source: DataSource,
    startMillis = Date.now()
  ) {
    this.options = options;
    this._source = source;
    this._startMillis = startMillis;
    this.diag = new RateLimitedDiag(
      owner,
      undefined,
      undefined,
      globalErrorHandler
    );
    this._attributeReader = new AttributeReader(options.limits);
    const summaryExport = options.summary?.export ?? 'none';
    this._summaryMode =
      summaryExport === 'auto'
        ? acceptsSummaryPoints(options.exporter)
          ? 'summary'
          : 'gauges'
        : summaryExport;
    this.store = new MetricStore({
      startMillis,
      tiers: options.tiers,
      limits: options.limits,
      seriesTtlMillis: options.seriesTtlMillis,
      summary: options.summary,
      sketch: { maxBuckets: options.maxBuckets, maxScale: options.maxScale },
      quantiles: options.summary?.quantiles ?? DEFAULTS.quantiles,
      temporalityOf: (kind, isMonotonic, instrumentType) =>
        temporalityFor(options.exporter, kind, isMonotonic, instrumentType),
      isDelta: temporality => temporality === AggregationTemporality.DELTA,
      exemplarFilter: options.exemplarFilter,
      diag: this.diag,
    });
    this._exemplars = eligibilityOf(
      options.exemplarFilter,
      this.store.exemplarBudget
    );
    if (options.persistence) {
      this._snapshotFile = new SnapshotFile(
        options.persistence,
        this.store.stats.persistenceErrors,
        this.diag
      );
      this._restoring = true;
      this._restored = this._run(() =>
        this._restore(this._snapshotFile!)
      ).catch(error =>
        this.diag.error('restore', `restoring failed: ${String(error)}`)
      );
    } else {
      this._restored = Promise.resolve();
    }
  }

  /** Whether shutdown has begun: measurements are no longer kept. */
  get closed(): boolean {
    return this._closed;
  }

  /** Where a new series' data starts: the latest collection (or the start). */
  sinceMillis(): number {
    const collected = this.store.lastCollectionMillis;
    return Number.isNaN(collected) ? this._startMillis : collected;
  }

  /**
   * A meter over this pipeline's store: a provider's (with its Views), or
   * the one the Instruments facade records into a reader's store with.
   */
  meter(scope: Scope, views = NO_VIEWS): RetentionMeter {
    return new RetentionMeter(scope, {
      store: this.store,
      views,
      attributeReader: this._attributeReader,
      exemplars: this._exemplars,
      diag: this.diag,
      sinceMillis: () => this.sinceMillis(),
      closed: () => this._closed,
    });
  }

  /** The resource exports carry. */
  setResource(resource: Resource): void {
    this.store.resource = resource;
  }

  /** Starts the timers: collection, export, snapshots. */
  start(): void {
    const every = (millis: number, task: () => Promise<unknown>) => {
      const timer = setInterval(() => {
        this._run(task).catch(error =>
          this.diag.error('timer', `background work failed: ${String(error)}`)
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
    } = this.options;
    every(collectionIntervalMillis, () => this._collect());
    if (exporter) every(exportIntervalMillis, () => this._export());
    if (persistence) every(persistence.intervalMillis, () => this._persist());
  }

  /** See RetentionMetricReader.whenRestored. */
  whenRestored(): Promise<void> {
    return this._restored;
  }

  /**
   * Collects now and returns the store as it would be exported (in the
   * exporter's temporality, summaries included), committing nothing as
   * exported: one object graph of every series, for tests and previews.
   */
  collect(timeoutMillis?: number): Promise<Collection> {
    return this._run(async () => {
      const errors = await this._collect(timeoutMillis);
      const resourceMetrics = await this.store.run(
        buildResourceMetrics(this.store, this._context(false, Date.now()))
      );
      return { resourceMetrics, errors };
    });
  }

  /**
   * Collects now and hands what a scrape shows to `consume` in batches of
   * `batchSize` points, each dropped before the next is built; summaries
   * are Summary points whatever the exporter takes (unless summary.export
   * is 'none'). Returns the errors the collection met.
   */
  collectForScrape(
    batchSize: number,
    consume: (metrics: ResourceMetrics) => Promise<void>
  ): Promise<unknown[]> {
    const summaryMode = this._summaryMode === 'none' ? 'none' : 'summary';
    return this._run(async () => {
      const errors = await this._collect();
      const batches = new CollectionBatches(
        this.store,
        this._context(false, Date.now(), summaryMode),
        batchSize
      );
      for (
        let batch = await this.store.run(batches.next());
        batch !== undefined;
        batch = await this.store.run(batches.next())
      )
        await consume(batch.resourceMetrics);
      return errors;
    });
  }

  query(
    metricName: string,
    options: QueryOptions = {}
  ): QueryResult | undefined {
    const result = queryStore(
      this.store,
      metricName,
      options,
      Date.now(),
      this._statistics,
      this.diag
    );
    if (result !== undefined && this._restoring) result.restoring = true;
    return result;
  }

  async collectAndQuery(
    metricName: string,
    options: QueryOptions = {}
  ): Promise<QueryResult | undefined> {
    await this._run(() => this._collect());
    return this.query(metricName, options);
  }

  registerStatistic(
    owner: string,
    name: string,
    statistic: Statistic
  ): { dispose(): void } {
    if (
      typeof name !== 'string' ||
      name.length === 0 ||
      this._statistics.has(name)
    ) {
      throw new TypeError(
        `${owner}.registerStatistic: name must be a new non-empty string, got ${JSON.stringify(name)}`
      );
    }
    if (typeof statistic !== 'function') {
      throw new TypeError(
        `${owner}.registerStatistic: '${name}' needs a function (input) => number`
      );
    }
    this._statistics.set(name, statistic);
    return { dispose: () => void this._statistics.delete(name) };
  }

  async forceFlush(): Promise<void> {
    await this._run(() => this._exportOrCollect());
    await this.options.exporter?.forceFlush();
  }

  /** Collects, exports and persists one last time; later calls wait for the first. */
  shutdown(): Promise<void> {
    this._finalFlush ??= this._shutdownOnce();
    return this._finalFlush;
  }

  private async _shutdownOnce(): Promise<void> {
    for (const timer of this._timers) clearInterval(timer);
    this._timers = [];
    await this._run(async () => {
      try {
        await this._exportOrCollect();
      } catch (error) {
        this.diag.error(
          'shutdown',
          `the final collection failed: ${String(error)}`
        );
      }
      this._closed = true;
      await this._persist(true);
    });
    await this.options.exporter?.shutdown();
  }

  /** Queues work after everything queued before; a failure does not block later work. */
  private _run<T>(task: () => Promise<T>): Promise<T> {
    const result = this._queue.then(task);
    // The queue keeps neither results nor errors alive (a collection is a
    // large object graph).
    this._queue = result.then(
      () => undefined,
      () => undefined
    );
    return result;
  }

  private async _exportOrCollect(): Promise<void> {
    if (this.options.exporter) await this._export();
    else await this._collect();
  }

  /** Gathers from the source, then folds every current delta in and applies retention. */
  private async _collect(timeoutMillis?: number): Promise<unknown[]> {
    const errors = await this._source.gather(timeoutMillis);
    await this.store.run(this.store.collect(Date.now()));
    for (const error of errors)
      this.diag.warn(
        'collect_error',
        `part of a collection failed: ${String(error)}`
      );
    return errors;
  }

  /**
   * Collects, then exports in batches of maxExportBatchSize points, one
   * request after the other; a failure stops the export. Delta data is put
   * in flight first, dropped for each batch sent and merged back for what
   * was not, so a dead collector loses nothing.
   */
  private async _export(): Promise<void> {
    const exporter = this.options.exporter!;
    const store = this.store;
    const { exportTimeoutMillis, maxExportBatchSize } = this.options;
    await this._collect(exportTimeoutMillis);
    const nowMillis = Date.now();
    const deadline = performance.now() + exportTimeoutMillis;
    await store.run(beginExport(store, nowMillis));
    const batches = new CollectionBatches(
      store,
      this._context(true, nowMillis),
      maxExportBatchSize
    );
    let result: ExportResult = { code: ExportResultCode.FAILED };
    try {
      for (;;) {
        const batch = await store.run(batches.next());
        if (batch === undefined) break;
        result = { code: ExportResultCode.FAILED };
        try {
          result = await exportWithTimeout(
            exporter,
            batch.resourceMetrics,
            Math.max(0, deadline - performance.now()),
            exportTimeoutMillis
          );
        } finally {
          await store.run(
            endExport(batch.ranges, result.code === ExportResultCode.SUCCESS)
          );
        }
        if (result.code !== ExportResultCode.SUCCESS) break;
      }
    } finally {
      // What no batch carried (after a failure) waits for the next export.
      if (result.code !== ExportResultCode.SUCCESS)
        await store.run(endExport(allSeries(store), false));
    }
    if (result.code !== ExportResultCode.SUCCESS) {
      const timedOut = result.error instanceof ExportTimeout;
      store.stats.exportFailures.add(timedOut ? 'timeout' : 'error');
      this.diag.error(
        'export',
        `export failed, data kept for the next one: ${String(result.error ?? 'unknown error')}`
      );
    }
  }

  private async _persist(final = false): Promise<void> {
    if (this._snapshotFile === undefined) return;
    const chunks = await this.store.run(
      takeSnapshot(this.store, this.options, Date.now())
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
          parseSnapshot(chunks, this.options, Date.now())
        ).run();
      } catch (error) {
        this.store.stats.persistenceErrors.add('read');
        file.moveAside(`it could not be restored: ${(error as Error).message}`);
        return;
      }
      await new SlicedTask(applySnapshot(this.store, parsed)).run();
    } finally {
      this._restoring = false;
    }
  }

  private _context(
    duringExport: boolean,
    nowMillis: number,
    summaryMode = this._summaryMode
  ): BuildContext {
    return {
      nowMillis,
      startMillis: this._startMillis,
      summary: this.options.summary,
      summaryMode,
      duringExport,
      selfScope: SELF_SCOPE,
    };
  }
}

/**
 * The exporter's temporality for an instrument type: the one given, else
 * the one a stored metric's kind stands for.
 */
function temporalityFor(
  exporter: PushMetricExporter | undefined,
  kind: MetricKind,
  isMonotonic: boolean,
  instrumentType: InstrumentType | undefined
): AggregationTemporality {
  const type =
    instrumentType ??
    (kind === MetricKind.HISTOGRAM
      ? InstrumentType.HISTOGRAM
      : kind === MetricKind.GAUGE
        ? InstrumentType.GAUGE
        : isMonotonic
          ? InstrumentType.COUNTER
          : InstrumentType.UP_DOWN_COUNTER);
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
  remainingMillis: number,
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
      remainingMillis
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
