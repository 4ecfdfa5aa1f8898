import * as api from '@opentelemetry/api';
import type { Attributes } from '@opentelemetry/api';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import { errorText } from '../readForeign';
import * as semconv from '../semconv';
import type {
  AnomalyEndEvent,
  AnomalyEvent,
  LoggerProviderLike,
  LogRecordLike,
  TraceExample,
} from '../types';
import { VERSION } from '../version';

const SCOPE = '@datapunk/otel-circuit-breaker';
/** The optional peer that has the logs API for `@opentelemetry/api` before 1.10. */
const LOGS_PACKAGE = '@opentelemetry/api-logs';
/** SeverityNumber of the logs API (not imported: `@opentelemetry/api` 1.9 has none). */
const INFO = 9;
const WARN = 13;

type Logger = ReturnType<LoggerProviderLike['getLogger']>;

/**
 * The global LoggerProvider of the logs API: `logs` of
 * `@opentelemetry/api` (1.10 on), else of the optional peer
 * `@opentelemetry/api-logs`; undefined if neither is there. Both follow a
 * provider registered later.
 */
export function globalLoggerProvider(): LoggerProviderLike | undefined {
  const fromApi = (api as { logs?: LoggerProviderLike }).logs;
  if (fromApi !== undefined) return fromApi;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(LOGS_PACKAGE) as { logs?: LoggerProviderLike }).logs;
  } catch {
    return undefined;
  }
}

/**
 * Anomaly episodes (start, end) and trips as OpenTelemetry log records, for
 * a backend to show as annotations beside the metrics: the breaker, the
 * kind, the scores and the example calls' trace ids as attributes. A
 * logger that throws is reported through `diag`, never to the caller.
 */
export class EpisodeLog {
  private readonly _logger: Logger;
  private readonly _diag: RateLimitedDiag;

  constructor(provider: LoggerProviderLike, diag: RateLimitedDiag) {
    this._logger = provider.getLogger(SCOPE, VERSION);
    this._diag = diag;
  }

  started(event: AnomalyEvent): void {
    const about = subject(event.kind, event.resource);
    this._emit({
      eventName: semconv.EVENT_ANOMALY_START,
      timestamp: event.timestampMillis,
      severityNumber: WARN,
      severityText: 'WARN',
      body: `${about} anomaly started on breaker ${event.breaker} (score ${event.score.toFixed(1)})`,
      attributes: {
        ...episodeAttributes(event, event.examples),
        [semconv.ATTR_ANOMALY_DIRECTION]: event.direction,
        [semconv.ATTR_ANOMALY_SCORE]: event.score,
        [semconv.ATTR_ANOMALY_START_TIME]: event.startMillis,
      },
    });
  }

  ended(event: AnomalyEndEvent): void {
    const about = subject(event.kind, event.resource);
    this._emit({
      eventName: semconv.EVENT_ANOMALY_END,
      timestamp: event.timestampMillis,
      severityNumber: INFO,
      severityText: 'INFO',
      body: `${about} anomaly ended on breaker ${event.breaker} (${event.reason}, peak score ${event.peakScore.toFixed(1)})`,
      attributes: {
        ...episodeAttributes(event, event.examples),
        [semconv.ATTR_ANOMALY_DIRECTION]: event.direction,
        [semconv.ATTR_ANOMALY_PEAK_SCORE]: event.peakScore,
        [semconv.ATTR_ANOMALY_END_REASON]: event.reason,
        [semconv.ATTR_ANOMALY_START_TIME]: event.startMillis,
      },
    });
  }

  /** `breaker` opened at `nowMillis`; `examples`: failed calls that led to it. */
  tripped(
    breaker: { name: string; attributes: Attributes },
    examples: readonly TraceExample[],
    nowMillis: number
  ): void {
    this._emit({
      eventName: semconv.EVENT_TRIP,
      timestamp: nowMillis,
      severityNumber: WARN,
      severityText: 'WARN',
      body: `breaker ${breaker.name} opened`,
      attributes: {
        ...breaker.attributes,
        [semconv.ATTR_NAME]: breaker.name,
        ...exampleAttributes(examples),
      },
    });
  }

  private _emit(record: LogRecordLike): void {
    try {
      this._logger.emit(record);
    } catch (error) {
      this._diag.warn(
        'log_record',
        `a ${record.eventName} log record was not emitted: the logger threw ${errorText(error)}`
      );
    }
  }
}

function subject(kind: string, resource: string | undefined): string {
  return resource === undefined ? kind : `${kind} (${resource})`;
}

function episodeAttributes(
  event: {
    breaker: string;
    attributes: Attributes;
    kind: string;
    resource?: string;
  },
  examples: readonly TraceExample[]
): Attributes {
  return {
    ...event.attributes,
    [semconv.ATTR_NAME]: event.breaker,
    [semconv.ATTR_ANOMALY_KIND]: event.kind,
    ...(event.resource === undefined
      ? {}
      : { [semconv.ATTR_RESOURCE]: event.resource }),
    ...exampleAttributes(examples),
  };
}

function exampleAttributes(examples: readonly TraceExample[]): Attributes {
  if (examples.length === 0) return {};
  return {
    [semconv.ATTR_EXAMPLE_TRACE_IDS]: examples.map(e => e.traceId),
    [semconv.ATTR_EXAMPLE_SPAN_IDS]: examples.map(e => e.spanId),
  };
}
