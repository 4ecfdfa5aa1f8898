import type { Attributes } from '@opentelemetry/api';
import type { ServerResponse } from 'node:http';
import { RateLimitedDiag, SlicedTask } from '@datapunk/otel-common';
import type { IDisposable } from '@datapunk/otel-common';
import type { CircuitBreakerMetrics } from '../CircuitBreakerMetrics';
import type { BucketCloseEvent } from '../types';
import { History } from './History';
import type { HistoryPoint } from './History';
import { tileId, toTile } from './tiles';
import type { Tile } from './tiles';
import type { TraceLink } from './traceLinks';

export interface DashboardStreamOptions {
  intervalMillis: number;
  historyPoints: number;
  maxClients: number;
  maxBufferedBytes: number;
  /** Links of example traces; undefined: ids only. */
  traceLink: TraceLink | undefined;
}

/** A breaker the stream has seen close a bucket, and its calls since the last frame. */
interface Watched {
  name: string;
  attributes: Attributes;
  calls: number;
  /** The time the buckets those calls came from cover. */
  coveredMillis: number;
  history: History;
}

/**
 * The Server-Sent Events behind the dashboard. While anyone watches, it
 * counts each breaker's calls from the collector's bucket closes and, right
 * after the closes of a tick at least `intervalMillis` after the last frame
 * (less half a bucket, for timer jitter), builds one frame of tiles
 * (breakers a few ms at a time, yielding to the event loop) and writes the
 * same bytes to every client. Frames follow the closes because a breaker's
 * window and health change only there: a frame on a timer of its own could
 * run just before each close and show every bucket a whole interval late.
 * When no bucket closes (no breakers), a timer still sends a frame every two
 * intervals (or buckets, if longer), so disposed breakers leave the page. A new client first gets
 * the sparkline history. A client that does not keep up (more than
 * `maxBufferedBytes` unsent) is dropped, never buffered for; it reconnects
 * by itself (EventSource) when it can.
 */
export class DashboardStream {
  private readonly _collector: CircuitBreakerMetrics;
  private readonly _options: DashboardStreamOptions;
  private readonly _diag = new RateLimitedDiag('dashboard');
  private readonly _clients = new Set<ServerResponse>();
  private readonly _watched = new Map<string, Watched>();
  private _subscription: IDisposable | undefined;
  private _timer: ReturnType<typeof setInterval> | undefined;
  private _building: SlicedTask<string> | undefined;
  private _lastFrameMillis = 0;
  private _lastCloseMillis = 0;
  private _bucketMillis = 0;
  private _closed = false;

  constructor(
    collector: CircuitBreakerMetrics,
    options: DashboardStreamOptions
  ) {
    this._collector = collector;
    this._options = options;
  }

  /** Clients connected now. */
  get clients(): number {
    return this._clients.size;
  }

  /** Whether another client can be added now. */
  get accepting(): boolean {
    return !this._closed && this._clients.size < this._options.maxClients;
  }

  /** Answers a HEAD of the stream: its headers, no body, no client slot taken. */
  head(response: ServerResponse): void {
    response.writeHead(200, STREAM_HEADERS);
    response.end();
  }

  /** Starts streaming to `response`; false (nothing written) when full or closed. */
  add(response: ServerResponse): boolean {
    if (!this.accepting) return false;
    response.writeHead(200, STREAM_HEADERS);
    response.write(`retry: 1000\n\n${event('history', this._history())}`);
    this._clients.add(response);
    const forget = () => this._remove(response);
    response.on('close', forget);
    response.on('error', forget);
    this._start();
    return true;
  }

  /** Ends every stream and stops sampling. */
  close(): void {
    this._closed = true;
    for (const client of [...this._clients]) client.end();
    this._stop();
  }

  private _remove(response: ServerResponse): void {
    this._clients.delete(response);
    if (this._clients.size === 0) this._stop();
  }

