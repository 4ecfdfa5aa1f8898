import type { TraceExample } from '../types';
import { FAILURE, OUTCOMES, SUCCESS, TIMEOUT } from '../window/tallies';
import { readSampledSpan } from './sampledSpan';
import type { SpanIds } from './sampledSpan';

/** Successful calls a bucket keeps as examples: its slowest. */
export const SLOWEST_PER_BUCKET = 3;
/** Failed calls (failure, timeout) a bucket keeps as examples: its first. */
export const FAILED_PER_BUCKET = 3;
const PER_BUCKET = SLOWEST_PER_BUCKET + FAILED_PER_BUCKET;
/** An entry not in use. */
const EMPTY = '';
const NONE: readonly TraceExample[] = Object.freeze([]);

/**
 * The window's buckets, each with a bucket's entries: entry i of bucket b
 * at b × PER_BUCKET + i, the slowest successful calls first, then the failed.
 */
interface Entries {
  traceIds: string[];
  spanIds: string[];
  millis: Float64Array;
  outcomes: Uint8Array;
  /** When each bucket closed; −∞ for the one being filled and those never closed. */
  closedAt: Float64Array;
}

/**
 * Example calls of each bucket of the window, by their trace: the
 * {@link SLOWEST_PER_BUCKET} slowest successful calls and the first
 * {@link FAILED_PER_BUCKET} failed ones (failure or timeout) that ran in a
 * sampled span. A call's span is read only if the bucket would keep it:
 * once a bucket holds its slowest three, a call no slower costs one
 * comparison, and once it holds three failures, a failure costs none.
 * Nothing is made per call; the entries are made on the first sampled
 * call, so a breaker nobody traces holds none.
 */
export class ExampleWindow {
  private readonly _buckets: number;
  private readonly _span: SpanIds = { traceId: EMPTY, spanId: EMPTY };
  private _entries: Entries | undefined;
  /** The bucket being filled. */
  private _current = 0;
  private _slow = 0;
  private _failed = 0;
  /** Once the bucket holds its slowest calls: the fastest of them, which a slower call replaces. */
  private _fastestEntry = 0;
  private _fastestMillis = 0;

  constructor(buckets: number) {
    this._buckets = buckets;
  }

  /** A call ended (outcome slot) after `millis`, a valid duration: kept if it is an example. */
  offer(outcome: number, millis: number): void {
    if (outcome === SUCCESS) {
      const full = this._slow === SLOWEST_PER_BUCKET;
      if (full && !(millis > this._fastestMillis)) return;
      if (!this._keep(full ? this._fastestEntry : this._slow, outcome, millis))
        return;
      if (!full) this._slow++;
      if (this._slow === SLOWEST_PER_BUCKET) this._findFastest();
    } else if (
      (outcome === FAILURE || outcome === TIMEOUT) &&
      this._failed < FAILED_PER_BUCKET
    ) {
      if (this._keep(SLOWEST_PER_BUCKET + this._failed, outcome, millis))
        this._failed++;
    }
  }

  /**
   * Ends the bucket being filled at `nowMillis` and starts the next, empty:
   * the examples of the one that ended.
   */
  close(nowMillis: number): readonly TraceExample[] {
    const entries = this._entries;
    const bucket = this._current;
    this._current = (bucket + 1) % this._buckets;
    this._slow = this._failed = 0;
    if (entries === undefined) return NONE;
    entries.closedAt[bucket] = nowMillis;
    entries.closedAt[this._current] = -Infinity;
    const start = this._current * PER_BUCKET;
    entries.traceIds.fill(EMPTY, start, start + PER_BUCKET);
    return this._read(bucket, nowMillis);
  }

  /** The examples of the buckets that closed at or after `sinceMillis`, oldest bucket first. */
  since(sinceMillis: number): TraceExample[] {
    const entries = this._entries;
    if (entries === undefined) return [];
    const examples: TraceExample[] = [];
    for (let i = 1; i <= this._buckets; i++) {
      const bucket = (this._current + i) % this._buckets;
      const closedAt = entries.closedAt[bucket];
      if (closedAt >= sinceMillis)
        examples.push(...this._read(bucket, closedAt));
    }
    return examples;
  }

  /** The failed calls kept so far in the bucket being filled, as of `nowMillis`. */
  failedSoFar(nowMillis: number): TraceExample[] {
    if (this._entries === undefined) return [];
    return this._read(this._current, nowMillis).filter(
      e => e.outcome !== OUTCOMES[SUCCESS]
    );
  }

  /** Writes the sampled span of the call under way into entry `entry` of the bucket; false if there is none. */
  private _keep(entry: number, outcome: number, millis: number): boolean {
    if (!readSampledSpan(this._span)) return false;
    const entries = (this._entries ??= newEntries(this._buckets));
    const i = this._current * PER_BUCKET + entry;
    entries.traceIds[i] = this._span.traceId;
    entries.spanIds[i] = this._span.spanId;
    entries.millis[i] = millis;
    entries.outcomes[i] = outcome;
    return true;
  }

  private _findFastest(): void {
    const millis = this._entries!.millis;
    const first = this._current * PER_BUCKET;
    let fastest = 0;
    for (let e = 1; e < SLOWEST_PER_BUCKET; e++)
      if (millis[first + e] < millis[first + fastest]) fastest = e;
    this._fastestEntry = fastest;
    this._fastestMillis = millis[first + fastest];
  }

  /** A bucket's examples: its slowest calls, slowest first, then its failed ones in the order they came. */
  private _read(bucket: number, timestampMillis: number): TraceExample[] {
    const entries = this._entries!;
    const slow: TraceExample[] = [];
    const failed: TraceExample[] = [];
    for (let e = 0; e < PER_BUCKET; e++) {
      const i = bucket * PER_BUCKET + e;
      if (entries.traceIds[i] === EMPTY) continue;
      (e < SLOWEST_PER_BUCKET ? slow : failed).push({
        traceId: entries.traceIds[i],
        spanId: entries.spanIds[i],
        outcome: OUTCOMES[entries.outcomes[i]],
        durationMillis: entries.millis[i],
        timestampMillis,
      });
    }
    slow.sort((a, b) => b.durationMillis - a.durationMillis);
    return [...slow, ...failed];
  }
}

function newEntries(buckets: number): Entries {
  return {
    traceIds: new Array<string>(buckets * PER_BUCKET).fill(EMPTY),
    spanIds: new Array<string>(buckets * PER_BUCKET).fill(EMPTY),
    millis: new Float64Array(buckets * PER_BUCKET),
    outcomes: new Uint8Array(buckets * PER_BUCKET),
    closedAt: new Float64Array(buckets).fill(-Infinity),
  };
}
