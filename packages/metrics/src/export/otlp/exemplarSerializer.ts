import { ValueType } from '@opentelemetry/api';
import type { AttributeValue, HrTime } from '@opentelemetry/api';
import { DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Exemplar, ExemplarCarrier } from '../../exemplars/Exemplar';
import { ProtoWriter, readFields, rewriteFields } from './protobuf';
import type { MetricsSerializer } from './summarySerializer';

/** OTLP field numbers (opentelemetry/proto/metrics/v1/metrics.proto, common.proto). */
const REQUEST_RESOURCE_METRICS = 1;
const RESOURCE_METRICS_SCOPE_METRICS = 2;
const SCOPE_METRICS_METRICS = 2;
const DATA_POINTS = 1;
/** Metric.data, and the exemplars field of that data's points. */
const EXEMPLARS_BY_DATA: Record<number, number> = {
  5: 5, // gauge: NumberDataPoint.exemplars
  7: 5, // sum: NumberDataPoint.exemplars
  9: 8, // histogram: HistogramDataPoint.exemplars
  10: 11, // exponential_histogram: ExponentialHistogramDataPoint.exemplars
};
const EXEMPLAR = {
  filteredAttributes: 7,
  timeUnixNano: 2,
  asDouble: 3,
  asInt: 6,
  spanId: 4,
  traceId: 5,
} as const;
const KEY_VALUE = { key: 1, value: 2 } as const;
const ANY_VALUE = {
  string: 1,
  bool: 2,
  int: 3,
  double: 4,
  array: 5,
} as const;
const ARRAY_VALUES = 1;
const DATA_POINT_TYPES: ReadonlySet<number> = new Set([
  DataPointType.GAUGE,
  DataPointType.SUM,
  DataPointType.HISTOGRAM,
  DataPointType.EXPONENTIAL_HISTOGRAM,
]);

/**
 * Wraps the SDK's JSON or protobuf metrics serializer so that points
 * carrying `exemplars` ({@link ExemplarCarrier}) send them: the SDK's
 * serializer writes none (its DataPoint has no such field). The SDK's
 * encoding is kept as it is; each point's exemplars are added to it (in
 * protobuf, as fields appended to the encoded point; in JSON, as its
 * `exemplars` array), matched by position: the SDK encodes scopes, metrics
 * and points in the order it is given them. A request without exemplars is
 * the SDK's, byte for byte.
 */
export function createExemplarSerializer(
  base: MetricsSerializer,
  encoding: 'json' | 'protobuf'
): MetricsSerializer {
  return {
    serializeRequest(request: ResourceMetrics): Uint8Array | undefined {
      const bytes = base.serializeRequest(request);
      if (bytes === undefined || !carriesExemplars(request)) return bytes;
      const metrics = request.scopeMetrics.flatMap(scope => scope.metrics);
      return encoding === 'json'
        ? jsonWithExemplars(bytes, metrics)
        : protobufWithExemplars(bytes, metrics);
    },
    deserializeResponse: data => base.deserializeResponse(data),
  };
}

function carriesExemplars(request: ResourceMetrics): boolean {
  return request.scopeMetrics.some(scope =>
    scope.metrics.some(metric => exemplarsOfMetric(metric) !== undefined)
  );
}

/** A metric's points' exemplars, by point; undefined when none has any. */
function exemplarsOfMetric(
  metric: MetricData
): (readonly Exemplar[] | undefined)[] | undefined {
  if (!DATA_POINT_TYPES.has(metric.dataPointType)) return undefined;
  let any = false;
  const byPoint = (metric.dataPoints as ExemplarCarrier[]).map(point => {
    const exemplars = point.exemplars;
    if (!Array.isArray(exemplars) || exemplars.length === 0) return undefined;
    any = true;
    return exemplars as readonly Exemplar[];
  });
  return any ? byPoint : undefined;
}

function protobufWithExemplars(
  bytes: Uint8Array,
  metrics: readonly MetricData[]
): Uint8Array {
  let next = 0;
  return rewriteFields(
    bytes,
    [
      REQUEST_RESOURCE_METRICS,
      RESOURCE_METRICS_SCOPE_METRICS,
      SCOPE_METRICS_METRICS,
    ],
    body => {
      const metric = metrics[next++];
      const byPoint = exemplarsOfMetric(metric);
      const writer = new ProtoWriter();
      if (byPoint === undefined)
        return writer.message(SCOPE_METRICS_METRICS, body).finish();
      const integer = metric.descriptor.valueType === ValueType.INT;
      const withExemplars = new ProtoWriter();
      for (const field of readFields(body)) {
        const exemplarsField = EXEMPLARS_BY_DATA[field.number];
        if (exemplarsField === undefined) {
          withExemplars.raw(field.raw);
          continue;
        }
        let point = 0;
        withExemplars.message(
          field.number,
          rewriteFields(field.body, [DATA_POINTS], pointBody => {
            // Fields may come in any order: the exemplars go after the rest.
            const extended = new ProtoWriter().raw(pointBody);
            for (const exemplar of byPoint[point++] ?? [])
              extended.message(
                exemplarsField,
                encodeExemplar(exemplar, integer)
              );
            return new ProtoWriter()
              .message(DATA_POINTS, extended.finish())
              .finish();
          })
        );
      }
      return writer
        .message(SCOPE_METRICS_METRICS, withExemplars.finish())
        .finish();
    }
  );
}

