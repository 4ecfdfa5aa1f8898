import type { ResolvedOptions } from '../options';
import { BreakerState } from '../types';
import type { AnomalyKind, BreakerHealth, HealthStatus } from '../types';
import { AnomalyDetector } from './AnomalyDetector';
import type { AnomalyResult } from './AnomalyDetector';
import { NO_EXAMPLES } from './AnomalyStatus';
import type { AnomalyStatus, EndedAnomaly } from './AnomalyStatus';
import type { EpisodeEvidence } from './EpisodeEvidence';
import { ErrorRateDetector } from './ErrorRateDetector';
import { EpisodeTracker } from './EpisodeTracker';
import type { Episode, EpisodeRules } from './EpisodeTracker';
import { assessHealth } from './HealthAssessor';
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
  /** Latencies of successful calls, their mean and p99 (ms); NaN when none. */
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

/** What changed at this close, for events. */
export interface AnalysisChanges {
  /** Episodes that started now. */
  started: AnomalyStatus[];
  /** Episodes that ended now: cleared, or accepted as the new normal. */
  ended: EndedAnomaly[];
  patterns: PatternChange[];
  health: { previous: HealthStatus; current: BreakerHealth } | undefined;
}

/** A resource's latest value, its baseline mean and deviation, and whether it is over it. */
export interface ResourceStatus {
  value: number;
  mean: number;
  stddev: number;
  violated: boolean;
}

/** Resources watched per breaker; more are ignored (and reported by the caller). */
export const MAX_RESOURCES = 16;
/** Buckets a latency or resource baseline needs before it scores. */
const MIN_BASELINE_BUCKETS = 10;
/** Calls in flight are a count: one more call is not an anomaly. */
const IN_FLIGHT_SIGMA_FLOOR = 1;
export const IN_FLIGHT = 'in_flight';
/** The p99 detector's threshold, as a multiple of anomalyThreshold. */
const P99_THRESHOLD_RATIO = 1.5;
/** Latency below a microsecond is a microsecond: its logarithm stays finite. */
const LATENCY_FLOOR_MILLIS = 0.001;
/** A latency trend matters from a 10% change over the trend window. */
const LATENCY_MATERIALITY = { relative: 0.1, absolute: 0 };
/** An error-rate trend matters from 10% of its level, and at least 1 point of rate. */
const ERROR_MATERIALITY = { relative: 0.1, absolute: 0.01 };

/**
 * The analysis of one breaker, run at every bucket close: anomaly episodes
 * of latency (mean and p99, on a log scale), error rate (binomial) and
 * resources, each against a baseline that does not learn from the anomaly
 * it flags; SLO breaches; trends over the trend window; trip patterns; and
 * the health that follows. Pure logic: time comes in with each call.
 */
export class BreakerAnalyzer {
  private readonly _options: ResolvedOptions;
  private readonly _rules: EpisodeRules;
  private readonly _latency: AnomalyDetector;
  private readonly _latencyP99: AnomalyDetector;
  private readonly _errorRate: ErrorRateDetector;
  private readonly _resources = new Map<string, AnomalyDetector>();
  private readonly _latencyTrend: TrendEstimator;
  private readonly _errorTrend: TrendEstimator;
  private readonly _trips: TripPatterns;
  /** SLO breaches: an episode from the close the window reaches the SLO to the first one back under it. */
  private readonly _slos = new Map<
    'error_rate_slo' | 'latency_slo',
    EpisodeTracker
  >();
  private readonly _anomalies = new Map<string, AnomalyStatus>();
  private readonly _evidence: EpisodeEvidence;
  private _tripState: TripPatternState;
  private _health: BreakerHealth;
  private _ready = false;

