import type { OptionReader } from '@datapunk/otel-common';
import type { TraceExample } from '../types';

/** The link to one example call's trace. */
export type TraceLink = (example: TraceExample) => string;

const TRACE_ID = '{traceId}';
const SPAN_ID = '{spanId}';
const MAX_TEMPLATE_LENGTH = 2048;

/**
 * The `traceUrl` option: a URL template with `{traceId}` (and, if the
 * tracing UI takes it, `{spanId}`), e.g.
 * `http://localhost:16686/trace/{traceId}` for Jaeger; undefined when not
 * given. It must read as an absolute http(s) URL once the ids are in, so a
 * link can only lead to a web page (never `javascript:`).
 * @throws {TypeError|RangeError} naming the option and the rule.
 */
export function readTraceUrl(
  reader: OptionReader,
  name: string
): TraceLink | undefined {
  if (reader.raw(name) == null) return undefined;
  const template = reader.string(name);
  if (template.length > MAX_TEMPLATE_LENGTH)
    reader.fail(name, `must be at most ${MAX_TEMPLATE_LENGTH} characters`);
  if (!template.includes(TRACE_ID))
    reader.fail(name, `must contain ${TRACE_ID}`, template);
  const link: TraceLink = ({ traceId, spanId }) =>
    template.replaceAll(TRACE_ID, traceId).replaceAll(SPAN_ID, spanId);
  let url: URL | undefined;
  try {
    url = new URL(
      link({ traceId: '0'.repeat(32), spanId: '0'.repeat(16) } as TraceExample)
    );
  } catch {
    url = undefined;
  }
  if (
    url === undefined ||
    (url.protocol !== 'http:' && url.protocol !== 'https:')
  )
    reader.fail(name, 'must be an absolute http or https URL', template);
  return link;
}
