import { diag } from '@opentelemetry/api';
import type { DiagLogger } from '@opentelemetry/api';

type Level = 'error' | 'warn' | 'info' | 'debug';

/**
 * Reports through OpenTelemetry's `diag` at most once per interval for each
 * key, so a flood of bad input cannot flood the host's logs; the next
 * message after a quiet spell says how many were suppressed. Reads the clock
 * only when something is reported, never on a success path.
 */
export class RateLimitedDiag {
  private readonly _prefix: string;
  private readonly _intervalMillis: number;
  private readonly _logger: () => DiagLogger;
  private readonly _reportError: ((error: Error) => void) | undefined;
  private readonly _lastReport = new Map<
    string,
    { at: number; suppressed: number }
  >();

  /**
   * @param prefix         put before every message, e.g. the component name.
   * @param intervalMillis quiet time per key after a report; default 60 s.
   * @param logger         where to report; OpenTelemetry's global `diag` by default.
   * @param reportError    where errors go instead of the logger, e.g. the
   *   SDK's `globalErrorHandler`, so background failures reach the handler a
   *   user set, as the SDK's own do.
   */
  constructor(
    prefix: string,
    intervalMillis = 60_000,
    logger: () => DiagLogger = () => diag,
    reportError?: (error: Error) => void
  ) {
    this._prefix = prefix;
    this._intervalMillis = intervalMillis;
    this._logger = logger;
    this._reportError = reportError;
  }

  error(key: string, message: string): void {
    this._report('error', key, message);
  }

  warn(key: string, message: string): void {
    this._report('warn', key, message);
  }

  info(key: string, message: string): void {
    this._report('info', key, message);
  }

  debug(key: string, message: string): void {
    this._report('debug', key, message);
  }

  private _report(level: Level, key: string, message: string): void {
    const now = Date.now();
    const last = this._lastReport.get(key);
    if (last && now - last.at < this._intervalMillis) {
      last.suppressed++;
      return;
    }
    const suppressed = last?.suppressed ?? 0;
    this._lastReport.set(key, { at: now, suppressed: 0 });
    const note = suppressed > 0 ? ` (${suppressed} similar suppressed)` : '';
    const text = `${this._prefix}: ${message}${note}`;
    if (level === 'error' && this._reportError)
      this._reportError(new Error(text));
    else this._logger()[level](text);
  }
}