function encodeExemplar(exemplar: Exemplar, integer: boolean): Uint8Array {
  const writer = new ProtoWriter();
  for (const [key, value] of Object.entries(exemplar.filteredAttributes)) {
    if (value === undefined) continue;
    writer.message(
      EXEMPLAR.filteredAttributes,
      new ProtoWriter()
        .string(KEY_VALUE.key, key)
        .message(KEY_VALUE.value, encodeAnyValue(value))
        .finish()
    );
  }
  writer.fixed64(EXEMPLAR.timeUnixNano, unixNanos(exemplar));
  if (integer) writer.sfixed64(EXEMPLAR.asInt, Math.trunc(exemplar.value));
  else writer.double(EXEMPLAR.asDouble, exemplar.value);
  if (exemplar.spanId && exemplar.traceId) {
    writer.message(EXEMPLAR.spanId, hexBytes(exemplar.spanId));
    writer.message(EXEMPLAR.traceId, hexBytes(exemplar.traceId));
  }
  return writer.finish();
}

/**
 * An attribute value, or an array element (API 1.9 types those as
 * possibly undefined), as OTLP's AnyValue, as the SDK encodes it
 * (integers as int_value); nothing for null and undefined.
 */
function encodeAnyValue(value: AttributeValue | null | undefined): Uint8Array {
  const writer = new ProtoWriter();
  if (typeof value === 'string') writer.string(ANY_VALUE.string, value);
  else if (typeof value === 'boolean') writer.bool(ANY_VALUE.bool, value);
  else if (typeof value === 'number')
    if (Number.isInteger(value)) writer.int64(ANY_VALUE.int, value);
    else writer.double(ANY_VALUE.double, value);
  else if (Array.isArray(value)) {
    const values = new ProtoWriter();
    for (const element of value)
      values.message(ARRAY_VALUES, encodeAnyValue(element));
    writer.message(ANY_VALUE.array, values.finish());
  }
  return writer.finish();
}

interface JsonRequest {
  resourceMetrics: {
    scopeMetrics: {
      metrics: Record<string, { dataPoints?: Record<string, unknown>[] }>[];
    }[];
  }[];
}

/** Metric.data as OTLP/JSON names it. */
const JSON_DATA = ['gauge', 'sum', 'histogram', 'exponentialHistogram'];

function jsonWithExemplars(
  bytes: Uint8Array,
  metrics: readonly MetricData[]
): Uint8Array {
  const request = JSON.parse(new TextDecoder().decode(bytes)) as JsonRequest;
  let next = 0;
  for (const resource of request.resourceMetrics)
    for (const scope of resource.scopeMetrics)
      for (const encoded of scope.metrics) {
        const metric = metrics[next++];
        const byPoint = exemplarsOfMetric(metric);
        if (byPoint === undefined) continue;
        const integer = metric.descriptor.valueType === ValueType.INT;
        const data = JSON_DATA.map(name => encoded[name]).find(Boolean);
        data?.dataPoints?.forEach((point, i) => {
          const exemplars = byPoint[i];
          if (exemplars !== undefined)
            point.exemplars = exemplars.map(e => jsonExemplar(e, integer));
        });
      }
  return new TextEncoder().encode(JSON.stringify(request));
}

/** OTLP/JSON: lowerCamelCase, times as decimal strings, ids as hex. */
function jsonExemplar(
  exemplar: Exemplar,
  integer: boolean
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    filteredAttributes: Object.entries(exemplar.filteredAttributes)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => ({ key, value: jsonAnyValue(value!) })),
    timeUnixNano: unixNanos(exemplar).toString(),
  };
  if (integer) json.asInt = Math.trunc(exemplar.value);
  else json.asDouble = exemplar.value;
  if (exemplar.spanId && exemplar.traceId) {
    json.spanId = exemplar.spanId;
    json.traceId = exemplar.traceId;
  }
  return json;
}

function jsonAnyValue(
  value: AttributeValue | null | undefined
): Record<string, unknown> {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number')
    return Number.isInteger(value)
      ? { intValue: value }
      : { doubleValue: value };
  if (Array.isArray(value))
    return { arrayValue: { values: value.map(jsonAnyValue) } };
  return {};
}

function unixNanos(exemplar: Exemplar): bigint {
  const time: HrTime =
    exemplar.hrTime ??
    ([
      Math.floor(exemplar.timeMillis / 1000),
      Math.round((exemplar.timeMillis % 1000) * 1e6),
    ] as HrTime);
  return BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]);
}

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}
