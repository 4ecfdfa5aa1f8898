import type { Exemplar } from './exemplars';
import { exemplarsByBucket, exposeExemplar, latestExemplar } from './exemplars';
import type {
  FamilyPoint,
  FamilyType,
  HistogramPoint,
  SummaryPoint,
  WriteContext,
} from './families';
import type { FormatWriter } from './FormatWriter';
import type { LabelNamer, LabelPair } from './labels';
import { toNativeHistogram } from './nativeHistogram';
import type { SparseBuckets } from './nativeHistogram';
import { ProtobufEncoder, varintBytes } from './ProtobufEncoder';

export const PROTOBUF_CONTENT_TYPE =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

/** io.prometheus.client field numbers (client_model metrics.proto), by message. */
const FAMILY = { name: 1, help: 2, type: 3, metric: 4 } as const;
const METRIC = {
  label: 1,
  gauge: 2,
  counter: 3,
  summary: 4,
  histogram: 7,
} as const;
const LABEL = { name: 1, value: 2 } as const;
/** Gauge and Counter. */
const VALUE = 1;
const COUNTER_EXEMPLAR = 2;
const SUMMARY = { count: 1, sum: 2, quantile: 3 } as const;
const QUANTILE = { quantile: 1, value: 2 } as const;
const HISTOGRAM = {
  count: 1,
  sum: 2,
  bucket: 3,
  countFloat: 4,
  schema: 5,
  zeroThreshold: 6,
  zeroCount: 7,
  negativeSpan: 9,
  negativeDelta: 10,
  positiveSpan: 12,
  positiveDelta: 13,
  exemplars: 16,
} as const;
const BUCKET = { count: 1, upperBound: 2, exemplar: 3, countFloat: 4 } as const;
const SPAN = { offset: 1, length: 2 } as const;
const EXEMPLAR = { label: 1, value: 2, timestamp: 3 } as const;
const TIMESTAMP = { seconds: 1, nanos: 2 } as const;

const METRIC_TYPES: Record<FamilyType, number> = {
  counter: 0,
  gauge: 1,
  summary: 2,
  histogram: 4,
  info: 1,
};

/** A family's bytes go out in pieces of about this size. */
const CHUNK_BYTES = 64 * 1024;
/** A family's first buffer: most families are small. */
const FIRST_BYTES = 512;

/** A family's metrics so far: pieces taken, and what the encoder holds. */
interface FamilyBytes {
  readonly encoder: ProtobufEncoder;
  readonly pieces: Buffer[];
  length: number;
}

/**
 * Prometheus' protobuf format: each MetricFamily preceded by its length
 * as a varint. Exponential histograms are native histograms with their
 * classic buckets in the same message (a scraper that takes only classic
 * histograms uses those); one whose scale Prometheus cannot take (below
 * -4) is left out, reported. Exemplars: the latest on a counter, the latest
 * in each classic bucket, and all of a native histogram's in field 16
 * (Prometheus reads that from 2.51, the bucket ones before).
 */
export function protobufWriter({
  namer,
  diag,
}: WriteContext): FormatWriter<FamilyBytes> {
  return {
    open: () => ({
      encoder: new ProtobufEncoder(FIRST_BYTES),
      pieces: [],
      length: 0,
    }),
    point: (bytes, family, point) => {
      const histogram =
        family.type === 'histogram'
          ? (point.value as HistogramPoint)
          : undefined;
      const native =
        histogram?.exponential && toNativeHistogram(histogram.exponential);
      if (histogram?.exponential && native === undefined) {
        diag.warn(
          `schema:${family.name}`,
          `a point of '${family.name}' is not in the protobuf scrape: its scale ${histogram.exponential.scale} is not a schema Prometheus takes (an integer ≥ -4)`
        );
        return;
      }
      writeMetric(bytes.encoder, family.type, point, native, namer);
      if (bytes.encoder.length >= CHUNK_BYTES) take(bytes);
    },
    close: families => {
      const body: Buffer[] = [];
      const header = new ProtobufEncoder(FIRST_BYTES);
      for (const [family, bytes] of families) {
        take(bytes);
        if (bytes.length === 0) continue;
        header.string(FAMILY.name, family.name);
        header.string(FAMILY.help, family.help);
        header.uint(FAMILY.type, METRIC_TYPES[family.type]);
        const length = header.length + bytes.length;
        body.push(varintBytes(length), header.take(), ...bytes.pieces);
      }
      return body;
    },
  };
}

/** Moves what the family's encoder holds into its pieces. */
function take(bytes: FamilyBytes): void {
  if (bytes.encoder.length === 0) return;
  bytes.length += bytes.encoder.length;
  bytes.pieces.push(bytes.encoder.take());
}

