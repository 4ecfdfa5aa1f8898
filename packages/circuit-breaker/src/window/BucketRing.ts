import { RunningStats } from '@datapunk/otel-sketch';
import { TALLIES, callsOf } from './tallies';

/**
 * The window: the tallies and latency statistics of the last `slots`
 * closed buckets, the oldest overwritten first, with running totals.
 */
export class BucketRing {
  private readonly _slots: number;
  private readonly _tallies: Float64Array;
  /** Each slot's latency statistics (a copy: buckets reuse theirs). */
  private readonly _stats: RunningStats[];
  private readonly _totals = new Float64Array(TALLIES);
  private _next = 0;

  constructor(slots: number) {
    this._slots = slots;
    this._tallies = new Float64Array(slots * TALLIES);
    this._stats = Array.from({ length: slots }, () => new RunningStats());
  }

  /** Totals over the window, in tally order. */
  get totals(): Float64Array {
    return this._totals;
  }

  push(tallies: Float64Array, stats: RunningStats): void {
    const offset = this._next * TALLIES;
    for (let i = 0; i < TALLIES; i++) {
      this._totals[i] += tallies[i] - this._tallies[offset + i];
      this._tallies[offset + i] = tallies[i];
    }
    const slot = this._stats[this._next];
    slot.clear();
    slot.merge(stats);
    this._next = (this._next + 1) % this._slots;
  }

  /** Calls that ran and failed in the window, and the failure rate (NaN without calls). */
  calls(): ReturnType<typeof callsOf> {
    return callsOf(this._totals);
  }

  /** Exact latency statistics of the window's successful calls. */
  latencyStats(): RunningStats {
    const merged = new RunningStats();
    for (const stats of this._stats) merged.merge(stats);
    return merged;
  }
}
