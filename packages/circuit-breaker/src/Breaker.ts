import type { Attributes } from '@opentelemetry/api';
import { describeValue } from '@datapunk/otel-common';
import {
  BreakerAnalyzer,
  IN_FLIGHT,
  MAX_RESOURCES,
} from './analyzer/BreakerAnalyzer';
import type {
  AnalysisChanges,
  ResourceStatus,
} from './analyzer/BreakerAnalyzer';
import type { AnomalyStatus, EndedAnomaly } from './analyzer/AnomalyStatus';
import type { Trend } from './analyzer/TrendEstimator';
import type { TripPatternState } from './analyzer/TripPatterns';
import type { BreakerResults, ClosedBucket } from './BreakerResults';
import type { ResolvedOptions } from './options';
import { errorText } from './readForeign';
import { toSnapshot } from './snapshot';
import { StateTimeline } from './StateTimeline';
import type { BreakerState, CallOutcome } from './types';
import type { BreakerHealth, BreakerSnapshot, TraceExample } from './types';
import { EpisodeExamples } from './evidence/EpisodeExamples';
import { ExampleWindow } from './evidence/ExampleWindow';
import { BucketRing } from './window/BucketRing';
import { CurrentBucket } from './window/CurrentBucket';
import type { BucketData } from './window/CurrentBucket';
import { AnalysisInterval } from './window/AnalysisInterval';
import { LatencyPercentiles } from './window/LatencyPercentiles';
import {
  FALLBACK,
  HEALTH_CHECK_FAILED,
  OUTCOMES,
  OUTCOME_INDEX,
  SUCCESS,
  callsOf,
} from './window/tallies';

/** What the library attached to a breaker can say about its current state. */
export type StateProbe = () => BreakerState | undefined;

/** Reports a rejected input (counted and logged by the collector). */
export type RejectInput = (reason: string, detail: string) => void;

/**
 * The generic API to report any circuit breaker. Nothing here throws into
 * the caller, whatever it is given (a Proxy, a BigInt, a Symbol, an object
 * whose getters throw): a bad outcome, latency or state is dropped and
 * counted, and reports after dispose() are ignored (and counted).
 */
export interface BreakerRecorder {
  readonly name: string;
  readonly attributes: Attributes;
  readonly disposed: boolean;
  /** A call began; it is in flight until its recordCall(). */
  recordCallStart(): void;
  /** A call ended with `outcome` after `durationMillis` (omit when unknown, e.g. rejected). */
  recordCall(outcome: CallOutcome, durationMillis?: number): void;
  /** A fallback answered instead of the call (counted apart from outcomes). */
  recordFallback(): void;
  /** A health check the breaker runs on its own failed (opossum `healthCheckFailed`). */
  recordHealthCheckFailure(): void;
  /** The breaker is now in `state`; the same state again is no transition. */
  recordStateChange(state: BreakerState): void;
  /** A sample of a resource (e.g. connections in use), kept per bucket and baselined. */
  recordResource(name: string, value: number): void;
  /** Stops reporting this breaker: its series leave the instruments. */
  dispose(): void;
}

/**
 * One breaker: the bucket being filled by each call, the window of closed
 * buckets, rolling percentiles, the state timeline and the analysis, put
 * together at every bucket close. Memory is bounded by the window.
 */
export class Breaker implements BreakerRecorder, BreakerResults {
  readonly name: string;
  readonly attributes: Attributes;
  private readonly _options: ResolvedOptions;
  private readonly _reject: RejectInput;
  private readonly _onStateChange: (
    breaker: Breaker,
    state: BreakerState
  ) => void;
  private readonly _onDispose: (breaker: Breaker) => void;
  private readonly _probe: StateProbe | undefined;
  private readonly _detach: (() => void)[] = [];
  private _disposed = false;
  private readonly _bucket = new CurrentBucket();
  private readonly _ring: BucketRing;
  private readonly _percentiles: LatencyPercentiles;
  private readonly _timeline: StateTimeline;
  private readonly _interval: AnalysisInterval;
  private readonly _analyzer: BreakerAnalyzer;
  private readonly _examples: ExampleWindow;