  /** `evidence` sets the example calls of each episode, at each close. */
  constructor(
    options: ResolvedOptions,
    nowMillis: number,
    evidence: EpisodeEvidence
  ) {
    this._options = options;
    this._evidence = evidence;
    const windowSize = options.windowMillis / options.bucketMillis;
    this._rules = {
      threshold: options.anomalyThreshold,
      consecutive: options.consecutiveBuckets,
      clearAfter: options.clearAfterBuckets,
      acceptAfterMillis: options.acceptAfterMillis,
      counted: 'both',
    };
    this._latency = this._detector({ transform: 'log', baseline: 'window' });
    // An interval's p99 of a few dozen calls is nearly its maximum: heavy
    // tailed even on a log scale, so it must stray further to count.
    this._latencyP99 = this._detector({
      transform: 'log',
      baseline: 'robust',
      threshold: P99_THRESHOLD_RATIO * options.anomalyThreshold,
    });
    this._errorRate = new ErrorRateDetector(windowSize, this._rules);
    for (const kind of ['error_rate_slo', 'latency_slo'] as const)
      this._slos.set(
        kind,
        new EpisodeTracker({
          threshold: 1,
          consecutive: 1,
          clearAfter: 1,
          // A breach of an SLO is never normal by itself (acceptAll ends it).
          acceptAfterMillis: Infinity,
          counted: 'up',
          smoothing: 1,
          clearRatio: 1,
        })
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

  /** Resource baselines by name. */
  resources(): Record<string, ResourceStatus> {
    const result: Record<string, ResourceStatus> = {};
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

  /**
   * Ends every episode under way as accepted: their levels are normal from
   * now, and their baselines start over from them. Returns what ended.
   */
  acceptAll(nowMillis: number): EndedAnomaly[] {
    const ended: EndedAnomaly[] = [];
    const end = (
      kind: AnomalyKind,
      resource: string | undefined,
      episode: Episode | undefined
    ) => {
      const key = resource === undefined ? kind : `${kind}:${resource}`;
      const status = this._anomalies.get(key);
      if (episode === undefined || status === undefined) return;
      status.active = false;
      status.episode = undefined;
      ended.push({
        kind,
        resource,
        episode: episode as Required<Episode>,
        examples: NO_EXAMPLES,
      });
    };
    end('latency', undefined, this._latency.accept(nowMillis));
    end('latency_p99', undefined, this._latencyP99.accept(nowMillis));
    end('error_rate', undefined, this._errorRate.accept(nowMillis));
    for (const [name, detector] of this._resources)
      end('resource', name, detector.accept(nowMillis));
    for (const [kind, tracker] of this._slos)
      end(kind, undefined, tracker.accept(nowMillis));
    this._evidence.attach([], this._anomalies.values(), ended, nowMillis);
    return ended;
  }

  analyze(
    bucket: BucketInput,
    window: WindowInput,
    state: BreakerState,
    nowMillis: number
  ): AnalysisChanges {
    const changes: AnalysisChanges = {
      started: [],
      ended: [],
      patterns: [],
      health: undefined,
    };
    const options = this._options;
    if (bucket.latencyCount >= options.minCallsPerBucket) {
      const mean = Math.max(bucket.latencyMean, LATENCY_FLOOR_MILLIS);
      const p99 = Math.max(bucket.latencyP99, LATENCY_FLOOR_MILLIS);
      this._track(
        'latency',
        undefined,
        this._latency.observe(mean, nowMillis),
        changes
      );
      this._track(
        'latency_p99',
        undefined,
        this._latencyP99.observe(p99, nowMillis),
        changes
      );
      this._latencyTrend.add(nowMillis, bucket.latencyMean);
    }
    if (bucket.ranCalls >= options.minCallsPerBucket) {
      this._scoreErrors(bucket, nowMillis, changes);
      this._errorTrend.add(nowMillis, bucket.failedCalls / bucket.ranCalls);
    }
    const trendStart = nowMillis - options.trendWindowMillis;
    this._latencyTrend.dropBefore(trendStart);
    this._errorTrend.dropBefore(trendStart);
    for (const [name, value] of bucket.resources) {
      let detector = this._resources.get(name);
      if (detector === undefined) {
        if (this._resources.size >= MAX_RESOURCES) continue;
        detector = this._detector({
          direction: 'up',
          baseline: 'ewma',
          sigmaFloor: name === IN_FLIGHT ? IN_FLIGHT_SIGMA_FLOOR : 0,
        });
        this._resources.set(name, detector);
      }
      this._track(
        'resource',
        name,
        detector.observe(value, nowMillis),
        changes
      );
    }
    const enoughWindow = window.ranCalls >= options.minCallsPerBucket;
    this._slo(
      'error_rate_slo',
      enoughWindow ? window.failureRate : NaN,
      options.errorRateSlo,
      nowMillis,
      changes
    );
    this._slo(
      'latency_slo',
      window.latencyP99,
      options.latencySloMillis,
      nowMillis,
      changes
    );

    this._evidence.attach(
      changes.started,
      this._anomalies.values(),
      changes.ended,
      nowMillis
    );
    const { state: trips, changes: patterns } = this._trips.evaluate(nowMillis);
    this._tripState = trips;
    changes.patterns = patterns;
    const previous = this._health.status;
    const health = assessHealth({
      state,
      window,
      anomalies: this._anomalies.values(),
      trips,
      trends: this.trends(),
      ready: this._ready,
      minCalls: options.minCallsPerBucket,
      nowMillis,
    });
    const changed = health.status !== previous;
    this._health = changed
      ? health
      : { ...health, sinceMillis: this._health.sinceMillis };
    if (changed) changes.health = { previous, current: this._health };
    return changes;
  }

  private _detector(
    options: ConstructorParameters<typeof AnomalyDetector>[0]
  ): AnomalyDetector {
    const rules = this._rules;
    const windowSize = this._options.windowMillis / this._options.bucketMillis;
    // The breaker's buckets are means and p99s of many calls: a z-score
    // streak against the window, tuned on them (bench:detection).
    return new AnomalyDetector({
      rule: 'consecutive',
      threshold: rules.threshold,
      windowSize,
      minBaseline: Math.min(MIN_BASELINE_BUCKETS, windowSize),
      consecutive: rules.consecutive,
      clearAfter: rules.clearAfter,
      acceptAfterMillis: rules.acceptAfterMillis,
      ...options,
    });
  }

  private _track(
    kind: AnomalyKind,
    resource: string | undefined,
    result: AnomalyResult,
    changes: AnalysisChanges
  ): void {
    if (result.ready && kind !== 'resource') this._ready = true;
    this._record(kind, resource, changes, {
      score: result.score,
      direction: result.direction,
      value: result.value,
      mean: result.mean,
      stddev: result.stddev,
      phase: result.phase,
      episode: result.episode,
    });
  }

  private _scoreErrors(
    bucket: BucketInput,
    nowMillis: number,
    changes: AnalysisChanges
  ): void {
    const result = this._errorRate.observe(
      bucket.ranCalls,
      bucket.failedCalls,
      nowMillis
    );
    if (result === undefined) return;
    this._ready = true;
    this._record('error_rate', undefined, changes, {
      score: result.score,
      direction:
        Math.abs(result.score) >= this._rules.threshold
          ? result.score > 0
            ? 'up'
            : 'down'
          : undefined,
      value: result.rate,
      mean: result.baselineRate,
      stddev: result.stddev,
      phase: result.phase,
      episode: result.episode,
    });
  }

  /** An SLO breach: value / SLO through the breach's episode tracker. */
  private _slo(
    kind: 'error_rate_slo' | 'latency_slo',
    value: number,
    slo: number | undefined,
    nowMillis: number,
    changes: AnalysisChanges
  ): void {
    if (slo === undefined) return;
    const tracker = this._slos.get(kind)!;
    const score = value / slo;
    // No value (too few calls in the window) is no breach.
    const { phase, ended } = tracker.update(
      Number.isFinite(score) ? score : 0,
      nowMillis
    );
    this._record(kind, undefined, changes, {
      score,
      direction: tracker.outOfLine(score),
      value,
      mean: slo,
      stddev: 0,
      phase,
      episode: ended ?? tracker.active,
    });
  }

  private _record(
    kind: AnomalyKind,
    resource: string | undefined,
    changes: AnalysisChanges,
    observed: Omit<
      AnomalyStatus,
      'kind' | 'resource' | 'active' | 'examples'
    > & {
      phase: 'start' | 'end' | undefined;
    }
  ): void {
    const { phase, ...fields } = observed;
    const ended = phase === 'end';
    const status: AnomalyStatus = {
      kind,
      resource,
      ...fields,
      active: fields.episode !== undefined && !ended,
      episode: ended ? undefined : fields.episode,
      examples: NO_EXAMPLES,
    };
    this._anomalies.set(
      resource === undefined ? kind : `${kind}:${resource}`,
      status
    );
    if (phase === 'start') changes.started.push(status);
    if (ended && fields.episode)
      changes.ended.push({
        kind,
        resource,
        episode: fields.episode as Required<Episode>,
        examples: NO_EXAMPLES,
      });
  }
}