function writeMetric(
  encoder: ProtobufEncoder,
  type: FamilyType,
  point: FamilyPoint,
  native: ReturnType<typeof toNativeHistogram>,
  namer: LabelNamer
): void {
  encoder.begin(FAMILY.metric);
  writeLabels(encoder, METRIC.label, point.labels);
  switch (type) {
    case 'counter': {
      encoder.begin(METRIC.counter);
      encoder.double(VALUE, point.value as number);
      const exemplar = latestExemplar(point.exemplars);
      if (exemplar) writeExemplar(encoder, COUNTER_EXEMPLAR, exemplar, namer);
      encoder.end();
      break;
    }
    case 'gauge':
    case 'info':
      encoder.begin(METRIC.gauge);
      encoder.double(VALUE, point.value as number);
      encoder.end();
      break;
    case 'summary': {
      const summary = point.value as SummaryPoint;
      encoder.begin(METRIC.summary);
      encoder.uint(SUMMARY.count, summary.count);
      encoder.double(SUMMARY.sum, summary.sum);
      for (const { quantile, value } of summary.quantiles) {
        encoder.begin(SUMMARY.quantile);
        encoder.double(QUANTILE.quantile, quantile);
        encoder.double(QUANTILE.value, value);
        encoder.end();
      }
      encoder.end();
      break;
    }
    case 'histogram':
      writeHistogram(encoder, point, native, namer);
      break;
  }
  encoder.end();
}

function writeHistogram(
  encoder: ProtobufEncoder,
  point: FamilyPoint,
  native: ReturnType<typeof toNativeHistogram>,
  namer: LabelNamer
): void {
  const histogram = point.value as HistogramPoint;
  const { boundaries, cumulative, count } = histogram;
  encoder.begin(METRIC.histogram);
  writeCount(encoder, HISTOGRAM.count, HISTOGRAM.countFloat, count);
  if (histogram.sum !== undefined) encoder.double(HISTOGRAM.sum, histogram.sum);
  const byBucket =
    point.exemplars.length > 0
      ? exemplarsByBucket(point.exemplars, boundaries)
      : [];
  for (let i = 0; i <= boundaries.length; i++) {
    encoder.begin(HISTOGRAM.bucket);
    writeCount(
      encoder,
      BUCKET.count,
      BUCKET.countFloat,
      i < boundaries.length ? cumulative[i] : count
    );
    encoder.double(
      BUCKET.upperBound,
      i < boundaries.length ? boundaries[i] : Infinity
    );
    const exemplar = byBucket[i];
    if (exemplar) writeExemplar(encoder, BUCKET.exemplar, exemplar, namer);
    encoder.end();
  }
  if (native) {
    encoder.sint(HISTOGRAM.schema, native.schema);
    encoder.double(HISTOGRAM.zeroThreshold, native.zeroThreshold);
    encoder.uint(HISTOGRAM.zeroCount, histogram.exponential!.zeroCount);
    writeSparse(
      encoder,
      HISTOGRAM.negativeSpan,
      HISTOGRAM.negativeDelta,
      native.negative
    );
    writeSparse(
      encoder,
      HISTOGRAM.positiveSpan,
      HISTOGRAM.positiveDelta,
      native.positive
    );
    // A no-op span marks a histogram without buckets as native (as client_golang does).
    if (
      native.positive.spans.length === 0 &&
      native.negative.spans.length === 0
    )
      writeSparse(encoder, HISTOGRAM.positiveSpan, 0, {
        spans: [[0, 0]],
        deltas: [],
      });
    for (const exemplar of point.exemplars)
      writeExemplar(encoder, HISTOGRAM.exemplars, exemplar, namer);
  }
  encoder.end();
}

/** A count as uint64, or in its double field when it is not a whole number. */
function writeCount(
  encoder: ProtobufEncoder,
  integerField: number,
  floatField: number,
  count: number
): void {
  if (Number.isSafeInteger(count) && count >= 0)
    encoder.uint(integerField, count);
  else encoder.double(floatField, count);
}

function writeSparse(
  encoder: ProtobufEncoder,
  spanField: number,
  deltaField: number,
  buckets: SparseBuckets
): void {
  for (const [offset, length] of buckets.spans) {
    encoder.begin(spanField);
    encoder.sint(SPAN.offset, offset);
    encoder.uint(SPAN.length, length);
    encoder.end();
  }
  encoder.packedSint(deltaField, buckets.deltas);
}

function writeExemplar(
  encoder: ProtobufEncoder,
  field: number,
  exemplar: Exemplar,
  namer: LabelNamer
): void {
  const { labels, value, seconds, nanos } = exposeExemplar(exemplar, namer);
  encoder.begin(field);
  writeLabels(encoder, EXEMPLAR.label, labels);
  encoder.double(EXEMPLAR.value, value);
  encoder.begin(EXEMPLAR.timestamp);
  encoder.uint(TIMESTAMP.seconds, seconds);
  encoder.uint(TIMESTAMP.nanos, nanos);
  encoder.end();
  encoder.end();
}

function writeLabels(
  encoder: ProtobufEncoder,
  field: number,
  labels: readonly LabelPair[]
): void {
  for (const [name, value] of labels) {
    encoder.begin(field);
    encoder.string(LABEL.name, name);
    encoder.string(LABEL.value, value);
    encoder.end();
  }
}
