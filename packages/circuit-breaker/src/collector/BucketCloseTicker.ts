import { SlicedTask } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { Breaker } from '../Breaker';
import { ClockFollowingInterval } from '../ClockFollowingInterval';
import { errorText } from '../readForeign';

/** What one tick does. */
export interface TickWork {
  /** The breakers whose buckets close, as of the tick. */
  breakers(): Iterable<Breaker>;
  /** Runs first, once per tick. */
  before(): void;
  /** Closes one breaker's bucket at `nowMillis`; what it throws is logged. */
  close(breaker: Breaker, nowMillis: number): void;
}

/**
 * One shared, unref'd timer for all of a collector's breakers: every
 * bucketMillis, while started, every breaker's bucket closes at the same
 * time, a few ms of breakers at a time (a large fleet never blocks the loop
 * for long; a few dozen close at once, within the tick). Closes the last
 * tick left unfinished are finished first: under fake timers ticked in a
 * loop, with no turn of the event loop between ticks, nothing is skipped.
 */
export class BucketCloseTicker {
  private readonly _work: TickWork;
  private readonly _diag: RateLimitedDiag;
  private readonly _interval: ClockFollowingInterval;
  /** The bucket closes of the last tick, while they run. */
  private _closing: SlicedTask<void> | undefined;

  constructor(bucketMillis: number, work: TickWork, diag: RateLimitedDiag) {
    this._work = work;
    this._diag = diag;
    this._interval = new ClockFollowingInterval(
      () => this._tick(),
      bucketMillis
    );
  }

  start(): void {
    this._interval.start();
  }

  stop(): void {
    this._interval.stop();
  }

  private _tick(): void {
    this._closing?.finish();
    this._work.before();
    const now = Date.now();
    const breakers = [...this._work.breakers()];
    const work = this._work;
    const diag = this._diag;
    const closeAll = function* () {
      for (const breaker of breakers) {
        if (!breaker.disposed) {
          try {
            work.close(breaker, now);
          } catch (error) {
            diag.error(
              'tick',
              `closing the bucket of '${breaker.name}' failed: ${errorText(error)}`
            );
          }
        }
        yield;
      }
    };
    this._closing = new SlicedTask(closeAll());
    this._closing
      .run()
      .catch(error =>
        this._diag.error('tick', `closing buckets failed: ${errorText(error)}`)
      );
  }
}