  constructor(
    name: string,
    attributes: Attributes,
    options: ResolvedOptions,
    state: BreakerState,
    hooks: {
      reject: RejectInput;
      onStateChange: (breaker: Breaker, state: BreakerState) => void;
      onDispose: (breaker: Breaker) => void;
      probe?: StateProbe;
    }
  ) {
    this.name = name;
    this.attributes = attributes;
    this._options = options;
    this._reject = hooks.reject;
    this._onStateChange = hooks.onStateChange;
    this._onDispose = hooks.onDispose;
    this._probe = hooks.probe;
    const now = Date.now();
    this._ring = new BucketRing(options.windowMillis / options.bucketMillis);
    this._percentiles = new LatencyPercentiles(options.windowMillis, now);
    this._timeline = new StateTimeline(state, now);
    this._interval = new AnalysisInterval(
      options.minCallsPerBucket,
      options.windowMillis / options.bucketMillis
    );
    this._examples = new ExampleWindow(
      options.windowMillis / options.bucketMillis
    );
    this._analyzer = new BreakerAnalyzer(
      options,
      now,
      new EpisodeExamples(this._examples)
    );
  }

  get disposed(): boolean {
    return this._disposed;
  }

  get state(): BreakerState {
    return this._timeline.state;
  }

  get health(): BreakerHealth {
    return this._analyzer.health;
  }

  get inFlight(): number {
    return this._bucket.inFlight;
  }

  get anomalies(): readonly AnomalyStatus[] {
    return this._analyzer.anomalies;
  }

  get trips(): TripPatternState {
    return this._analyzer.trips;
  }

  trends(): { latency: Trend; errorRate: Trend } {
    return this._analyzer.trends();
  }

  resources(): Record<string, ResourceStatus> {
    return this._analyzer.resources();
  }

  failedSoFar(nowMillis: number): TraceExample[] {
    return this._examples.failedSoFar(nowMillis);
  }

  /** Runs `detach` when this breaker is disposed (adapters remove their listeners). */
  onDispose(detach: () => void): void {
    this._detach.push(detach);
  }

  recordCallStart(): void {
    if (this._disposed) return this._afterDispose('recordCallStart');
    this._bucket.callStarted();
  }

  recordCall(outcome: CallOutcome, durationMillis?: number): void {
    if (this._disposed) return this._afterDispose('recordCall');
    // Own keys only: 'constructor' or '__proto__' are no outcomes.
    if (typeof outcome !== 'string' || !Object.hasOwn(OUTCOME_INDEX, outcome)) {
      return this._reject(
        'unknown_outcome',
        `${describeValue(outcome)} is not a call outcome of ${this.name}`
      );
    }
    this.recordOutcome(OUTCOME_INDEX[outcome], durationMillis);
  }

  /** The hot path, for adapters: outcome by slot, latency (ms) when known. */
  recordOutcome(index: number, durationMillis: number | undefined): void {
    if (
      durationMillis === undefined ||
      (typeof durationMillis === 'number' &&
        durationMillis >= 0 &&
        durationMillis < Infinity)
    ) {
      this._bucket.callEnded(index, durationMillis);
      if (durationMillis !== undefined)
        this._examples.offer(index, durationMillis);
      return;
    }
    // The call still counts by outcome; only its duration is dropped.
    this._bucket.callEnded(index, undefined);
    this._reject(
      'invalid_latency',
      `latency ${describeValue(durationMillis)} of ${this.name} is not a finite duration ≥ 0`
    );
  }

  /**
   * Something a breaker library handed over could not be read (a getter or
   * Proxy trap threw): what could be counted was; this counts the rest.
   */
  rejectUnreadable(what: string, error?: unknown): void {
    this._reject(
      'unreadable_input',
      `${what} of ${this.name} could not be read${error === undefined ? '' : `: ${errorText(error)}`}`
    );
  }

  recordFallback(): void {
    if (this._disposed) return this._afterDispose('recordFallback');
    this._bucket.count(FALLBACK);
  }

  recordHealthCheckFailure(): void {
    if (this._disposed) return this._afterDispose('recordHealthCheckFailure');
    this._bucket.count(HEALTH_CHECK_FAILED);
  }

  recordStateChange(state: BreakerState): void {
    if (this._disposed) return this._afterDispose('recordStateChange');
    if (!StateTimeline.isState(state)) {
      return this._reject(
        'unknown_state',
        `${describeValue(state)} is not a breaker state of ${this.name}`
      );
    }
    const now = Date.now();
    if (!this._timeline.enter(state, now)) return;
    this._analyzer.recordTransition(state, now);
    this._onStateChange(this, state);
  }

