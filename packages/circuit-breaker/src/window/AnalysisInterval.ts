import { ExponentialSketch, RunningStats } from '@datapunk/otel-sketch';
import { SKETCH_OPTIONS } from './CurrentBucket';

/** What the analysis looks at: one or more buckets' calls and successful latencies. */
export interface IntervalData {
  ranCalls: number;
  failedCalls: number;
  latencyCount: number;
  latencyMean: number;
  latencyP99: number;
}

/**
 * Buckets joined until they hold enough calls to judge: at 3 calls a
 * second, two buckets make one interval of 6. A busy breaker's interval is
 * its bucket. An interval that still has too few calls after `maxBuckets`
 * is let go (nothing to judge).
 */
export class AnalysisInterval {
  private readonly _minCalls: number;
  private readonly _maxBuckets: number;
  private _buckets = 0;
  private _ranCalls = 0;
  private _failedCalls = 0;
  private _stats = new RunningStats();
  private _latencies: ExponentialSketch | undefined;

  constructor(minCalls: number, maxBuckets: number) {
    this._minCalls = minCalls;
    this._maxBuckets = maxBuckets;
  }

  /**
   * Adds a closed bucket; returns the interval once it holds enough calls
   * (and starts a new one), or a bucket with nothing to judge meanwhile.
   */
  add(
    ranCalls: number,
    failedCalls: number,
    stats: RunningStats,
    latencies: ExponentialSketch | undefined
  ): IntervalData {
    if (this._buckets === 0 && ranCalls >= this._minCalls) {
      // The common case: a bucket with enough calls is its own interval.
      return intervalOf(ranCalls, failedCalls, stats, latencies);
    }
    this._buckets++;
    this._ranCalls += ranCalls;
    this._failedCalls += failedCalls;
    this._stats.merge(stats);
    if (latencies)
      (this._latencies ??= new ExponentialSketch(SKETCH_OPTIONS)).merge(
        latencies
      );
    if (this._ranCalls < this._minCalls && this._buckets < this._maxBuckets)
      return intervalOf(0, 0, new RunningStats(), undefined);
    const interval = intervalOf(
      this._ranCalls,
      this._failedCalls,
      this._stats,
      this._latencies
    );
    this._buckets = this._ranCalls = this._failedCalls = 0;
    this._stats = new RunningStats();
    this._latencies = undefined;
    return interval;
  }
}

function intervalOf(
  ranCalls: number,
  failedCalls: number,
  stats: RunningStats,
  latencies: ExponentialSketch | undefined
): IntervalData {
  return {
    ranCalls,
    failedCalls,
    latencyCount: stats.count,
    latencyMean: stats.mean,
    latencyP99: latencies ? latencies.quantile(0.99) : NaN,
  };
}
