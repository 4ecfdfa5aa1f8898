import { ExponentialSketch, RunningStats } from '@datapunk/otel-sketch';
import { OUTCOMES, SUCCESS, TALLIES } from './tallies';

/** Latency sketches: scale ≤ 5, every percentile within 1.083%. */
export const SKETCH_OPTIONS = { maxScale: 5 };

/** What a closed bucket held. */
export interface BucketData {
  tallies: Float64Array;
  /** Latencies (ms) per outcome, in OUTCOMES order, made on first use. */
  latencies: (ExponentialSketch | undefined)[];
  /** Exact statistics of successful calls' latencies. */
  latencyStats: RunningStats;
  /** Most calls in flight at once during the bucket. */
  inFlightMax: number;
  /** Resource samples, latest per name. */
  resources: Map<string, number>;
}

/**
 * The bucket being filled: what each call writes (a counter, a sketch
 * record and running stats; no clock read, no allocation). The analysis
 * and the rolling percentiles look at successful calls only: a timeout's
 * duration is the timeout, and failures count in the error rate.
 *
 * Two buckets take turns: take() hands over the filled one and clears the
 * other for the next second, keeping its sketches' arrays, so a bucket
 * close allocates nothing.
 */
export class CurrentBucket {
  private _data: BucketData = emptyBucket();
  private _spare: BucketData = emptyBucket();
  private _inFlight = 0;

  get inFlight(): number {
    return this._inFlight;
  }

  get resourceCount(): number {
    return this._data.resources.size;
  }

  hasResource(name: string): boolean {
    return this._data.resources.has(name);
  }

  callStarted(): void {
    if (++this._inFlight > this._data.inFlightMax)
      this._data.inFlightMax = this._inFlight;
  }

  /** Counts a call by outcome slot; its latency (a valid duration) when given. */
  callEnded(index: number, latencyMillis: number | undefined): void {
    const data = this._data;
    data.tallies[index]++;
    if (this._inFlight > 0) this._inFlight--;
    if (latencyMillis === undefined) return;
    (data.latencies[index] ??= new ExponentialSketch(SKETCH_OPTIONS)).record(
      latencyMillis
    );
    if (index === SUCCESS) data.latencyStats.record(latencyMillis);
  }

  count(slot: number): void {
    this._data.tallies[slot]++;
  }

  resource(name: string, value: number): void {
    this._data.resources.set(name, value);
  }

  /**
   * Ends the bucket: returns its data, valid until the next take(), and
   * starts an empty one.
   */
  take(): BucketData {
    const data = this._data;
    const next = this._spare;
    next.tallies.fill(0);
    for (const sketch of next.latencies) sketch?.clear();
    next.latencyStats.clear();
    next.inFlightMax = this._inFlight;
    next.resources.clear();
    this._data = next;
    this._spare = data;
    return data;
  }
}

function emptyBucket(): BucketData {
  return {
    tallies: new Float64Array(TALLIES),
    latencies: new Array(OUTCOMES.length).fill(undefined),
    latencyStats: new RunningStats(),
    inFlightMax: 0,
    resources: new Map(),
  };
}
