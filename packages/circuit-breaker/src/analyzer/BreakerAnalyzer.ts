import type { ResolvedOptions } from '../options';
import { BreakerState } from '../types';
import type { AnomalyKind, BreakerHealth, HealthStatus } from '../types';
import { AnomalyDetector } from './AnomalyDetector';
import type { AnomalyResult } from './AnomalyDetector';
import { Streak } from './Streak';
import { TrendEstimator } from './TrendEstimator';
import type { Trend } from './TrendEstimator';
import { TripPatterns } from './TripPatterns';
import type { PatternChange, TripPatternState } from './TripPatterns';

/** One closed bucket, as the analyzer sees it. */
export interface BucketInput {
  /** Calls that ran: success, failure, timeout and capacity (rejected and ignored left out). */
  ranCalls: number;
  /** failure + timeout + capacity. */
  failedCalls: number;
  /** Latencies recorded, their mean and p99 (ms); NaN when none. */
  latencyCount: number;
  latencyMean: number;
  latencyP99: number;
  /** Resource samples of the bucket, in-flight calls among them. */
  resources: ReadonlyMap<string, number>;
}

/** The rolling window as of the same close, that bucket included. */
export interface WindowInput {
  ranCalls: number;
  failedCalls: number;
  failureRate: number;
  latencyP99: number;
}

/** An anomaly as the analyzer tracks it. */
export interface AnomalyStatus {
  kind: AnomalyKind;
  resource?: string;
  score: number;
  active: boolean;
  direction: 'up' | 'down' | undefined;
  value: number;
  mean: number;
  stddev: number;
}

/** What changed at this close, for events. */
export interface AnalysisChanges {
  /** Anomalies that became active now. */
  onsets: AnomalyStatus[];
  patterns: PatternChange[];
  health: { previous: HealthStatus; current: BreakerHealth } | undefined;
}

/** Resources watched per breaker; more are ignored (and reported by the caller). */
export const MAX_RESOURCES = 16;
/** Calls the window must hold before a bucket's errors are judged against it. */
const ERROR_BASELINE_CALLS = 50;
/** Calls in flight are a count: one more call is not an anomaly. */
const IN_FLIGHT_SIGMA_FLOOR = 1;
export const IN_FLIGHT = 'in_flight';
/** A latency trend matters from a 10% change over the trend window. */
const LATENCY_MATERIALITY = { relative: 0.1, absolute: 0 };
/** An error-rate trend matters from 10% of its level, and at least 1 point of rate. */
const ERROR_MATERIALITY = { relative: 0.1, absolute: 0.01 };
/** A window failure rate this high makes a breaker unhealthy even while closed. */
const UNHEALTHY_FAILURE_RATE = 0.5;

/**
 * The analysis of one breaker, run at every bucket close: z-score anomalies
 * of latency (mean and p99) and error rate with persistence and a minimum
 * volume per bucket, SLO breaches, trends over the trend window, trip
 * patterns, EWMA baselines of resources, and the health that follows.
 * Pure logic: time comes in with each call.
 */
export class BreakerAnalyzer {
  private readonly _options: ResolvedOptions;
  private readonly _latency: AnomalyDetector;
  private readonly _latencyP99: AnomalyDetector;
  private readonly _errorRate: Streak;
  private readonly _resources = new Map<string, AnomalyDetector>();
  private readonly _latencyTrend: TrendEstimator;
  private readonly _errorTrend: TrendEstimator;
  private readonly _trips: TripPatterns;
  private readonly _anomalies = new Map<string, AnomalyStatus>();
  private _tripState: TripPatternState;
  private _health: BreakerHealth;

  constructor(options: ResolvedOptions, nowMillis: number) {
    this._options = options;
    const detector = {
      threshold: options.anomalyThreshold,
      windowSize: options.windowMillis / options.bucketMillis,
      consecutive: options.consecutiveBuckets,
    };
    this._latency = new AnomalyDetector(detector);
    this._latencyP99 = new AnomalyDetector(detector);
    this._errorRate = new Streak(
      options.anomalyThreshold,
      options.consecutiveBuckets,
      'both'
    );
    const trendBuckets = options.trendWindowMillis / options.bucketMillis;
    this._latencyTrend = new TrendEstimator(trendBuckets, LATENCY_MATERIALITY);
    this._errorTrend = new TrendEstimator(trendBuckets, ERROR_MATERIALITY);
    this._trips = new TripPatterns(options);
    this._tripState = this._trips.evaluate(nowMillis).state;
    this._health = {
      status: 'unknown',
      reasons: ['not enough data yet'],
      sinceMillis: nowMillis,
    };
  }

  get health(): BreakerHealth {
    return this._health;
  }

