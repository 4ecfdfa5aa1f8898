import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { OptionReader } from '@datapunk/otel-common';
import { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { DashboardStream } from './DashboardStream';
import { dashboardPage } from './page';

const OWNER = 'createDashboardHandler';

export interface DashboardOptions {
  /** The page's title. Default 'Circuit breakers'. */
  title?: string;
  /**
   * How often the stream sends a frame. Default 1000; 100 to 60000. Frames
   * go out right after the collector closes its buckets, so they are at
   * least one bucket apart.
   */
  intervalMillis?: number;
  /** Sparkline length. Default 300000 (5 min); up to 3600 frames. */
  historyMillis?: number;
  /** Streams open at once; more get 503. Default 32. */
  maxClients?: number;
  /** Unsent bytes a client may fall behind before it is dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
}

/**
 * A `node:http` request listener (also Express/Connect middleware: it calls
 * `next()` for paths it does not serve) with a `close()` that ends its
 * streams. Read-only: GET and HEAD only.
 */
export interface DashboardHandler {
  (request: IncomingMessage, response: ServerResponse, next?: () => void): void;
  close(): void;
}

/**
 * The live dashboard of a collector's breakers. Mounted at some path, it
 * serves the page at that path (`/` or `…/`) and its Server-Sent Events at
 * `…/events`: per breaker its state, health and reasons, calls per second,
 * failure rate, p50/p90/p99, sparklines of calls and p99, trips, anomaly
 * episodes and patterns. It serves nothing but these metrics and binds
 * nowhere itself: the host's server decides who reaches it.
 * @throws {TypeError|RangeError} naming the option, for invalid options.
 */
export function createDashboardHandler(
  collector: CircuitBreakerMetrics,
  options: DashboardOptions = {}
): DashboardHandler {
  if (!(collector instanceof CircuitBreakerMetrics))
    throw new TypeError(`${OWNER}: collector must be a CircuitBreakerMetrics`);
  const reader = new OptionReader(OWNER, options, [
    'title',
    'intervalMillis',
    'historyMillis',
    'maxClients',
    'maxBufferedBytes',
  ]);
  const title = reader.string('title', 'Circuit breakers');
  const intervalMillis = reader.integer('intervalMillis', 1000, {
    min: 100,
    max: 60_000,
  });
  const historyMillis = reader.integer('historyMillis', 300_000, {
    min: intervalMillis,
    max: intervalMillis * 3600,
  });
  const stream = new DashboardStream(collector, {
    intervalMillis,
    historyPoints: Math.floor(historyMillis / intervalMillis),
    maxClients: reader.integer('maxClients', 32, { min: 1, max: 10_000 }),
    maxBufferedBytes: reader.integer('maxBufferedBytes', 1 << 20, {
      min: 1024,
    }),
  });

  const handler = ((request, response, next) => {
    const path = (request.url ?? '/').split('?')[0];
    const isStream = path.endsWith('/events');
    const isPage = path === '' || path.endsWith('/');
    if (!isStream && !isPage) {
      if (next) next();
      else plain(response, 404, 'not found');
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      plain(response, 405, 'read-only: GET or HEAD');
      return;
    }
    if (isStream) {
      if (!stream.add(response))
        plain(response, 503, 'too many dashboard clients');
      return;
    }
    const nonce = randomBytes(16).toString('base64');
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; frame-ancestors 'none'`,
    });
    response.end(
      request.method === 'HEAD' ? undefined : dashboardPage(title, nonce)
    );
  }) as DashboardHandler;
  handler.close = () => stream.close();
  return handler;
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(text);
}
