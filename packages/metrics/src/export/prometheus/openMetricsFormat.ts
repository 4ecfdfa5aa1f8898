import type { Exemplar } from './exemplars';
import { exposeExemplar } from './exemplars';
import type { HistogramPoint, MetricFamily } from './families';
import type { FormatWriter } from './FormatWriter';
import { escapeLabelValue, renderLabels } from './labels';
import type { LabelNamer } from './labels';
import { sampleValue } from './numbers';
import { writeSamples } from './textFormat';
import { TextSink } from './TextSink';

export const OPENMETRICS_CONTENT_TYPE =
  'application/openmetrics-text; version=1.0.0; charset=utf-8';

/**
 * OpenMetrics 1.0 text: families named without their `_total` (counters)
 * or `_info` (info) suffix, `# UNIT` where the name ends in the unit,
 * HELP escaped as label values are, exemplars on counter `_total` and histogram `_bucket` lines only (the
 * only places it allows them, and Prometheus 2.42 fails a whole scrape for
 * one anywhere else), `# EOF` at the end.
 */
export function openMetricsWriter(namer: LabelNamer): FormatWriter<TextSink> {
  const exemplarSuffix = (exemplar: Exemplar | undefined) =>
    exemplar === undefined ? '' : exemplarText(exemplar, namer);
  return {
    open: () => new TextSink(),
    point: (sink, family, point) =>
      writeSamples(sink, family, point, exemplarSuffix, hasNegatives),
    close: families => [
      ...families.flatMap(([family, sink]) => [
        Buffer.from(header(family)),
        ...sink.finish(),
      ]),
      Buffer.from('# EOF\n'),
    ],
  };
}

function header(family: MetricFamily): string {
  const name =
    family.type === 'counter'
      ? family.name.replace(/_total$/, '')
      : family.type === 'info'
        ? family.name.replace(/_info$/, '')
        : family.name;
  let text = `# HELP ${name} ${escapeLabelValue(family.help)}\n# TYPE ${name} ${family.type}\n`;
  if (family.unit && name.endsWith(`_${family.unit}`))
    text += `# UNIT ${name} ${family.unit}\n`;
  return text;
}

/** ` # {trace_id="…",…} value seconds` */
function exemplarText(exemplar: Exemplar, namer: LabelNamer): string {
  const { labels, value, seconds, nanos } = exposeExemplar(exemplar, namer);
  const fraction = nanos > 0 ? `.${String(nanos).padStart(9, '0')}` : '';
  return ` # {${renderLabels(labels)}} ${sampleValue(value)} ${seconds}${fraction.replace(/0+$/, '')}`;
}

/**
 * A histogram with negative buckets or a negative sum: OpenMetrics allows
 * those only without a `_sum` (which would no longer be a counter).
 */
function hasNegatives(histogram: HistogramPoint): boolean {
  return (histogram.sum ?? 0) < 0 || histogram.boundaries[0] < 0;
}
