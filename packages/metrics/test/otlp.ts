import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as protobuf from 'protobufjs';

/** The OTLP metrics messages the tests read (opentelemetry-proto v1.x), decoded independently of the package. */
const OTLP_PROTO = `
syntax = "proto3";
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message Resource { repeated KeyValue attributes = 1; }
message InstrumentationScope { string name = 1; string version = 2; }
message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; }
message Metric { string name = 1; string description = 2; string unit = 3; Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
message Exemplar { repeated KeyValue filtered_attributes = 7; fixed64 time_unix_nano = 2; oneof value { double as_double = 3; sfixed64 as_int = 6; } bytes span_id = 4; bytes trace_id = 5; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 count = 4; double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7; repeated Exemplar exemplars = 8; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; double as_double = 4; sfixed64 as_int = 6; repeated Exemplar exemplars = 5; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 count = 4; double sum = 5; sint32 scale = 6; fixed64 zero_count = 7; repeated Exemplar exemplars = 11; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3; fixed64 count = 4; double sum = 5; repeated ValueAtQuantile quantile_values = 6; }
message ValueAtQuantile { double quantile = 1; double value = 2; }
`;
const Request = protobuf
  .parse(OTLP_PROTO)
  .root.lookupType('ExportMetricsServiceRequest');

/** A decoded request, with protobuf and JSON normalized to the same shape. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  path: string;
  body: {
    resourceMetrics: {
      resource?: {
        attributes?: { key: string; value: Record<string, unknown> }[];
      };
      scopeMetrics: {
        scope?: { name: string };
        // eslint-disable-next-line @typescript-eslint/no-explicit-any -- decoded JSON or protobuf; the assertions check the shape
        metrics: Record<string, any>[];
      }[];
    }[];
  };
}

/** A local OTLP/HTTP endpoint that records and decodes what it receives. */
export class OtlpReceiver {
  readonly requests: ReceivedRequest[] = [];
  /** Status codes to answer, in order; 200 after they run out. */
  statuses: number[] = [];
  private readonly _server: Server;

  constructor() {
    this._server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', chunk => chunks.push(chunk as Buffer));
      request.on('end', () => {
        let bytes = Buffer.concat(chunks);
        if (request.headers['content-encoding'] === 'gzip')
          bytes = gunzipSync(bytes);
        const json = String(request.headers['content-type']).includes('json');
        const body = json
          ? JSON.parse(bytes.toString('utf8'))
          : idsAsHex(
              Request.toObject(Request.decode(bytes), {
                longs: String,
                bytes: String,
                defaults: false,
                arrays: true,
              })
            );
        this.requests.push({
          headers: request.headers,
          path: request.url ?? '',
          body,
        });
        response.statusCode = this.statuses.shift() ?? 200;
        response.end();
      });
    });
  }

  async start(): Promise<string> {
    await new Promise<void>(resolve =>
      this._server.listen(0, '127.0.0.1', resolve)
    );
    return `http://127.0.0.1:${(this._server.address() as AddressInfo).port}/v1/metrics`;
  }

  async stop(): Promise<void> {
    await new Promise<void>(resolve => this._server.close(() => resolve()));
  }

  /** Every metric received, from every request, by name. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  metrics(name: string): Record<string, any>[] {
    return this.requests.flatMap(r =>
      r.body.resourceMetrics.flatMap(rm =>
        rm.scopeMetrics.flatMap(sm => sm.metrics.filter(m => m.name === name))
      )
    );
  }
}

/** Trace and span ids decoded from protobuf (base64) as hex, as OTLP/JSON writes them. */
function idsAsHex<T>(decoded: T): T {
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === 'object' && value !== null)
      for (const [key, inner] of Object.entries(value)) {
        if (
          (key === 'traceId' || key === 'spanId') &&
          typeof inner === 'string'
        )
          (value as Record<string, unknown>)[key] = Buffer.from(
            inner,
            'base64'
          ).toString('hex');
        else visit(inner);
      }
  };
  visit(decoded);
  return decoded;
}
