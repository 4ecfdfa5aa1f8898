import type { Exemplar } from './exemplars';
import { exemplarsByBucket, latestExemplar } from './exemplars';
import type {
  FamilyPoint,
  HistogramPoint,
  MetricFamily,
  SummaryPoint,
} from './families';
import type { FormatWriter } from './FormatWriter';
import { canonicalNumber } from './numbers';
import { TextSink } from './TextSink';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The Prometheus text format 0.0.4: per family one `# HELP` and one
 * `# TYPE` line before its samples (info as a gauge); no exemplars, units
 * or timestamps (Prometheus stamps the scrape).
 */
export function textWriter(): FormatWriter<TextSink> {
  return {
    open: () => new TextSink(),
    point: (sink, family, point) => writeSamples(sink, family, point),
    close: families =>
      families.flatMap(([family, sink]) => {
        const type = family.type === 'info' ? 'gauge' : family.type;
        const header = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${type}\n`;
        return [Buffer.from(header), ...sink.finish()];
      }),
  };
}

/** What a sample line ends with for its exemplar (OpenMetrics) or nothing. */
export type ExemplarSuffix = (exemplar: Exemplar | undefined) => string;

/**
 * A point's sample lines, shared by both text formats: histogram buckets
 * with canonical `le` values in ascending order and +Inf equal to the
 * count, summary quantiles the same way. With `exemplarSuffix`, counter
 * and bucket lines carry the latest exemplar that belongs to them.
 */
export function writeSamples(
  sink: TextSink,
  family: MetricFamily,
  point: FamilyPoint,
  exemplarSuffix?: ExemplarSuffix,
  omitSum?: (histogram: HistogramPoint) => boolean
): void {
  const { name } = family;
  const labels = point.labelText;
  const plain = labels ? `{${labels}} ` : ' ';
  const line = (sample: string, value: number, suffix = '') => {
    sink.write(sample);
    sink.write(plain);
    sink.writeNumber(value);
    sink.write(`${suffix}\n`);
  };
  switch (family.type) {
    case 'counter':
      line(
        name,
        point.value as number,
        exemplarSuffix?.(latestExemplar(point.exemplars))
      );
      return;
    case 'gauge':
    case 'info':
      line(name, point.value as number);
      return;
    case 'histogram': {
      const histogram = point.value as HistogramPoint;
      const { boundaries, cumulative, count } = histogram;
      const byBucket =
        exemplarSuffix && point.exemplars.length > 0
          ? exemplarsByBucket(point.exemplars, boundaries)
          : undefined;
      // Each bucket line: the same prefix, its le, its count.
      const prefix = Buffer.from(
        `${name}_bucket{${labels ? `${labels},` : ''}le="`,
        'utf8'
      );
      const les = leBytes(boundaries);
      for (let i = 0; i <= boundaries.length; i++) {
        sink.writeBytes(prefix);
        sink.writeBytes(i < boundaries.length ? les[i] : INF);
        sink.writeNumber(i < boundaries.length ? cumulative[i] : count);
        if (byBucket) sink.write(exemplarSuffix!(byBucket[i]));
        sink.writeBytes(LINE_FEED);
      }
      if (histogram.sum !== undefined && !omitSum?.(histogram))
        line(`${name}_sum`, histogram.sum);
      line(`${name}_count`, count);
      return;
    }
    case 'summary': {
      const summary = point.value as SummaryPoint;
      const within = labels ? `${labels},` : '';
      for (const { quantile, value } of summary.quantiles) {
        sink.write(
          `${name}{${within}quantile="${canonicalNumber(quantile)}"} `
        );
        sink.writeNumber(value);
        sink.writeBytes(LINE_FEED);
      }
      line(`${name}_sum`, summary.sum);
      line(`${name}_count`, summary.count);
      return;
    }
  }
}

/** HELP text of the 0.0.4 format: backslashes and line feeds escaped. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, c => (c === '\n' ? '\\n' : '\\\\'));
}

const LINE_FEED = Buffer.from('\n');
const INF = Buffer.from('+Inf"} ');

/** Boundaries are shared by every point of a metric: their `le="…"} ` ends are encoded once. */
const encodedBoundaries = new WeakMap<readonly number[], Buffer[]>();

function leBytes(boundaries: readonly number[]): Buffer[] {
  let encoded = encodedBoundaries.get(boundaries);
  if (encoded === undefined) {
    encoded = boundaries.map(b => Buffer.from(`${canonicalNumber(b)}"} `));
    encodedBoundaries.set(boundaries, encoded);
  }
  return encoded;
}
