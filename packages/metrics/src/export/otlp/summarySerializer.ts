import { DataPointType } from '@opentelemetry/sdk-metrics';
import type {
  GaugeMetricData,
  MetricData,
  ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type {
  IExportMetricsServiceResponse,
  ISerializer,
} from '@opentelemetry/otlp-transformer';
import { ProtoWriter, readFields, rewriteFields } from './protobuf';
import { isSummaryMetricData } from '../SummaryMetricData';
import type { SummaryMetricData, SummaryValue } from '../SummaryMetricData';

export type MetricsSerializer = ISerializer<
  ResourceMetrics,
  IExportMetricsServiceResponse
>;

/** OTLP field numbers (opentelemetry/proto/metrics/v1/metrics.proto). */
const REQUEST_RESOURCE_METRICS = 1;
const RESOURCE_METRICS_SCOPE_METRICS = 2;
const SCOPE_METRICS_METRICS = 2;
const METRIC_GAUGE = 5;
const METRIC_SUMMARY = 11;
const GAUGE_DATA_POINTS = 1;
const SUMMARY_DATA_POINTS = 1;
/** Start time (2), time (3) and attributes (7) share numbers in both point types. */
const SHARED_POINT_FIELDS = new Set([2, 3, 7]);
const SUMMARY_POINT_COUNT = 4;
const SUMMARY_POINT_SUM = 5;
const SUMMARY_POINT_QUANTILE_VALUES = 6;
const QUANTILE = 1;
const QUANTILE_VALUE = 2;

/**
 * Wraps the SDK's JSON or protobuf metrics serializer so that it also writes
 * {@link SummaryMetricData} as OTLP Summary metrics. Summaries are encoded
 * by the SDK's own serializer as gauge stand-ins (so resource, scope,
 * attributes and times are encoded exactly as for every other metric), then
 * turned into summaries, in a second ResourceMetrics of the same request.
 */
export function createSummarySerializer(
  base: MetricsSerializer,
  encoding: 'json' | 'protobuf'
): MetricsSerializer {
  return {
    serializeRequest(request: ResourceMetrics): Uint8Array | undefined {
      const summaries: SummaryValue[][] = [];
      const plain = mapMetrics(request, metric =>
        isSummaryMetricData(metric) ? undefined : metric
      );
      const standIns = mapMetrics(request, metric => {
        if (!isSummaryMetricData(metric)) return undefined;
        summaries.push(metric.dataPoints.map(p => p.value));
        return standIn(metric);
      });
      const plainBytes = base.serializeRequest(plain);
      if (summaries.length === 0 || plainBytes === undefined) return plainBytes;
      const standInBytes = base.serializeRequest(standIns);
      if (standInBytes === undefined) return plainBytes;
      return encoding === 'json'
        ? mergeJson(plainBytes, standInBytes, summaries)
        : concat(plainBytes, protobufSummaries(standInBytes, summaries));
    },
    deserializeResponse: data => base.deserializeResponse(data),
  };
}

function mapMetrics(
  request: ResourceMetrics,
  map: (m: MetricData | SummaryMetricData) => MetricData | undefined
): ResourceMetrics {
  return {
    resource: request.resource,
    scopeMetrics: request.scopeMetrics
      .map(scope => ({
        scope: scope.scope,
        metrics: scope.metrics
          .map(map)
          .filter((m): m is MetricData => m !== undefined),
      }))
      .filter(scope => scope.metrics.length > 0),
  };
}

/** A gauge with the summary's descriptor and one point per summary point. */
function standIn(metric: SummaryMetricData): GaugeMetricData {
  return {
    descriptor: metric.descriptor,
    aggregationTemporality: metric.aggregationTemporality,
    dataPointType: DataPointType.GAUGE,
    dataPoints: metric.dataPoints.map(p => ({ ...p, value: 0 })),
  };
}

interface JsonRequest {
  resourceMetrics: {
    scopeMetrics: {
      metrics: {
        gauge?: { dataPoints: Record<string, unknown>[] };
        summary?: unknown;
      }[];
    }[];
  }[];
}

function mergeJson(
  plainBytes: Uint8Array,
  standInBytes: Uint8Array,
  summaries: SummaryValue[][]
): Uint8Array {
  const decoder = new TextDecoder();
  const plain = JSON.parse(decoder.decode(plainBytes)) as JsonRequest;
  const standIns = JSON.parse(decoder.decode(standInBytes)) as JsonRequest;
  let next = 0;
  for (const resource of standIns.resourceMetrics) {
    for (const scope of resource.scopeMetrics) {
      for (const metric of scope.metrics) {
        const values = summaries[next++];
        const points = metric.gauge!.dataPoints;
        delete metric.gauge;
        metric.summary = {
          dataPoints: points.map(
            ({ attributes, startTimeUnixNano, timeUnixNano }, i) => ({
              attributes,
              startTimeUnixNano,
              timeUnixNano,
              count: values[i].count,
              sum: values[i].sum,
              quantileValues: values[i].quantileValues,
            })
          ),
        };
      }
    }
  }
  plain.resourceMetrics.push(...standIns.resourceMetrics);
  return new TextEncoder().encode(JSON.stringify(plain));
}

/**
 * Rewrites an encoded request of gauge stand-ins into summaries. Requests
 * concatenate: repeated resource_metrics of both parse as one request.
 */
function protobufSummaries(
  bytes: Uint8Array,
  summaries: SummaryValue[][]
): Uint8Array {
  let next = 0;
  const metricToSummary = (metric: Uint8Array): Uint8Array => {
    const values = summaries[next++];
    const writer = new ProtoWriter();
    for (const field of readFields(metric)) {
      if (field.number !== METRIC_GAUGE) {
        writer.raw(field.raw);
        continue;
      }
      const summary = new ProtoWriter();
      readFields(field.body)
        .filter(f => f.number === GAUGE_DATA_POINTS)
        .forEach((point, i) =>
          summary.message(
            SUMMARY_DATA_POINTS,
            summaryPoint(point.body, values[i])
          )
        );
      writer.message(METRIC_SUMMARY, summary.finish());
    }
    return new ProtoWriter()
      .message(SCOPE_METRICS_METRICS, writer.finish())
      .finish();
  };
  return rewriteFields(
    bytes,
    [
      REQUEST_RESOURCE_METRICS,
      RESOURCE_METRICS_SCOPE_METRICS,
      SCOPE_METRICS_METRICS,
    ],
    metricToSummary
  );
}

function summaryPoint(
  numberPoint: Uint8Array,
  value: SummaryValue
): Uint8Array {
  const writer = new ProtoWriter();
  for (const field of readFields(numberPoint)) {
    if (SHARED_POINT_FIELDS.has(field.number)) writer.raw(field.raw);
  }
  writer
    .fixed64(SUMMARY_POINT_COUNT, value.count)
    .double(SUMMARY_POINT_SUM, value.sum);
  for (const { quantile, value: v } of value.quantileValues) {
    writer.message(
      SUMMARY_POINT_QUANTILE_VALUES,
      new ProtoWriter()
        .double(QUANTILE, quantile)
        .double(QUANTILE_VALUE, v)
        .finish()
    );
  }
  return writer.finish();
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
