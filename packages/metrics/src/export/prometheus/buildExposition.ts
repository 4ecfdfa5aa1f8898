import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  OptionReader,
  RateLimitedDiag,
  SlicedTask,
} from '@datapunk/otel-common';
import { planFamilies } from './families';
import type { FamilyOptions, WriteContext } from './families';
import { readHistogramBoundaries } from './histogramBoundaries';
import { LabelNamer } from './labels';
import { CONTENT_TYPES } from './negotiate';
import type { ExpositionFormat } from './negotiate';
import { writeOpenMetrics } from './openMetricsFormat';
import { writeProtobuf } from './protobufFormat';
import { writeText } from './textFormat';
import { TextSink } from './TextSink';

/**
 * The response body of a scrape in `format`, in chunks of about 64 KiB:
 * the families planned, then the format's writer, one step per point, for a
 * {@link SlicedTask} to run without stalling the host.
 */
export function* buildExposition(
  resourceMetrics: ResourceMetrics,
  format: ExpositionFormat,
  options: FamilyOptions & WriteContext
): Generator<void, Buffer[], undefined> {
  const families = planFamilies(resourceMetrics, options);
  if (format === 'protobuf') {
    const chunks: Buffer[] = [];
    yield* writeProtobuf(families, chunks, options);
    return chunks;
  }
  const sink = new TextSink();
  yield* (format === 'openmetrics' ? writeOpenMetrics : writeText)(
    families,
    sink,
    options
  );
  return sink.finish();
}

/** How {@link serializeMetrics} writes. */
export interface SerializeOptions {
  /** Default 'text' (0.0.4); see negotiateFormat() to pick one from an Accept header. */
  format?: ExpositionFormat;
  /**
   * Classic bucket boundaries of exponential histograms whose instrument
   * gives none as advice (explicit-bucket histograms keep their own).
   * Default: powers of two from 2^-10 to 2^20.
   */
  histogramBoundaries?: readonly number[];
}

/** A serialized scrape: its Content-Type and body. */
export interface Exposition {
  /** The format's Content-Type, to answer with. */
  contentType: string;
  /**
   * The body in chunks of about 64 KiB, to write one after the other (a
   * scrape can be tens of megabytes: one Buffer would be one long copy).
   */
  chunks: Buffer[];
}

const OWNER = 'serializeMetrics';

/**
 * Metrics (as a MetricReader collects them, Summary points included) in a
 * Prometheus exposition format, built in slices of a few milliseconds that
 * yield to the event loop. What cannot be exposed is reported through diag
 * and left out; the output is always valid.
 * @throws {TypeError|RangeError} (as a rejection) for invalid options.
 */
export async function serializeMetrics(
  resourceMetrics: ResourceMetrics,
  options: SerializeOptions = {}
): Promise<Exposition> {
  const reader = new OptionReader(OWNER, options, [
    'format',
    'histogramBoundaries',
  ]);
  const format = reader.oneOf(
    'format',
    ['text', 'openmetrics', 'protobuf'],
    'text'
  );
  const chunks = await new SlicedTask(
    buildExposition(resourceMetrics, format, {
      histogramBoundaries: readHistogramBoundaries(reader),
      diag: new RateLimitedDiag(OWNER),
      namer: new LabelNamer(),
    })
  ).run();
  return { contentType: CONTENT_TYPES[format], chunks };
}
