import type {
  BatchObservableResult,
  Meter,
  MeterOptions,
  MeterProvider,
  ObservableResult,
} from '@opentelemetry/api';
import { defaultResource } from '@opentelemetry/resources';
import type {
  CollectionResult,
  ResourceMetrics,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { OptionReader, describeValue } from '@datapunk/otel-common';
import { resolveOptions, READER_OPTIONS } from '../options';
import { MetricPipeline } from '../pipeline/MetricPipeline';
import { registerPipeline } from '../pipeline/pipelines';
import type {
  QueryOptions,
  QueryResult,
  RetentionMetricReaderOptions,
  Statistic,
} from '../types';
import type { RetentionMeter } from './RetentionMeter';
import { ViewRegistry } from './ViewRegistry';

const OWNER = 'RetentionMeterProvider';

/** The reader's options (but its metric producers), a resource and views. */
export interface RetentionMeterProviderOptions
  extends Omit<RetentionMetricReaderOptions, 'metricProducers'> {
  /** The resource every export carries; default the SDK's default resource. */
  resource?: ResourceMetrics['resource'];
  /**
   * Views: the SDK's ViewOptions, of which this provider honours renaming,
   * descriptions, attribute processors, Drop, aggregationCardinalityLimit
   * and the histogram aggregation (exponential or explicit buckets).
   */
  views?: ViewOptions[];
}

/**
 * An OpenTelemetry MeterProvider that records straight into the retention
 * store: no SDK record path (a measurement is a series look-up, recognised
 * by identity when its attributes object comes again, and an add into
 * typed arrays), the same store, retention, limits, summaries, queries,
 * persistence and exporters as {@link RetentionMetricReader}. Register it
 * with `metrics.setGlobalMeterProvider()` and every instrumentation library
 * records into it.
 *
 * ```ts
 * const provider = new RetentionMeterProvider({ exporter: new OTLPSummaryMetricExporter() });
 * metrics.setGlobalMeterProvider(provider);
 * ```
 */
export class RetentionMeterProvider implements MeterProvider {
  private readonly _pipeline: MetricPipeline;
  private readonly _views: ViewRegistry;
  private readonly _meters = new Map<string, RetentionMeter>();

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(options: RetentionMeterProviderOptions = {}) {
    const given = new OptionReader(OWNER, options, [
      ...READER_OPTIONS.filter(name => name !== 'metricProducers'),
      'resource',
      'views',
    ]);
    const readerOptions: RetentionMetricReaderOptions = {};
    for (const name of READER_OPTIONS) {
      const value = given.raw(name);
      if (value !== undefined) Object.assign(readerOptions, { [name]: value });
    }
    const resolved = resolveOptions(readerOptions, OWNER);
    this._views = new ViewRegistry(given.raw('views'));
    const resource = given.raw('resource') ?? defaultResource();
    if (
      typeof (resource as ResourceMetrics['resource']).attributes !== 'object'
    )
      given.failType(
        'resource',
        'a Resource (from @opentelemetry/resources)',
        resource
      );
    this._pipeline = new MetricPipeline(OWNER, resolved, {
      gather: timeoutMillis => this._observe(timeoutMillis),
    });
    this._pipeline.setResource(resource as ResourceMetrics['resource']);
    registerPipeline(this, this._pipeline);
    this._pipeline.start();
  }

  /**
   * The meter of an instrumentation scope (one per name, version and
   * schema URL). A name that is not a non-empty string is reported and
   * replaced by '', as the SDK does.
   */
  getMeter(name: string, version = '', options: MeterOptions = {}): Meter {
    if (typeof name !== 'string' || name === '') {
      this._pipeline.diag.warn(
        'meter_name',
        `getMeter() needs a non-empty string name, got ${describeValue(name)}; using ''`
      );
      name = '';
    }
    const schemaUrl =
      typeof options?.schemaUrl === 'string' ? options.schemaUrl : undefined;
    const key = `${name}\u0000${version}\u0000${schemaUrl ?? ''}`;
    let meter = this._meters.get(key);
    if (meter === undefined) {
      meter = this._pipeline.meter(
        { name, version: version || undefined, schemaUrl },
        this._views
      );
      this._meters.set(key, meter);
    }
    return meter;
  }

  /** See RetentionMetricReader.query. */
  query(metricName: string, options?: QueryOptions): QueryResult | undefined {
    return this._pipeline.query(metricName, options);
  }

  /** See RetentionMetricReader.collectAndQuery. */
  collectAndQuery(
    metricName: string,
    options?: QueryOptions
  ): Promise<QueryResult | undefined> {
    return this._pipeline.collectAndQuery(metricName, options);
  }

  /** See RetentionMetricReader.registerStatistic. */
  registerStatistic(name: string, statistic: Statistic): { dispose(): void } {
    return this._pipeline.registerStatistic(OWNER, name, statistic);
  }

  /** See RetentionMetricReader.whenRestored. */
  whenRestored(): Promise<void> {
    return this._pipeline.whenRestored();
  }

  /**
   * Collects now and returns what an export would carry (nothing is
   * committed as exported): for tests, previews and other exporters.
   */
  collect(): Promise<CollectionResult> {
    return this._pipeline.collect();
  }

  /** Collects and exports now. */
  forceFlush(): Promise<void> {
    return this._pipeline.forceFlush();
  }

  /** Collects, exports and persists one last time; later calls wait for the first. */
  shutdown(): Promise<void> {
    return this._pipeline.shutdown();
  }

  /**
   * Runs every observable callback once; async ones are awaited up to the
   * collection's timeout. A callback that throws or times out is counted
   * and reported, and the others' observations are kept.
   */
  private async _observe(
    timeoutMillis: number | undefined
  ): Promise<unknown[]> {
    const errors: unknown[] = [];
    const pending: Promise<void>[] = [];
    const stats = this._pipeline.store.stats;
    for (const meter of this._meters.values()) {
      for (const [callback, result] of meter.callbacks()) {
        try {
          const returned = (
            callback as (r: ObservableResult | BatchObservableResult) => unknown
          )(result);
          if (isThenable(returned))
            pending.push(
              Promise.resolve(returned).then(
                () => undefined,
                error => {
                  stats.callbackErrors.add('error');
                  errors.push(error);
                }
              )
            );
        } catch (error) {
          stats.callbackErrors.add('error');
          errors.push(error);
        }
      }
    }
    if (pending.length > 0) {
      const limit = timeoutMillis ?? this._pipeline.options.exportTimeoutMillis;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<'timeout'>(resolve => {
        timer = setTimeout(() => resolve('timeout'), limit);
        timer.unref();
      });
      const outcome = await Promise.race([Promise.all(pending), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        stats.callbackErrors.add('timeout');
        errors.push(
          new Error(`observable callbacks did not settle within ${limit} ms`)
        );
      }
    }
    return errors;
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return typeof (value as { then?: unknown } | null)?.then === 'function';
  } catch {
    return false;
  }
}
