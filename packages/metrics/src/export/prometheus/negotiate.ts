import { OPENMETRICS_CONTENT_TYPE } from './openMetricsFormat';
import { PROTOBUF_CONTENT_TYPE } from './protobufFormat';
import { TEXT_CONTENT_TYPE } from './textFormat';

/** The exposition formats a scrape can get. */
export type ExpositionFormat = 'protobuf' | 'openmetrics' | 'text';

export const CONTENT_TYPES: Record<ExpositionFormat, string> = {
  protobuf: PROTOBUF_CONTENT_TYPE,
  openmetrics: OPENMETRICS_CONTENT_TYPE,
  text: TEXT_CONTENT_TYPE,
};

/** When only wildcards match, the format a person with curl most likely wants first. */
const WILDCARD_PREFERENCE: readonly ExpositionFormat[] = [
  'text',
  'openmetrics',
  'protobuf',
];

interface Offer {
  format: ExpositionFormat;
  q: number;
  /** Named outright (not through a wildcard). */
  explicit: boolean;
  position: number;
}

/**
 * The format to answer a scrape in, from its Accept header: the one with
 * the highest q, a format named outright before one matched by a wildcard,
 * then the one listed first. Protobuf only when offered as delimited
 * `io.prometheus.client.MetricFamily` (Prometheus 2.42 asks so only with
 * `--enable-feature=native-histograms`, and a server that sends it native
 * histograms unasked takes the target down); OpenMetrics in any version
 * (we write 1.0.0); text otherwise, and when there is no header.
 */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'text';
  const offers: Offer[] = [];
  accept.split(',').forEach((range, position) => {
    const [mediaType, ...parameters] = range.split(';').map(p => p.trim());
    const params = new Map(
      parameters.map(p => {
        const equals = p.indexOf('=');
        return [
          p.slice(0, equals).trim().toLowerCase(),
          p
            .slice(equals + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        ] as [string, string];
      })
    );
    const q = params.has('q') ? Number(params.get('q')) : 1;
    if (!(q > 0)) return;
    for (const format of formatsOf(mediaType.toLowerCase(), params))
      offers.push({ format, q, explicit: !mediaType.includes('*'), position });
  });
  offers.sort(
    (a, b) =>
      b.q - a.q ||
      Number(b.explicit) - Number(a.explicit) ||
      a.position - b.position ||
      WILDCARD_PREFERENCE.indexOf(a.format) -
        WILDCARD_PREFERENCE.indexOf(b.format)
  );
  return offers[0]?.format ?? 'text';
}

function formatsOf(
  mediaType: string,
  params: Map<string, string>
): ExpositionFormat[] {
  switch (mediaType) {
    case 'application/vnd.google.protobuf':
      return params.get('proto') === 'io.prometheus.client.MetricFamily' &&
        params.get('encoding') === 'delimited'
        ? ['protobuf']
        : [];
    case 'application/openmetrics-text':
      return ['openmetrics'];
    case 'text/plain':
    case 'text/*':
      return ['text'];
    case 'application/*':
      return ['openmetrics', 'protobuf'];
    case '*/*':
      return [...WILDCARD_PREFERENCE];
    default:
      return [];
  }
}
