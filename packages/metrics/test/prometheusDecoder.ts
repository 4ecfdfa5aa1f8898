/**
 * Prometheus' protobuf exposition read back by protobufjs from the schema
 * (prometheus/client_model io/prometheus/client/metrics.proto, proto2;
 * google.protobuf.Timestamp as a local message of the same wire shape),
 * independently of the package's own encoder.
 */
import * as protobuf from 'protobufjs';

const METRICS_PROTO = `
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { optional double value = 1; }
message Counter { optional double value = 1; optional Exemplar exemplar = 2; optional Timestamp created_timestamp = 3; }
message Quantile { optional double quantile = 1; optional double value = 2; }
message Summary { optional uint64 sample_count = 1; optional double sample_sum = 2; repeated Quantile quantile = 3; optional Timestamp created_timestamp = 4; }
message Untyped { optional double value = 1; }
message Histogram {
  optional uint64 sample_count = 1; optional double sample_count_float = 4; optional double sample_sum = 2;
  repeated Bucket bucket = 3; optional Timestamp created_timestamp = 15;
  optional sint32 schema = 5; optional double zero_threshold = 6; optional uint64 zero_count = 7; optional double zero_count_float = 8;
  repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10; repeated double negative_count = 11;
  repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13; repeated double positive_count = 14;
  repeated Exemplar exemplars = 16;
}
message Bucket { optional uint64 cumulative_count = 1; optional double cumulative_count_float = 4; optional double upper_bound = 2; optional Exemplar exemplar = 3; }
message BucketSpan { optional sint32 offset = 1; optional uint32 length = 2; }
message Exemplar { repeated LabelPair label = 1; optional double value = 2; optional Timestamp timestamp = 3; }
message Timestamp { optional int64 seconds = 1; optional int32 nanos = 2; }
message Metric { repeated LabelPair label = 1; optional Gauge gauge = 2; optional Counter counter = 3; optional Summary summary = 4; optional Untyped untyped = 5; optional Histogram histogram = 7; optional int64 timestamp_ms = 6; }
message MetricFamily { optional string name = 1; optional string help = 2; optional MetricType type = 3; repeated Metric metric = 4; optional string unit = 5; }
`;
const MetricFamily = protobuf
  .parse(METRICS_PROTO)
  .root.lookupType('io.prometheus.client.MetricFamily');

export interface DecodedLabel {
  name: string;
  value: string;
}
export interface DecodedExemplar {
  label?: DecodedLabel[];
  value: number;
  timestamp?: { seconds?: number; nanos?: number };
}
export interface DecodedSpan {
  offset?: number;
  length?: number;
}
export interface DecodedHistogram {
  sampleCount?: number;
  sampleCountFloat?: number;
  sampleSum?: number;
  bucket?: {
    cumulativeCount?: number;
    upperBound: number;
    exemplar?: DecodedExemplar;
  }[];
  schema?: number;
  zeroThreshold?: number;
  zeroCount?: number;
  negativeSpan?: DecodedSpan[];
  negativeDelta?: number[];
  positiveSpan?: DecodedSpan[];
  positiveDelta?: number[];
  exemplars?: DecodedExemplar[];
}
export interface DecodedMetric {
  label?: DecodedLabel[];
  gauge?: { value: number };
  counter?: { value: number; exemplar?: DecodedExemplar };
  summary?: {
    sampleCount?: number;
    sampleSum?: number;
    quantile?: { quantile: number; value: number }[];
  };
  histogram?: DecodedHistogram;
  timestampMs?: number;
}
export interface DecodedFamily {
  name: string;
  help?: string;
  type: 'COUNTER' | 'GAUGE' | 'SUMMARY' | 'UNTYPED' | 'HISTOGRAM';
  metric?: DecodedMetric[];
}

/** Every varint-delimited MetricFamily of `body`; throws unless the body is exactly that. */
export function decodeFamilies(body: Uint8Array): DecodedFamily[] {
  const reader = protobuf.Reader.create(body);
  const families: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamily.decodeDelimited(reader);
    families.push(
      MetricFamily.toObject(message, {
        longs: Number,
        enums: String,
        // Unset optional fields stay absent, so tests see what was sent.
        defaults: false,
      }) as DecodedFamily
    );
  }
  return families;
}

/** A native histogram side as Prometheus reads it: bucket index → count. */
export function nativeBuckets(
  spans: DecodedSpan[] = [],
  deltas: number[] = []
): Map<number, number> {
  const buckets = new Map<number, number>();
  let index = 0;
  let count = 0;
  let position = 0;
  spans.forEach((span, i) => {
    index += (span.offset ?? 0) + (i === 0 ? 0 : 1);
    for (let j = 0; j < (span.length ?? 0); j++) {
      if (j > 0) index++;
      count += deltas[position++];
      buckets.set(index, count);
    }
  });
  if (position !== deltas.length)
    throw new Error(`${deltas.length} deltas for ${position} span buckets`);
  return buckets;
}