  get anomalies(): AnomalyStatus[] {
    return [...this._anomalies.values()];
  }

  get trips(): TripPatternState {
    return this._tripState;
  }

  trends(): { latency: Trend; errorRate: Trend } {
    return {
      latency: this._latencyTrend.trend(),
      errorRate: this._errorTrend.trend(),
    };
  }

  /** Resource baselines: latest value, EWMA mean and deviation, violation. */
  resources(): Record<
    string,
    { value: number; mean: number; stddev: number; violated: boolean }
  > {
    const result: Record<
      string,
      { value: number; mean: number; stddev: number; violated: boolean }
    > = {};
    for (const name of this._resources.keys()) {
      const status = this._anomalies.get(`resource:${name}`);
      if (status)
        result[name] = {
          value: status.value,
          mean: status.mean,
          stddev: status.stddev,
          violated: status.active,
        };
    }
    return result;
  }

  /** A change of state: trips (to open) and every transition feed the trip patterns. */
  recordTransition(to: BreakerState, atMillis: number): void {
    this._trips.recordTransition(atMillis);
    if (to === BreakerState.OPEN) this._trips.recordTrip(atMillis);
  }

  analyze(
    bucket: BucketInput,
    window: WindowInput,
    state: BreakerState,
    nowMillis: number
  ): AnalysisChanges {
    const onsets: AnomalyStatus[] = [];
    const options = this._options;
    const enough = bucket.latencyCount >= options.minCallsPerBucket;
    if (enough) {
      this._track(
        'latency',
        undefined,
        this._latency.observe(bucket.latencyMean, nowMillis),
        onsets
      );
      this._track(
        'latency_p99',
        undefined,
        this._latencyP99.observe(bucket.latencyP99, nowMillis),
        onsets
      );
      this._latencyTrend.add(nowMillis, bucket.latencyMean);
    }
    if (bucket.ranCalls >= options.minCallsPerBucket) {
      const rate = bucket.failedCalls / bucket.ranCalls;
      this._scoreErrors(bucket, window, nowMillis, onsets);
      this._errorTrend.add(nowMillis, rate);
    }
    const trendStart = nowMillis - options.trendWindowMillis;
    this._latencyTrend.dropBefore(trendStart);
    this._errorTrend.dropBefore(trendStart);
    for (const [name, value] of bucket.resources) {
      let detector = this._resources.get(name);
      if (detector === undefined) {
        if (this._resources.size >= MAX_RESOURCES) continue;
        detector = new AnomalyDetector({
          threshold: options.anomalyThreshold,
          windowSize: options.windowMillis / options.bucketMillis,
          consecutive: options.consecutiveBuckets,
          direction: 'up',
          baseline: 'ewma',
          sigmaFloor: name === IN_FLIGHT ? IN_FLIGHT_SIGMA_FLOOR : 0,
        });
        this._resources.set(name, detector);
      }
      this._track('resource', name, detector.observe(value, nowMillis), onsets);
    }
    const enoughWindow = window.ranCalls >= options.minCallsPerBucket;
    this._slo(
      'error_rate_slo',
      enoughWindow ? window.failureRate : NaN,
      options.errorRateSlo,
      onsets
    );
    this._slo(
      'latency_slo',
      window.latencyP99,
      options.latencySloMillis,
      onsets
    );

    const { state: trips, changes: patterns } = this._trips.evaluate(nowMillis);
    this._tripState = trips;
    const previous = this._health.status;
    const health = this._assess(state, window, nowMillis);
    const changed = health.status !== previous;
    this._health = changed
      ? health
      : { ...health, sinceMillis: this._health.sinceMillis };
    return {
      onsets,
      patterns,
      health: changed ? { previous, current: this._health } : undefined,
    };
  }

  private _track(
    kind: AnomalyKind,
    resource: string | undefined,
    result: AnomalyResult,
    onsets: AnomalyStatus[]
  ): void {
    const key = resource === undefined ? kind : `${kind}:${resource}`;
    const was = this._anomalies.get(key)?.active ?? false;
    const status: AnomalyStatus = {
      kind,
      resource,
      score: result.score,
      active: result.anomalous,
      direction: result.direction,
      value: result.value,
      mean: result.mean,
      stddev: result.stddev,
    };
    this._anomalies.set(key, status);
    if (status.active && !was) onsets.push(status);
  }

