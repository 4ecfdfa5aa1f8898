import type { Attributes } from '@opentelemetry/api';
import {
  ExponentialSketch,
  RunningStats,
  SlidingWindow,
} from '@datapunk/otel-sketch';
import {
  BreakerAnalyzer,
  IN_FLIGHT,
  MAX_RESOURCES,
} from './analyzer/BreakerAnalyzer';
import type { AnalysisChanges } from './analyzer/BreakerAnalyzer';
import type { ResolvedOptions } from './options';
import { TransitionLog } from './TransitionLog';
import { BreakerState, CallOutcome } from './types';
import type { BreakerHealth, BreakerSnapshot } from './types';

/** Outcome → slot in the per-bucket counters. */
export const OUTCOMES: readonly CallOutcome[] = Object.values(CallOutcome);
const OUTCOME_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  OUTCOMES.map((o, i) => [o, i])
);
const SUCCESS = OUTCOME_INDEX[CallOutcome.SUCCESS];
const FAILURE = OUTCOME_INDEX[CallOutcome.FAILURE];
const TIMEOUT = OUTCOME_INDEX[CallOutcome.TIMEOUT];
const CAPACITY = OUTCOME_INDEX[CallOutcome.CAPACITY];
/** Per-bucket tallies: the outcomes, then what is counted apart from them. */
const FALLBACK = OUTCOMES.length;
const HEALTH_CHECK_FAILED = OUTCOMES.length + 1;
const TALLIES = OUTCOMES.length + 2;
export const STATES: readonly BreakerState[] = Object.values(BreakerState);
const STATE_SET = new Set<string>(STATES);
/** Sub-windows the rolling latency percentiles are kept in: they cover the last 5/6 to 6/6 of the window. */
const PERCENTILE_SLOTS = 6;
/** Percentile sketches: scale ≤ 5, every percentile within 1.083%. */
const SKETCH_OPTIONS = { maxScale: 5 };

/** What the library attached to a breaker can say about its current state. */
export type StateProbe = () => BreakerState | undefined;

/** Reports a rejected input (counted and logged by the collector). */
export type RejectInput = (reason: string, detail: string) => void;

/**
 * The generic API to report any circuit breaker. Nothing here throws into
 * the caller: a bad outcome, latency or state is dropped and counted, and
 * reports after dispose() are ignored (and counted).
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

/** One closed bucket, for the instruments. */
export interface ClosedBucket {
  /** Calls per outcome, in OUTCOMES order. */
  outcomes: Float64Array;
  fallbacks: number;
  healthCheckFailures: number;
  /** The bucket's latencies (ms) per outcome, in OUTCOMES order, for the duration histogram. */
  latencies: (ExponentialSketch | undefined)[];
  changes: AnalysisChanges;
}

/**
 * One breaker's data: the current bucket written by each call (a few
 * counters, a sketch and running stats: no clock read, no allocation), a
 * ring of closed buckets forming the window, the state timeline, and its
 * analysis. Memory is bounded by the window.
 */
export class Breaker implements BreakerRecorder {
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

  // The current bucket. Latencies per outcome (made on first use); the
  // analysis and the rolling percentiles look at successful calls only: a
  // timeout's duration is the timeout, and failures count in the error rate.
  private _tallies = new Float64Array(TALLIES);
  private _latencies: (ExponentialSketch | undefined)[] = new Array(
    OUTCOMES.length
  ).fill(undefined);
  private _latencyStats = new RunningStats();
  private _inFlight = 0;
  private _inFlightMax = 0;
  private _resources = new Map<string, number>();

  // The window: closed buckets, oldest overwritten first.
  private readonly _slots: number;
  private readonly _ringTallies: Float64Array;
  private readonly _ringStats: (RunningStats | undefined)[];
  private readonly _totals = new Float64Array(TALLIES);
  private _next = 0;
  private readonly _percentiles: SlidingWindow<ExponentialSketch>;

  // The state timeline.
  private _state: BreakerState;
  private _stateSince: number;
  private readonly _millisInState = new Float64Array(STATES.length);
  private readonly _transitions = new TransitionLog();

