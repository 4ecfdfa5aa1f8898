import type { Exemplar } from './exemplars';
import { exemplarsByBucket, latestExemplar } from './exemplars';
import type {
  FamilyPoint,
  HistogramPoint,
  MetricFamily,
  SummaryPoint,
} from './families';
import { canonicalNumber, sampleValue } from './numbers';
import type { TextSink } from './TextSink';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The Prometheus text format 0.0.4: per family one `# HELP` and one
 * `# TYPE` line before its samples (info as a gauge); no exemplars, units
 * or timestamps (Prometheus stamps the scrape). One step per point.
 */
export function* writeText(
  families: readonly MetricFamily[],
  sink: TextSink
): Generator<void, void, undefined> {
  for (const family of families) {
    const type = family.type === 'info' ? 'gauge' : family.type;
    sink.write(
      `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${type}\n`
    );
    for (const point of family.points) {
      writeSamples(sink, family, point);
      yield;
    }
  }
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
  const plain = labels ? `{${labels}}` : '';
  const within = labels ? `${labels},` : '';
  switch (family.type) {
    case 'counter': {
      const exemplar = exemplarSuffix
        ? exemplarSuffix(latestExemplar(point.exemplars))
        : '';
      sink.write(
        `${name}${plain} ${sampleValue(point.value as number)}${exemplar}\n`
      );
      return;
    }
    case 'gauge':
    case 'info':
      sink.write(`${name}${plain} ${sampleValue(point.value as number)}\n`);
      return;
    case 'histogram': {
      const histogram = point.value as HistogramPoint;
      const { boundaries, cumulative } = histogram;
      const byBucket =
        exemplarSuffix && point.exemplars.length > 0
          ? exemplarsByBucket(point.exemplars, boundaries)
          : undefined;
      const suffix = (i: number) =>
        byBucket ? exemplarSuffix!(byBucket[i]) : '';
      const les = canonicalBoundaries(boundaries);
      let lines = '';
      for (let i = 0; i < boundaries.length; i++)
        lines += `${name}_bucket{${within}le="${les[i]}"} ${sampleValue(cumulative[i])}${suffix(i)}\n`;
      lines += `${name}_bucket{${within}le="+Inf"} ${sampleValue(histogram.count)}${suffix(boundaries.length)}\n`;
      if (histogram.sum !== undefined && !omitSum?.(histogram))
        lines += `${name}_sum${plain} ${sampleValue(histogram.sum)}\n`;
      lines += `${name}_count${plain} ${sampleValue(histogram.count)}\n`;
      sink.write(lines);
      return;
    }
    case 'summary': {
      const summary = point.value as SummaryPoint;
      let lines = '';
      for (const { quantile, value } of summary.quantiles)
        lines += `${name}{${within}quantile="${canonicalNumber(quantile)}"} ${sampleValue(value)}\n`;
      lines += `${name}_sum${plain} ${sampleValue(summary.sum)}\n`;
      lines += `${name}_count${plain} ${sampleValue(summary.count)}\n`;
      sink.write(lines);
      return;
    }
  }
}

/** HELP text of the 0.0.4 format: backslashes and line feeds escaped. */
function escapeHelp(help: string): string {
  return help.replace(/[\\\n]/g, c => (c === '\n' ? '\\n' : '\\\\'));
}

/** Boundaries are shared by every point of a metric: their `le` strings are made once. */
const canonical = new WeakMap<readonly number[], string[]>();

function canonicalBoundaries(boundaries: readonly number[]): string[] {
  let strings = canonical.get(boundaries);
  if (strings === undefined) {
    strings = boundaries.map(canonicalNumber);
    canonical.set(boundaries, strings);
  }
  return strings;
}
