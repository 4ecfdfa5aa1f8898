import type { OTLPMetricExporterOptions } from '@opentelemetry/exporter-metrics-otlp-http';
import { OptionReader } from '@datapunk/otel-common';
import type { SummaryCapableExporter } from '../SummaryMetricData';
import { loadOtlpPackages } from './otlpPackages';
import { createExemplarSerializer } from './exemplarSerializer';
import { createSummarySerializer } from './summarySerializer';

// This module is loaded only when OTLP export is used (from the
// '@datapunk/otel-metrics/otlp' entry, or by setupMetrics for 'otlp').
const { exporter, exporterBase, transformer } = loadOtlpPackages();

export type OTLPHttpProtocol = 'http/json' | 'http/protobuf';

export interface OTLPSummaryMetricExporterOptions
  extends OTLPMetricExporterOptions {
  /** Default: OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, OTEL_EXPORTER_OTLP_PROTOCOL, else 'http/protobuf'. */
  protocol?: OTLPHttpProtocol;
}

const PROTOCOLS: readonly OTLPHttpProtocol[] = ['http/json', 'http/protobuf'];

/**
 * The SDK's OTLP/HTTP metric exporter (same endpoint, headers, timeout,
 * compression, retries and `OTEL_EXPORTER_OTLP_*` variables), in JSON or
 * protobuf, that also sends the reader's percentile summaries as real OTLP
 * Summary points, and the exemplars points carry (on sums, gauges and
 * histograms), which the SDK's serializer leaves out.
 */
export class OTLPSummaryMetricExporter
  extends exporter.OTLPMetricExporterBase
  implements SummaryCapableExporter
{
  readonly acceptsSummaryPoints = true;
  readonly protocol: OTLPHttpProtocol;

  /** @throws {TypeError|RangeError} for an unknown protocol (option or environment). */
  constructor(config: OTLPSummaryMetricExporterOptions = {}) {
    const protocol = resolveProtocol(config.protocol);
    const json = protocol === 'http/json';
    super(
      exporterBase.createOtlpHttpExportDelegate(
        exporterBase.convertLegacyHttpOptions(config, 'METRICS', 'v1/metrics', {
          'Content-Type': json ? 'application/json' : 'application/x-protobuf',
        }),
        createSummarySerializer(
          createExemplarSerializer(
            json
              ? transformer.JsonMetricsSerializer
              : transformer.ProtobufMetricsSerializer,
            json ? 'json' : 'protobuf'
          ),
          json ? 'json' : 'protobuf'
        ),
        'datapunk_otlp_summary_metric_exporter',
        transformer.MetricsExporterMetricsHelper,
        undefined
      ),
      config
    );
    this.protocol = protocol;
  }
}

function resolveProtocol(given: string | undefined): OTLPHttpProtocol {
  const fromEnv =
    process.env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ||
    process.env.OTEL_EXPORTER_OTLP_PROTOCOL;
  const source =
    given !== undefined ? 'protocol' : 'OTEL_EXPORTER_OTLP_(METRICS_)PROTOCOL';
  const options = new OptionReader(
    'OTLPSummaryMetricExporter',
    { [source]: given ?? fromEnv?.trim() },
    [source]
  );
  return options.oneOf(source, PROTOCOLS, 'http/protobuf');
}
