import { metrics as metricsApi } from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from '@opentelemetry/resources';
import {
  ConsoleMetricExporter,
  MeterProvider,
} from '@opentelemetry/sdk-metrics';
import type {
  PushMetricExporter,
  ViewOptions,
} from '@opentelemetry/sdk-metrics';
import { OptionReader } from '@datapunk/otel-common';
import { OTLPSummaryMetricExporter } from './export/OTLPSummaryMetricExporter';
import { Metrics } from './facade/Metrics';
import { RetentionMetricReader } from './RetentionMetricReader';
import type { RetentionMetricReaderOptions } from './types';

export type ExporterChoice = 'otlp' | 'console' | 'none';

export interface SetupMetricsOptions
  extends Omit<RetentionMetricReaderOptions, 'exporter'> {
  /** The `service.name` resource attribute; default OTEL_SERVICE_NAME or the SDK's. */
  serviceName?: string;
  /** More resource attributes (OTEL_RESOURCE_ATTRIBUTES is read as well). */
  resourceAttributes?: Attributes;
  /**
   * Where metrics go. Default: OTEL_METRICS_EXPORTER (otlp, console or
   * none); unset, 'otlp' when OTEL_EXPORTER_OTLP_ENDPOINT or
   * OTEL_EXPORTER_OTLP_METRICS_ENDPOINT is set, otherwise 'none' (data stays
   * in the reader, for queries and snapshots).
   */
  exporter?: ExporterChoice | PushMetricExporter;
  /** Views for the MeterProvider. */
  views?: ViewOptions[];
  /** Register the provider as the global MeterProvider. Default true. */
  global?: boolean;
  /** The meter the returned facade uses. Default 'app'. */
  meterName?: string;
}

export interface MetricsSetup {
  meterProvider: MeterProvider;
  reader: RetentionMetricReader;
  /** The five metric types on the meter `meterName`. */
  metrics: Metrics;
  /** Flushes and stops everything (the reader exports and persists one last time). */
  shutdown(): Promise<void>;
}

/**
 * A MeterProvider with a {@link RetentionMetricReader} exporting over
 * OTLP/HTTP (JSON or protobuf, with real Summary points) as configured by
 * the standard OTEL_* environment variables.
 * @throws {TypeError|RangeError} naming the option or variable, for invalid configuration.
 */
export function setupMetrics(options: SetupMetricsOptions = {}): MetricsSetup {
  const {
    serviceName,
    resourceAttributes,
    exporter,
    views,
    global = true,
    meterName = 'app',
    ...readerOptions
  } = options;
  const reader = new RetentionMetricReader({
    ...readerOptions,
    exporter: resolveExporter(exporter),
  });
  let resource = defaultResource().merge(
    detectResources({ detectors: [envDetector] })
  );
  if (resourceAttributes)
    resource = resource.merge(resourceFromAttributes(resourceAttributes));
  if (serviceName)
    resource = resource.merge(
      resourceFromAttributes({ 'service.name': serviceName })
    );
  const meterProvider = new MeterProvider({
    resource,
    readers: [reader],
    views,
  });
  if (global) metricsApi.setGlobalMeterProvider(meterProvider);
  return {
    meterProvider,
    reader,
    metrics: new Metrics(meterProvider.getMeter(meterName)),
    async shutdown() {
      await meterProvider.shutdown();
      if (global) metricsApi.disable();
    },
  };
}

function resolveExporter(
  given: ExporterChoice | PushMetricExporter | undefined
): PushMetricExporter | undefined {
  if (typeof given === 'object') return given;
  const env = process.env;
  const hasEndpoint = Boolean(
    env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT
  );
  const source = given !== undefined ? 'exporter' : 'OTEL_METRICS_EXPORTER';
  const value =
    given ??
    env.OTEL_METRICS_EXPORTER?.split(',')[0]?.trim() ??
    (hasEndpoint ? 'otlp' : 'none');
  const choice = new OptionReader('setupMetrics', { [source]: value }, [
    source,
  ]).oneOf<ExporterChoice>(source, ['otlp', 'console', 'none'], 'none');
  switch (choice) {
    case 'otlp':
      return new OTLPSummaryMetricExporter();
    case 'console':
      return new ConsoleMetricExporter();
    case 'none':
      return undefined;
  }
}