  private readonly _analyzer: BreakerAnalyzer;

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
    this._slots = options.windowMillis / options.bucketMillis;
    this._ringTallies = new Float64Array(this._slots * TALLIES);
    this._ringStats = new Array<RunningStats | undefined>(this._slots).fill(
      undefined
    );
    this._percentiles = new SlidingWindow({
      slots: PERCENTILE_SLOTS,
      slotMillis: options.windowMillis / PERCENTILE_SLOTS,
      create: () => new ExponentialSketch(SKETCH_OPTIONS),
    });
    const now = Date.now();
    this._percentiles.rotate(now);
    this._state = state;
    this._stateSince = now;
    this._analyzer = new BreakerAnalyzer(options, now);
  }

  get disposed(): boolean {
    return this._disposed;
  }

  get state(): BreakerState {
    return this._state;
  }

  get health(): BreakerHealth {
    return this._analyzer.health;
  }

  get inFlight(): number {
    return this._inFlight;
  }

  /** Runs `detach` when this breaker is disposed (adapters remove their listeners). */
  onDispose(detach: () => void): void {
    this._detach.push(detach);
  }

  recordCallStart(): void {
    if (this._disposed) return this._afterDispose('recordCallStart');
    if (++this._inFlight > this._inFlightMax)
      this._inFlightMax = this._inFlight;
  }

  recordCall(outcome: CallOutcome, durationMillis?: number): void {
    if (this._disposed) return this._afterDispose('recordCall');
    const index = OUTCOME_INDEX[outcome as string];
    if (index === undefined) {
      return this._reject(
        'unknown_outcome',
        `'${String(outcome)}' is not a call outcome of ${this.name}`
      );
    }
    this.recordOutcome(index, durationMillis);
  }

  /** The hot path, for adapters: outcome by slot, latency (ms) when known. */
  recordOutcome(index: number, durationMillis: number | undefined): void {
    this._tallies[index]++;
    if (this._inFlight > 0) this._inFlight--;
    if (durationMillis === undefined) return;
    if (
      typeof durationMillis === 'number' &&
      durationMillis >= 0 &&
      durationMillis < Infinity
    ) {
      (this._latencies[index] ??= new ExponentialSketch(SKETCH_OPTIONS)).record(
        durationMillis
      );
      if (index === SUCCESS) this._latencyStats.record(durationMillis);
    } else {
      this._reject(
        'invalid_latency',
        `latency ${String(durationMillis)} of ${this.name} is not a finite duration ≥ 0`
      );
    }
  }

  recordFallback(): void {
    if (this._disposed) return this._afterDispose('recordFallback');
    this._tallies[FALLBACK]++;
  }

  recordHealthCheckFailure(): void {
    if (this._disposed) return this._afterDispose('recordHealthCheckFailure');
    this._tallies[HEALTH_CHECK_FAILED]++;
  }

  recordStateChange(state: BreakerState): void {
    if (this._disposed) return this._afterDispose('recordStateChange');
    if (!STATE_SET.has(state)) {
      return this._reject(
        'unknown_state',
        `'${String(state)}' is not a breaker state of ${this.name}`
      );
    }
    if (state === this._state) return;
    const now = Date.now();
    this._millisInState[STATES.indexOf(this._state)] += now - this._stateSince;
    this._transitions.record(this._state, state, now);
    this._state = state;
    this._stateSince = now;
    this._analyzer.recordTransition(state, now);
    this._onStateChange(this, state);
  }

  recordResource(name: string, value: number): void {
    if (this._disposed) return this._afterDispose('recordResource');
    if (typeof name !== 'string' || name.length === 0 || name.length > 128) {
      return this._reject(
        'invalid_resource',
        `resource name ${String(name).slice(0, 40)} of ${this.name}`
      );
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      return this._reject(
        'invalid_resource',
        `resource '${name}' of ${this.name} got ${String(value)}`
      );
    }
    // One of the resources watched is the calls in flight.
    if (
      !this._resources.has(name) &&
      this._resources.size >= MAX_RESOURCES - 1
    ) {
      return this._reject(
        'too_many_resources',
        `${this.name} reports more than ${MAX_RESOURCES - 1} resources`
      );
    }
    this._resources.set(name, value);
  }

  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const detach of this._detach.splice(0)) detach();
    this._onDispose(this);
  }

  /**
   * Ends the current bucket at `nowMillis`: moves it into the window, updates
   * the percentiles, reconciles the state with the library and analyzes.
   */
  closeBucket(nowMillis: number): ClosedBucket {
    const probed = this._probe?.();
    if (probed !== undefined && probed !== this._state)
      this.recordStateChange(probed);

    const tallies = this._tallies;
    const outcomes = tallies.subarray(0, OUTCOMES.length);
    const latencies = this._latencies;
    const stats = this._latencyStats;
    const slot = this._next;
    const offset = slot * TALLIES;
    for (let i = 0; i < TALLIES; i++) {
      this._totals[i] += tallies[i] - this._ringTallies[offset + i];
      this._ringTallies[offset + i] = tallies[i];
    }
    this._ringStats[slot] = stats.count > 0 ? stats : undefined;
    this._next = (slot + 1) % this._slots;
    const succeeded = latencies[SUCCESS];
    this._percentiles.rotate(nowMillis - 1);
    if (succeeded) this._percentiles.current.merge(succeeded);

    const resources = this._resources;
    resources.set(IN_FLIGHT, this._inFlightMax);
    const ranCalls =
      outcomes[SUCCESS] +
      outcomes[FAILURE] +
      outcomes[TIMEOUT] +
      outcomes[CAPACITY];
    const window = this._windowRates();
    const changes = this._analyzer.analyze(
      {
        ranCalls,
        failedCalls: outcomes[FAILURE] + outcomes[TIMEOUT] + outcomes[CAPACITY],
        latencyCount: stats.count,
        latencyMean: stats.mean,
        latencyP99: succeeded ? succeeded.quantile(0.99) : NaN,
        resources,
      },
      window,
      this._state,
      nowMillis
    );

    this._tallies = new Float64Array(TALLIES);
    this._latencies = new Array(OUTCOMES.length).fill(undefined);
    this._latencyStats = new RunningStats();
    this._inFlightMax = this._inFlight;
    this._resources = new Map();
    return {
      outcomes,
      fallbacks: tallies[FALLBACK],
      healthCheckFailures: tallies[HEALTH_CHECK_FAILED],
      latencies,
      changes,
    };
  }

  /** Window latency percentiles (ms), in the order of options.quantiles. */
  windowPercentiles(): number[] {
    return this._percentiles.merged().quantiles(this._options.quantiles);
  }

  /** Window failure rate, NaN without calls that ran. */
  failureRate(): number {
    return this._windowCalls().failureRate;
  }

  secondsInState(nowMillis: number): Record<BreakerState, number> {
    const seconds = {} as Record<BreakerState, number>;
    STATES.forEach((state, i) => {
      const current = state === this._state ? nowMillis - this._stateSince : 0;
      seconds[state] = (this._millisInState[i] + current) / 1000;
    });
    return seconds;
  }

  snapshot(nowMillis: number): BreakerSnapshot {
    const latency = new RunningStats();
    for (const stats of this._ringStats) if (stats) latency.merge(stats);
    const percentiles: Record<string, number> = {};
    const values = this.windowPercentiles();
    this._options.quantiles.forEach(
      (q, i) => (percentiles[`p${+(q * 100).toFixed(6)}`] = values[i])
    );
    const calls = {} as Record<CallOutcome, number>;
    OUTCOMES.forEach((outcome, i) => (calls[outcome] = this._totals[i]));
    return {
      name: this.name,
      attributes: this.attributes,
      state: this._state,
      stateSinceMillis: this._stateSince,
      secondsInState: this.secondsInState(nowMillis),
      transitions: this._transitions.history(),
      window: {
        millis: this._options.windowMillis,
        calls,
        fallbacks: this._totals[FALLBACK],
        healthCheckFailures: this._totals[HEALTH_CHECK_FAILED],
        failureRate: this.failureRate(),
        latency: {
          count: latency.count,
          mean: latency.mean,
          stddev: latency.stddev,
          min: latency.min,
          max: latency.max,
          percentiles,
        },
        inFlight: this._inFlight,
      },
      anomalies: this._analyzer.anomalies.map(
        ({ kind, resource, score, active }) => ({
          kind,
          resource,
          score,
          active,
        })
      ),
      trends: this._analyzer.trends(),
      trips: this._analyzer.trips,
      resources: this._analyzer.resources(),
      health: this._analyzer.health,
    };
  }

  /** The analyzer's current view, for the instruments. */
  get analysis(): BreakerAnalyzer {
    return this._analyzer;
  }

  private _windowCalls(): {
    ranCalls: number;
    failedCalls: number;
    failureRate: number;
  } {
    const t = this._totals;
    const ran = t[SUCCESS] + t[FAILURE] + t[TIMEOUT] + t[CAPACITY];
    const failed = t[FAILURE] + t[TIMEOUT] + t[CAPACITY];
    return {
      ranCalls: ran,
      failedCalls: failed,
      failureRate: ran > 0 ? failed / ran : NaN,
    };
  }

  /** The window's p99 only matters to a latency SLO; merging six sketches a second is not free. */
  private _windowRates(): {
    ranCalls: number;
    failedCalls: number;
    failureRate: number;
    latencyP99: number;
  } {
    const p99 =
      this._options.latencySloMillis === undefined
        ? NaN
        : this._percentiles.merged().quantile(0.99);
    return { ...this._windowCalls(), latencyP99: p99 };
  }

  private _afterDispose(method: string): void {
    this._reject(
      'after_dispose',
      `${method}() on ${this.name} after it was disposed`
    );
  }
}

export { OUTCOME_INDEX };
