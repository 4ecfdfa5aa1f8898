import type {
  OtlpKeyValue,
  OtlpMetric,
  OtlpMetricsRequest,
  OtlpNumberPoint,
} from './Collector';

/** OTLP's AggregationTemporality enum. */
export const CUMULATIVE = 2;

export type PlainAttributes = Record<string, string | number | boolean>;

/** One metric as the Collector received it in one request, with its resource. */
export interface ReceivedMetric {
  request: number;
  resource: PlainAttributes;
  metric: OtlpMetric;
}

export function plain(attributes: OtlpKeyValue[] = []): PlainAttributes {
  const result: PlainAttributes = {};
  for (const { key, value } of attributes) {
    result[key] =
      value.stringValue ??
      value.boolValue ??
      value.doubleValue ??
      Number(value.intValue);
  }
  return result;
}

/**
 * Every occurrence of `name` from the resource with `service.name` =
 * `service`, oldest first by point time: not the order received, since the
 * exporter retries an export that failed while newer ones already went.
 */
export function received(
  requests: OtlpMetricsRequest[],
  service: string,
  name: string
): ReceivedMetric[] {
  const found: ReceivedMetric[] = [];
  requests.forEach((request, index) => {
    for (const resourceMetrics of request.resourceMetrics) {
      const resource = plain(resourceMetrics.resource.attributes);
      if (resource['service.name'] !== service) continue;
      for (const scope of resourceMetrics.scopeMetrics)
        for (const metric of scope.metrics)
          if (metric.name === name)
            found.push({ request: index, resource, metric });
    }
  });
  return found.sort((a, b) => timeOf(a.metric) - timeOf(b.metric));
}

/** When a metric's points were taken, in ms. */
function timeOf(metric: OtlpMetric): number {
  const points =
    metric.sum?.dataPoints ??
    metric.gauge?.dataPoints ??
    metric.exponentialHistogram?.dataPoints ??
    metric.summary?.dataPoints ??
    [];
  return points.length === 0 ? 0 : Number(points[0].timeUnixNano) / 1e6;
}

/** The latest occurrence of `name`; throws when the Collector never got it. */
export function latest(
  requests: OtlpMetricsRequest[],
  service: string,
  name: string
): ReceivedMetric {
  const all = received(requests, service, name);
  if (all.length === 0)
    throw new Error(`the Collector received no '${name}' from ${service}`);
  return all[all.length - 1];
}

/** A sum or gauge point's value. */
export function valueOf(point: OtlpNumberPoint): number {
  return point.asDouble ?? Number(point.asInt);
}

/** The points of a sum or gauge, keyed by their attributes in JSON. */
export function pointsByAttributes(metric: OtlpMetric): Map<string, number> {
  const points = metric.sum?.dataPoints ?? metric.gauge?.dataPoints ?? [];
  return new Map(
    points.map(p => [JSON.stringify(sorted(plain(p.attributes))), valueOf(p)])
  );
}

/**
 * Each series' last value over all `occurrences` of a sum: the cumulative
 * total of series that stopped (and then expired) included.
 */
export function lastValues(occurrences: ReceivedMetric[]): Map<string, number> {
  const values = new Map<string, number>();
  for (const { metric } of occurrences)
    for (const [k, value] of pointsByAttributes(metric)) values.set(k, value);
  return values;
}

/** The JSON key {@link pointsByAttributes} uses for `attributes`. */
export function key(attributes: PlainAttributes): string {
  return JSON.stringify(sorted(attributes));
}

function sorted(attributes: PlainAttributes): PlainAttributes {
  return Object.fromEntries(
    Object.entries(attributes).sort(([a], [b]) => (a < b ? -1 : 1))
  );
}