  /**
   * Errors are counts, not Gaussian: one failed call among ten is a 10%
   * bucket, yet common at a 1% rate. The score is a binomial z of the
   * bucket's failures against the rest of the window's rate, with a
   * continuity correction and a Jeffreys-style prior (a clean window does
   * not make one error infinitely unlikely).
   */
  private _scoreErrors(
    bucket: BucketInput,
    window: WindowInput,
    nowMillis: number,
    onsets: AnomalyStatus[]
  ): void {
    const baselineCalls = window.ranCalls - bucket.ranCalls;
    if (baselineCalls < ERROR_BASELINE_CALLS) return;
    const rate =
      (window.failedCalls - bucket.failedCalls + 0.5) / (baselineCalls + 1);
    const n = bucket.ranCalls;
    const k = bucket.failedCalls;
    const expected = n * rate;
    const stddev = Math.sqrt(n * rate * (1 - rate));
    const excess = k - expected;
    const corrected = Math.sign(excess) * Math.max(0, Math.abs(excess) - 0.5);
    const score = corrected / stddev;
    const { direction, length, anomalous } = this._errorRate.update(score);
    this._track(
      'error_rate',
      undefined,
      {
        anomalous,
        score,
        direction,
        mean: rate,
        stddev: stddev / n,
        streak: length,
        ready: true,
        value: k / n,
        timestampMillis: nowMillis,
      },
      onsets
    );
  }

  private _slo(
    kind: AnomalyKind,
    value: number,
    slo: number | undefined,
    onsets: AnomalyStatus[]
  ): void {
    if (slo === undefined) return;
    const was = this._anomalies.get(kind)?.active ?? false;
    const active = Number.isFinite(value) && value > slo;
    const status: AnomalyStatus = {
      kind,
      score: value / slo,
      active,
      direction: active ? 'up' : undefined,
      value,
      mean: slo,
      stddev: 0,
    };
    this._anomalies.set(kind, status);
    if (active && !was) onsets.push(status);
  }

  /** unhealthy > degraded > unknown > healthy, with every reason that applies. */
  private _assess(
    state: BreakerState,
    window: WindowInput,
    nowMillis: number
  ): BreakerHealth {
    const unhealthy: string[] = [];
    const degraded: string[] = [];
    if (state === BreakerState.OPEN) unhealthy.push('open');
    if (state === BreakerState.ISOLATED) unhealthy.push('isolated (held open)');
    if (
      window.ranCalls >= this._options.minCallsPerBucket &&
      window.failureRate >= UNHEALTHY_FAILURE_RATE
    ) {
      unhealthy.push(
        `failure rate ${percent(window.failureRate)} in the window`
      );
    }
    if (state === BreakerState.HALF_OPEN) degraded.push('half-open (probing)');
    if (state === BreakerState.DISABLED)
      degraded.push('disabled (calls unguarded)');
    for (const anomaly of this._anomalies.values()) {
      if (anomaly.active && anomaly.direction !== 'down')
        degraded.push(describeAnomaly(anomaly));
    }
    if (this._tripState.flapping)
      degraded.push(
        `flapping (${this._tripState.transitionsInWindow} transitions)`
      );
    if (this._tripState.periodic) {
      degraded.push(
        `tripping every ${(this._tripState.periodMillis / 1000).toFixed(1)} s`
      );
    }
    const { latency, errorRate } = this.trends();
    if (latency.direction === 'rising')
      degraded.push(
        `latency rising ${(latency.slopePerSecond * 60).toFixed(2)} ms/min`
      );
    if (errorRate.direction === 'rising')
      degraded.push(
        `error rate rising ${percent(errorRate.slopePerSecond * 60)}/min`
      );
    let status: HealthStatus;
    let reasons: string[];
    if (unhealthy.length > 0) {
      status = 'unhealthy';
      reasons = [...unhealthy, ...degraded];
    } else if (degraded.length > 0) {
      status = 'degraded';
      reasons = degraded;
    } else if (!this._latencyReady()) {
      status = 'unknown';
      reasons = ['not enough data yet'];
    } else {
      status = 'healthy';
      reasons = [];
    }
    return { status, reasons, sinceMillis: nowMillis };
  }

  private _latencyReady(): boolean {
    const latency = this._anomalies.get('latency');
    const errors = this._anomalies.get('error_rate');
    return Number.isFinite(latency?.mean) || Number.isFinite(errors?.mean);
  }
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

function describeAnomaly(anomaly: AnomalyStatus): string {
  switch (anomaly.kind) {
    case 'error_rate_slo':
      return `failure rate ${percent(anomaly.value)} over its SLO ${percent(anomaly.mean)}`;
    case 'latency_slo':
      return `p99 latency ${anomaly.value.toFixed(1)} ms over its SLO ${anomaly.mean} ms`;
    case 'resource':
      return `${anomaly.resource} above its baseline (z=${anomaly.score.toFixed(1)})`;
    default:
      return `${anomaly.kind.replace('_', ' ')} anomaly (z=${anomaly.score.toFixed(1)})`;
  }
}