  private _start(): void {
    if (this._timer !== undefined) return;
    this._lastFrameMillis = Date.now();
    this._subscription = this._collector.onBucketClose(e => this._count(e));
    this._timer = setInterval(
      () => this._tickWithoutCloses(),
      this._options.intervalMillis
    );
    this._timer.unref();
  }

  private _stop(): void {
    if (this._timer !== undefined) clearInterval(this._timer);
    this._timer = undefined;
    this._subscription?.dispose();
    this._subscription = undefined;
  }

  private _count(closed: BucketCloseEvent): void {
    const id = tileId(closed.breaker, closed.attributes);
    let watched = this._watched.get(id);
    if (watched === undefined) {
      watched = {
        name: closed.breaker,
        attributes: closed.attributes,
        calls: 0,
        coveredMillis: 0,
        history: new History(this._options.historyPoints),
      };
      this._watched.set(id, watched);
    }
    for (const count of Object.values(closed.calls)) watched.calls += count;
    watched.coveredMillis += closed.bucketMillis;
    if (closed.timestampMillis === this._lastCloseMillis) return;
    // The first close of a tick: the frame goes out once this slice of
    // closes is done.
    this._lastCloseMillis = closed.timestampMillis;
    this._bucketMillis = closed.bucketMillis;
    const due = this._options.intervalMillis - closed.bucketMillis / 2;
    if (closed.timestampMillis - this._lastFrameMillis >= due)
      setImmediate(() => this._timer !== undefined && this._tick()).unref();
  }

  /** The timer's frame, only when closes have stopped bringing them. */
  private _tickWithoutCloses(): void {
    const period = Math.max(this._options.intervalMillis, this._bucketMillis);
    if (Date.now() - this._lastFrameMillis >= 2 * period) this._tick();
  }

  /** A frame still being built when the next is due skips that one. */
  private _tick(): void {
    if (this._building !== undefined) return;
    const now = Date.now();
    this._lastFrameMillis = now;
    this._building = new SlicedTask(this._frame(now));
    this._building
      .run()
      .then(frame => this._broadcast(frame))
      .catch(error =>
        this._diag.error('frame', `building a frame failed: ${String(error)}`)
      )
      .finally(() => (this._building = undefined));
  }

  private *_frame(now: number): Generator<void, string> {
    const tiles: Tile[] = [];
    for (const [id, watched] of [...this._watched]) {
      const snapshot = this._collector.getSnapshot(
        watched.name,
        watched.attributes
      );
      if (snapshot === undefined) {
        this._watched.delete(id); // disposed
        continue;
      }
      // Per second of the buckets counted, not of the time since the last
      // frame: the first frame after a client connects counts whole buckets
      // begun before it.
      const tile = toTile(
        snapshot,
        watched.coveredMillis > 0
          ? watched.calls / (watched.coveredMillis / 1000)
          : 0,
        this._options.traceLink
      );
      watched.calls = 0;
      watched.coveredMillis = 0;
      watched.history.push([now, tile.callsPerSecond, tile.p99]);
      tiles.push(tile);
      yield;
    }
    return event('frame', JSON.stringify({ t: now, breakers: tiles }));
  }

  private _broadcast(frame: string): void {
    for (const client of this._clients) {
      if (client.writableLength > this._options.maxBufferedBytes) {
        this._diag.warn(
          'slow_client',
          `a dashboard client fell ${client.writableLength} bytes behind: dropped (it reconnects when it can)`
        );
        this._clients.delete(client);
        client.destroy();
        continue;
      }
      client.write(frame);
    }
  }

  private _history(): string {
    const points: Record<string, HistoryPoint[]> = {};
    for (const [id, watched] of this._watched)
      points[id] = watched.history.points();
    return JSON.stringify({
      intervalMillis: this._options.intervalMillis,
      historyPoints: this._options.historyPoints,
      points,
    });
  }
}

const STREAM_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-store',
  connection: 'keep-alive',
  'x-content-type-options': 'nosniff',
};

/** One Server-Sent Event. `data` is one line of JSON. */
function event(name: string, data: string): string {
  return `event: ${name}\ndata: ${data}\n\n`;
}
