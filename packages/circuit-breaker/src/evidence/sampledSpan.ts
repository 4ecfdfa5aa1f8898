import {
  TraceFlags,
  context,
  isValidSpanId,
  isValidTraceId,
  trace,
} from '@opentelemetry/api';

/** Where {@link readSampledSpan} writes the ids it read. */
export interface SpanIds {
  traceId: string;
  spanId: string;
}

/**
 * Reads the ids of the span active in the caller's context into `into`, if
 * it is sampled (an unsampled span's trace goes nowhere a link could reach)
 * and its ids are well-formed hex; each id read once, so a span that
 * changes them cannot pass the check with one and hand over another.
 * Nothing is made. False without a context manager or a span (~10 ns then),
 * or if a foreign span or context throws.
 */
export function readSampledSpan(into: SpanIds): boolean {
  try {
    const span = trace.getSpanContext(context.active());
    if (
      span === undefined ||
      (span.traceFlags & TraceFlags.SAMPLED) !== TraceFlags.SAMPLED
    )
      return false;
    const { traceId, spanId } = span;
    if (
      typeof traceId !== 'string' ||
      typeof spanId !== 'string' ||
      !isValidTraceId(traceId) ||
      !isValidSpanId(spanId)
    )
      return false;
    into.traceId = traceId;
    into.spanId = spanId;
    return true;
  } catch {
    return false;
  }
}
