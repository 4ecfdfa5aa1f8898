import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  OptionReader,
  RateLimitedDiag,
  SlicedTask,
} from '@datapunk/otel-common';
import { FamilyPlan, familyPoints } from './families';
import type { FamilyOptions, MetricFamily, WriteContext } from './families';
import type { FormatWriter } from './FormatWriter';
import { readHistogramBoundaries } from './histogramBoundaries';
import { LabelNamer } from './labels';
import { LabelSetSeen } from './LabelSetSeen';
import { CONTENT_TYPES } from './negotiate';
import type { ExpositionFormat } from './negotiate';
import { openMetricsWriter } from './openMetricsFormat';
import { protobufWriter } from './protobufFormat';
import { textWriter } from './textFormat';

/**
 * A scrape's response body in one format, built from a collection that
 * arrives in batches ({@link add}, one step per point): each family's
 * samples go to an output of its own, joined in order by {@link finish}.
 * Points live only as long as their batch.
 */
export class ExpositionBuilder {
  private readonly _plan: FamilyPlan;
  private readonly _writer: FormatWriter<unknown>;
  private readonly _context: WriteContext;
  private readonly _outputs = new Map<MetricFamily, unknown>();
  private readonly _seen = new Map<MetricFamily, LabelSetSeen>();

  constructor(format: ExpositionFormat, options: FamilyOptions & WriteContext) {
    this._plan = new FamilyPlan(options);
    this._context = options;
    this._writer = (
      format === 'protobuf'
        ? protobufWriter(options)
        : format === 'openmetrics'
          ? openMetricsWriter(options.namer)
          : textWriter()
    ) as FormatWriter<unknown>;
  }

  /** Writes the points of one batch. */
  *add(resourceMetrics: ResourceMetrics): Generator<void, void, undefined> {
    for (const source of this._plan.sources(resourceMetrics)) {
      const { family } = source;
      let seen = this._seen.get(family);
      if (seen === undefined) {
        seen = new LabelSetSeen();
        this._seen.set(family, seen);
      }
      for (const point of familyPoints(source, seen, this._context)) {
        if (point) {
          let output = this._outputs.get(family);
          if (output === undefined) {
            output = this._writer.open(family);
            this._outputs.set(family, output);
          }
          this._writer.point(output, family, point);
        }
        yield;
      }
    }
    // A batch's attributes objects are not seen again.
    this._context.namer.forgetPoints();
  }

  /** The body, in chunks of up to about 64 KiB. */
  finish(): Buffer[] {
    const written: [MetricFamily, unknown][] = [];
    for (const family of this._plan.families) {
      const output = this._outputs.get(family);
      if (output !== undefined) written.push([family, output]);
    }
    return this._writer.close(written);
  }
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
  const builder = new ExpositionBuilder(format, {
    histogramBoundaries: readHistogramBoundaries(reader),
    diag: new RateLimitedDiag(OWNER),
    namer: new LabelNamer(),
  });
  await new SlicedTask(builder.add(resourceMetrics)).run();
  return { contentType: CONTENT_TYPES[format], chunks: builder.finish() };
}