  recordResource(name: string, value: number): void {
    if (this._disposed) return this._afterDispose('recordResource');
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) {
      return this._reject(
        'invalid_resource',
        `resource name ${describeValue(name)} of ${this.name}`
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return this._reject(
        'invalid_resource',
        `resource '${name}' of ${this.name} got ${describeValue(value)}`
      );
    }
    // One of the resources watched is the calls in flight.
    if (
      !this._bucket.hasResource(name) &&
      this._bucket.resourceCount >= MAX_RESOURCES - 1
    ) {
      return this._reject(
        'too_many_resources',
        `${this.name} reports more than ${MAX_RESOURCES - 1} resources`
      );
    }
    this._bucket.resource(name, value);
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const detach of this._detach.splice(0)) {
      try {
        detach();
      } catch (error) {
        // A library object that throws when its listeners are removed.
        this.rejectUnreadable('detaching from the library', error);
      }
    }
    this._onDispose(this);
  }

  /**
   * Ends the current bucket at `nowMillis`: reconciles the state with the
   * library, moves the bucket into the window and the percentiles, and
   * analyzes it.
   */
  closeBucket(nowMillis: number): ClosedBucket {
    this._reconcileState();
    const bucket = this._bucket.take();
    const examples = this._examples.close(nowMillis);
    this._ring.push(bucket.tallies, bucket.latencyStats);
    const succeeded = bucket.latencies[SUCCESS];
    this._percentiles.add(succeeded, nowMillis);
    bucket.resources.set(IN_FLIGHT, bucket.inFlightMax);
    const calls = callsOf(bucket.tallies);
    const changes = this._analyzer.analyze(
      {
        ...this._interval.add(
          calls.ranCalls,
          calls.failedCalls,
          bucket.latencyStats,
          succeeded
        ),
        resources: bucket.resources,
      },
      {
        ...this._ring.calls(),
        // The window's p99 only matters to a latency SLO; merging sketches is not free.
        latencyP99:
          this._options.latencySloMillis === undefined
            ? NaN
            : this._percentiles.quantiles([0.99])[0],
      },
      this._timeline.state,
      nowMillis
    );
    return closedBucket(bucket, examples, changes);
  }

  /**
   * Ends the bucket under way when the breaker is let go, so that what it
   * counted is still exported; not analyzed (part of a bucket is no
   * baseline).
   */
  closeLastBucket(): ClosedBucket {
    return closedBucket(this._bucket.take(), this._examples.close(Date.now()), {
      started: [],
      ended: [],
      patterns: [],
      health: undefined,
    });
  }

  /** Ends every anomaly episode under way as accepted: their levels are normal now. */
  acceptNewNormal(nowMillis: number): EndedAnomaly[] {
    return this._analyzer.acceptAll(nowMillis);
  }

  /** Window latency percentiles (ms), in the order of options.quantiles. */
  windowPercentiles(): number[] {
    return this._percentiles.quantiles(this._options.quantiles);
  }

  /** Window failure rate, NaN without calls that ran. */
  failureRate(): number {
    return this._ring.calls().failureRate;
  }

  secondsInState(nowMillis: number): Record<BreakerState, number> {
    return this._timeline.secondsInState(nowMillis);
  }

  snapshot(nowMillis: number): BreakerSnapshot {
    return toSnapshot(
      {
        name: this.name,
        attributes: this.attributes,
        options: this._options,
        timeline: this._timeline,
        ring: this._ring,
        percentiles: this.windowPercentiles(),
        inFlight: this._bucket.inFlight,
        analyzer: this._analyzer,
      },
      nowMillis
    );
  }

  /** The state the library reports, if it can say. */
  private _reconcileState(): void {
    let probed: BreakerState | undefined;
    try {
      probed = this._probe?.();
    } catch (error) {
      return this.rejectUnreadable('the state', error);
    }
    if (probed !== undefined) this.recordStateChange(probed);
  }

  private _afterDispose(method: string): void {
    this._reject(
      'after_dispose',
      `${method}() on ${this.name} after it was disposed`
    );
  }
}

export { OUTCOMES, OUTCOME_INDEX };

function closedBucket(
  bucket: BucketData,
  examples: readonly TraceExample[],
  changes: AnalysisChanges
): ClosedBucket {
  return {
    outcomes: bucket.tallies.subarray(0, OUTCOMES.length),
    fallbacks: bucket.tallies[FALLBACK],
    healthCheckFailures: bucket.tallies[HEALTH_CHECK_FAILED],
    latencies: bucket.latencies,
    examples,
    changes,
  };
}
