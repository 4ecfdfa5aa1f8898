import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { OptionReader } from '@datapunk/otel-common';
import { isCollector } from '../adapters/attach';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import { copyOptions } from '../options';
import { DashboardStream } from './DashboardStream';
import { dashboardPage } from './page';
import { readTraceUrl } from './traceLinks';

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
  /**
   * Where requests go that it does not serve (another path, or a method
   * other than GET and HEAD) when it is called without `next` (as a
   * `node:http` listener, from fastify or koa). By default they get 404 (or
   * 405 on its own paths). As middleware, `next()` gets them.
   */
  onUnhandled?: (request: IncomingMessage, response: ServerResponse) => void;
  /**
   * Where an example call's trace is shown, as a URL template with
   * `{traceId}` and optionally `{spanId}`: e.g.
   * `http://localhost:16686/trace/{traceId}` (Jaeger) or
   * `https://grafana.example/explore?left={"queries":[{"query":"{traceId}"}]}`
   * (Tempo). With it, the example traces of an anomaly episode are listed
   * under its tile as links; without, as trace ids. Must be an absolute
   * http(s) URL.
   */
  traceUrl?: string;
}

/**
 * A `node:http` request listener, and Express/Connect middleware, with a
 * `close()` that ends its streams. Read-only: it serves GET and HEAD of its
 * page and its stream, and passes anything else on (see `onUnhandled`).
 */
export interface DashboardHandler {
  (request: IncomingMessage, response: ServerResponse, next?: () => void): void;
  close(): void;
}

type Route = 'page' | 'stream' | undefined;

/**
 * The live dashboard of a collector's breakers: per breaker its state,
 * health and reasons, calls per second, failure rate, p50/p90/p99,
 * sparklines of calls and p99, trips, anomaly episodes and patterns. It
 * serves nothing but these metrics and binds nowhere itself: the host's
 * server decides who reaches it.
 *
 * As middleware (called with `next`, e.g. `app.use('/breakers', handler)`,
 * which hands it the path below the mount point) it serves the page at `/`
 * and its Server-Sent Events at `/events`, and calls `next()` for anything
 * else. Without `next` (a server of its own, or a framework that hands over
 * the whole path) it serves the page at any path ending in `/` and the
 * events at any path ending in `/events`; anything else goes to
 * `onUnhandled`, or gets 404 or 405.
 * @throws {TypeError|RangeError} naming the option, for invalid options.
 */
export function createDashboardHandler(
  collector: CircuitBreakerMetrics,
  options: DashboardOptions = {}
): DashboardHandler {
  if (!isCollector(collector))
    throw new TypeError(`${OWNER}: collector must be a CircuitBreakerMetrics`);
  const reader = new OptionReader(OWNER, copyOptions(OWNER, options), [
    'title',
    'intervalMillis',
    'historyMillis',
    'maxClients',
    'maxBufferedBytes',
    'onUnhandled',
    'traceUrl',
  ]);
  const onUnhandled = reader.raw('onUnhandled') ?? undefined;
  if (onUnhandled !== undefined && typeof onUnhandled !== 'function')
    reader.failType('onUnhandled', 'a function', onUnhandled);
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
    traceLink: readTraceUrl(reader, 'traceUrl'),
  });

  const handler = ((request, response, next) => {
    const path = (request.url ?? '/').split('?')[0];
    const route = typeof next === 'function' ? mounted(path) : anywhere(path);
    const head = request.method === 'HEAD';
    if (route === undefined || (!head && request.method !== 'GET')) {
      if (typeof next === 'function') next();
      else if (onUnhandled) (onUnhandled as Unhandled)(request, response);
      else if (route === undefined) plain(response, 404, 'not found');
      else {
        response.setHeader('allow', 'GET, HEAD');
        plain(response, 405, 'read-only: GET or HEAD');
      }
      return;
    }
    if (route === 'stream') {
      if (!stream.accepting) plain(response, 503, 'too many dashboard clients');
      else if (head) stream.head(response);
      else stream.add(response);
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

type Unhandled = NonNullable<DashboardOptions['onUnhandled']>;

/** Middleware is handed the path below its mount point: exactly its two. */
function mounted(path: string): Route {
  if (path === '/' || path === '') return 'page';
  return path === '/events' ? 'stream' : undefined;
}

/** Handed a whole path, it cannot know where it is mounted: any `…/` and `…/events`. */
function anywhere(path: string): Route {
  if (path.endsWith('/events')) return 'stream';
  return path === '' || path.endsWith('/') ? 'page' : undefined;
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  response.end(text);
}
