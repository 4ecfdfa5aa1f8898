import { diag, metrics as metricsApi } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import { ConsoleMetricExporter } from '@opentelemetry/sdk-metrics';
import type {
  PushMetricExporter,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { OptionReader } from '@datapunk/otel-common';
import { FanOutExporter } from './export/FanOutExporter';
import type * as OtlpEntry from './export/otlp';
import type * as PrometheusEntry from './export/prometheus';
import type {
  PrometheusScrapeServer,
  PrometheusScrapeServerOptions,
} from './export/prometheus';
import { readHistogramBoundaries } from './export/prometheus/histogramBoundaries';
import { Instruments } from './facade/Instruments';
import { READER_OPTIONS } from './options';
import { RetentionMeterProvider } from './provider/RetentionMeterProvider';
import type { RetentionMetricReaderOptions } from './types';

/** The conventional Prometheus exporter address (OpenTelemetry and Prometheus agree). */
const DEFAULT_PROMETHEUS_PORT = 9464;
const DEFAULT_PROMETHEUS_HOST = 'localhost';

export type ExporterChoice = 'otlp' | 'console' | 'prometheus' | 'none';
const CHOICES: readonly ExporterChoice[] = [
  'otlp',
  'console',
  'prometheus',
  'none',
];
const OWNER = 'setupMetrics';
const SETUP_OPTIONS: readonly (keyof SetupMetricsOptions)[] = [
  'serviceName',
  'resourceAttributes',
  'exporter',
  'prometheus',
  'views',
  'global',
  'meterName',
];

export interface SetupMetricsOptions
  extends Omit<RetentionMetricReaderOptions, 'exporter'> {
  /** The `service.name` resource attribute; default OTEL_SERVICE_NAME or the SDK's. */
  serviceName?: string;
  /** More resource attributes (OTEL_RESOURCE_ATTRIBUTES is read as well). */
  resourceAttributes?: Attributes;
  /**
   * Where metrics go: one or more of 'otlp', 'console', 'prometheus'
   * (a scrape endpoint) and 'none', or an exporter. Default: the
   * comma-separated OTEL_METRICS_EXPORTER (unknown names are reported and
   * skipped, as the SDK does); unset, 'otlp' when OTEL_EXPORTER_OTLP_ENDPOINT
   * or OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, otherwise 'none' (data
   * stays in the provider's store, for queries and snapshots).
   */
  exporter?: ExporterChoice | ExporterChoice[] | PushMetricExporter;
  /**
   * The 'prometheus' scrape endpoint: where it listens (default
   * OTEL_EXPORTER_PROMETHEUS_HOST and OTEL_EXPORTER_PROMETHEUS_PORT, else
   * localhost:9464, path /metrics) and its classic histogram boundaries.
   */
  prometheus?: { host?: string; port?: number; histogramBoundaries?: number[] };
  /** Views (the subset RetentionMeterProvider honours). */
  views?: ViewOptions[];
  /** Register the provider as the global MeterProvider. Default true. */
  global?: boolean;
  /** The meter the returned instruments use. Default 'app'. */
  meterName?: string;
}

export interface MetricsSetup {
  /**
   * The provider (registered as the global one unless `global: false`):
   * also where retained data is queried (`query`, `collectAndQuery`).
   */
  meterProvider: RetentionMeterProvider;
  /** The five metric types (counter, gauge, histogram, summary, timer) on the meter `meterName`. */
  instruments: Instruments;
  /** With 'prometheus': the scrape endpoint. */
  prometheus: PrometheusScrapeServer | undefined;
  /** Flushes and stops everything (the provider exports and persists one last time). */
  shutdown(): Promise<void>;
}

/**
 * A {@link RetentionMeterProvider} exporting as the
 * standard OTEL_* environment variables say, the SDK's conventions:
 * OTEL_METRICS_EXPORTER (otlp, console, prometheus, none, comma-separated),
 * OTEL_METRIC_EXPORT_INTERVAL and OTEL_METRIC_EXPORT_TIMEOUT (when the
 * options do not give them), OTEL_EXPORTER_OTLP_* (OTLP/HTTP, JSON or
 * protobuf, with real Summary points), OTEL_EXPORTER_PROMETHEUS_HOST/PORT,
 * OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES. A variable with a value it
 * cannot use is reported through diag and ignored.
 * @throws {TypeError|RangeError} naming the option, for invalid options.
 */
export function setupMetrics(options: SetupMetricsOptions = {}): MetricsSetup {
  const given = new OptionReader(OWNER, options, [
    ...SETUP_OPTIONS,
    ...READER_OPTIONS,
  ]);
  const serviceName =
    given.raw('serviceName') == null ? undefined : given.string('serviceName');
  const resourceAttributes = given.attributes('resourceAttributes');
  const exporter = given.raw('exporter') as SetupMetricsOptions['exporter'];
  const prometheusOptions = resolvePrometheus(given);
  const views = given.raw('views') ?? [];
  if (!Array.isArray(views))
    given.failType('views', 'an array of ViewOptions', views);
  const global = given.boolean('global', true);
  const meterName = given.string('meterName', 'app');
  const readerOptions: RetentionMetricReaderOptions = {};
  for (const name of READER_OPTIONS) {
    const value = given.raw(name);
    if (value != null) Object.assign(readerOptions, { [name]: value });
  }
  const choices = exporterChoices(exporter);
  const pushExporters = choices.flatMap((choice): PushMetricExporter[] =>
    choice === 'otlp'
      ? [createOtlpExporter()]
      : choice === 'console'
        ? [new ConsoleMetricExporter()]
        : []
  );
  let resource = defaultResource().merge(
    detectResources({ detectors: [envDetector] })
  );
  resource = resource.merge(resourceFromAttributes(resourceAttributes));
  if (serviceName)
    resource = resource.merge(
      resourceFromAttributes({ 'service.name': serviceName })
    );
  const meterProvider = new RetentionMeterProvider({
    exportIntervalMillis: fromEnv('OTEL_METRIC_EXPORT_INTERVAL'),
    exportTimeoutMillis: fromEnv('OTEL_METRIC_EXPORT_TIMEOUT'),
    ...readerOptions,
    exporter:
      typeof exporter === 'object' && !Array.isArray(exporter)
        ? exporter
        : pushExporters.length > 1
          ? new FanOutExporter(pushExporters)
          : pushExporters[0],
    resource,
    views: views as ViewOptions[],
  });
  const prometheus = choices.includes('prometheus')
    ? createScrapeServer(meterProvider, {
        host:
          prometheusOptions.host ??
          process.env.OTEL_EXPORTER_PROMETHEUS_HOST ??
          DEFAULT_PROMETHEUS_HOST,
        port:
          prometheusOptions.port ??
          fromEnv('OTEL_EXPORTER_PROMETHEUS_PORT', true) ??
          DEFAULT_PROMETHEUS_PORT,
        histogramBoundaries: prometheusOptions.histogramBoundaries,
      })
    : undefined;
  if (global) metricsApi.setGlobalMeterProvider(meterProvider);
  return {
    meterProvider,
    instruments: new Instruments(meterProvider.getMeter(meterName)),
    prometheus,
    async shutdown() {
      await meterProvider.shutdown();
      await prometheus?.close();
      if (global) metricsApi.disable();
    },
  };
}

/** `prometheus: { host, port, histogramBoundaries }`, checked now (a bad port would fail only when listening). */
function resolvePrometheus(given: OptionReader): {
  host: string | undefined;
  port: number | undefined;
  histogramBoundaries: number[] | undefined;
} {
  const prometheus = given.nested('prometheus', [
    'host',
    'port',
    'histogramBoundaries',
  ]);
  return {
    host:
      prometheus.raw('host') == null ? undefined : prometheus.string('host'),
    port:
      prometheus.raw('port') == null
        ? undefined
        : prometheus.integer('port', undefined, { min: 0, max: 65535 }),
    histogramBoundaries:
      prometheus.raw('histogramBoundaries') == null
        ? undefined
        : readHistogramBoundaries(prometheus),
  };
}

/** The OTLP exporter, loaded only when asked for (its packages are optional peers). */
function createOtlpExporter(): PushMetricExporter {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const otlp: typeof OtlpEntry = require('./export/otlp');
  return new otlp.OTLPSummaryMetricExporter();
}

/** The scrape endpoint, loaded only when asked for. */
function createScrapeServer(
  meterProvider: RetentionMeterProvider,
  options: PrometheusScrapeServerOptions
): PrometheusScrapeServer {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const prometheus: typeof PrometheusEntry = require('./export/prometheus');
  return new prometheus.PrometheusScrapeServer(meterProvider, options);
}

/**
 * The exporters asked for: the option (checked: a bad one throws), else
 * OTEL_METRICS_EXPORTER (a bad name is reported and skipped), else otlp when
 * an OTLP endpoint is set. 'none' with others means none, as in the SDK.
 */
function exporterChoices(
  given: SetupMetricsOptions['exporter']
): ExporterChoice[] {
  if (typeof given === 'object' && !Array.isArray(given)) return [];
  let choices: string[];
  if (given !== undefined) {
    const reader = new OptionReader(OWNER, { exporter: given }, ['exporter']);
    choices = Array.isArray(given) ? given : [given];
    for (const choice of choices) {
      if (!CHOICES.includes(choice as ExporterChoice))
        reader.fail(
          'exporter',
          `must be one of ${CHOICES.map(c => `'${c}'`).join(', ')} (or a list of them)`,
          choice
        );
    }
  } else {
    const env = process.env;
    const list = env.OTEL_METRICS_EXPORTER?.trim();
    if (!list) {
      const endpoint =
        env.OTEL_EXPORTER_OTLP_ENDPOINT ||
        env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT;
      return endpoint ? ['otlp'] : [];
    }
    choices = list
      .split(',')
      .map(name => name.trim().toLowerCase())
      .filter(name => {
        const known = CHOICES.includes(name as ExporterChoice);
        if (!known)
          diag.warn(
            `${OWNER}: OTEL_METRICS_EXPORTER names an exporter it does not know, '${name}' (known: ${CHOICES.join(', ')}); it is skipped`
          );
        return known;
      });
  }
  const unique = [...new Set(choices)] as ExporterChoice[];
  if (unique.includes('none')) {
    if (unique.length > 1)
      diag.warn(
        `${OWNER}: exporter 'none' given with others (${unique.join(', ')}): nothing is exported`
      );
    return [];
  }
  return unique;
}

/** A positive integer from an environment variable; undefined (reported) if it is not one. */
function fromEnv(name: string, port = false): number | undefined {
  const text = process.env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (Number.isInteger(value) && value > 0 && (!port || value < 65536))
    return value;
  diag.warn(
    `${OWNER}: ${name}=${JSON.stringify(text)} is not ${port ? 'a port' : 'a positive integer of milliseconds'}; it is ignored`
  );
  return undefined;
}
