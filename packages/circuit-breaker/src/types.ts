import type { Attributes, MeterProvider } from '@opentelemetry/api';
import type { Trend } from './analyzer/TrendEstimator';
import type { TripPatternState } from './analyzer/TripPatterns';

/** How one call through a breaker ended. */
export enum CallOutcome {
  SUCCESS = 'success',
  /** The call failed and counts against the breaker. */
  FAILURE = 'failure',
  /** The call took too long (opossum `timeout`). */
  TIMEOUT = 'timeout',
  /** Short-circuited: the breaker was open (opossum `reject`, cockatiel BrokenCircuitError). */
  REJECTED = 'rejected',
  /** Refused for lack of capacity (opossum `semaphoreLocked`). */
  CAPACITY = 'capacity',
  /** An error the breaker was told to ignore (opossum `errorFilter`, cockatiel unhandled). */
  IGNORED = 'ignored',
}

/** The state of a breaker. */
export enum BreakerState {
  CLOSED = 'closed',
  OPEN = 'open',
  HALF_OPEN = 'half_open',
  /** Held open by hand (cockatiel `isolate()`). */
  ISOLATED = 'isolated',
  /** Switched off: every call goes through unguarded (opossum `disable()`). */
  DISABLED = 'disabled',
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy' | 'unknown';

/** What an anomaly is about. */
export type AnomalyKind =
  | 'latency'
  | 'latency_p99'
  | 'error_rate'
  | 'error_rate_slo'
  | 'latency_slo'
  | 'resource';

export interface CircuitBreakerMetricsOptions {
  /**
   * Where instruments are created. By default the global MeterProvider,
   * followed: a provider registered after this collector was made (e.g. by
   * `setupMetrics()`) gets its metrics from the next bucket close on.
   */
  meterProvider?: MeterProvider;
  /**
   * Attributes added to every breaker's data (e.g. a group): OpenTelemetry
   * attribute values (a string, number or boolean, or an array of one of
   * these); anything else throws.
   */
  attributes?: Attributes;
  /**
   * Bounds on each breaker's attribute set (this collector's attributes and
   * its own, merged), applied before anything of it is kept: by the
   * collector, its instruments or the dashboard. Values are cut, attributes
   * past either budget dropped (the first in sorted key order are kept),
   * and both counted in `truncatedAttributes`.
   */
  limits?: {
    /** Attributes kept per breaker. Default 32. */
    maxAttributesPerSeries?: number;
    /** Longest string value (or array element) kept, in UTF-16 units. Default 1024. */
    maxAttributeValueLength?: number;
    /** Estimated size of one breaker's set (2 bytes a character, 8 a number). Default 4096. */
    maxAttributeBytesPerSeries?: number;
  };
  /** The rolling window. Default 60000; a multiple of bucketMillis. */
  windowMillis?: number;
  /** One bucket of the window. Default 1000. */
  bucketMillis?: number;
  /** Latency quantiles reported, in (0, 1). Default [0.5, 0.9, 0.95, 0.99]. */
  quantiles?: number[];
  /**
   * Also record every call's duration into the `circuit_breaker.call.duration`
   * histogram. Off by default: the OpenTelemetry API records one value per
   * call, and an SDK record costs ~0.5–1 µs, as much as a whole cockatiel
   * call or most of an opossum one. The rolling latency quantiles and exact
   * window statistics are always reported.
   */
  durationHistogram?: boolean;
  /** Standard deviations that make a bucket out of line. Default 2.0. */
  anomalyThreshold?: number;
  /** The span trends are fitted over: ≥ windowMillis, ≤ 3600 buckets, a multiple of bucketMillis. Default 300000 (or 3600 buckets). */
  trendWindowMillis?: number;
  /** Out-of-line buckets in a row before an anomaly is raised. Default 3. */
  consecutiveBuckets?: number;
  /** Calls a bucket needs for its latency and error rate to be judged. Default 5. */
  minCallsPerBucket?: number;
  /** Buckets in a row back within bounds that end an anomaly episode (hysteresis). Default 5. */
  clearAfterBuckets?: number;
  /**
   * An anomaly episode this old ends as accepted: its level becomes the new
   * normal (an onAnomalyEnd event with reason 'accepted'). Default 3600000
   * (an hour: longer than most incidents, short enough that a deliberate
   * change stops reading as one within the hour). 0 accepts a new level at
   * the next bucket; Infinity never does (see acceptNewNormal()).
   */
  acceptAfterMillis?: number;
  /** Window error rate (0–1) above which a breaker is degraded; off by default. */
  errorRateSlo?: number;
  /** Window p99 latency (ms) above which a breaker is degraded; off by default. */
  latencySloMillis?: number;
  /** Intervals between trips needed to call tripping periodic. Default 5. */
  periodicMinIntervals?: number;
  /** Largest coefficient of variation of those intervals for periodic. Default 0.3. */
  periodicMaxVariation?: number;
  /** The span transitions are counted over for flapping. Default 60000. */
  flapWindowMillis?: number;
  /** Transitions in that span that raise flapping. Default 6. */
  flapRaiseTransitions?: number;
  /** Transitions at or below which flapping clears. Default 2. */
  flapClearTransitions?: number;
  /**
   * Also emit anomaly episodes (start and end) and trips as OpenTelemetry
   * log records: events named `circuit_breaker.anomaly.start`,
   * `circuit_breaker.anomaly.end` and `circuit_breaker.trip`, with the
   * breaker, kind, scores and example trace ids as attributes, for a
   * backend to show as annotations. Default: on when `loggerProvider` is
   * given, else off.
   */
  logEvents?: boolean;
  /**
   * Where the log records go. By default the logs API's global
   * LoggerProvider: `@opentelemetry/api` ≥ 1.10 has it; with 1.9, install
   * the optional peer `@opentelemetry/api-logs`.
   */
  loggerProvider?: LoggerProviderLike;
}

/**
 * A call kept as an example of what a breaker saw, by its trace: one that
 * ran in a sampled span (the span active when the breaker library reported
 * it), for a tracing backend to show.
 */
export interface TraceExample {
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 lowercase hex digits. */
  spanId: string;
  outcome: CallOutcome;
  durationMillis: number;
  /** The end of the bucket the call was counted in. */
  timestampMillis: number;
}

/** A log record, as this package emits it (OpenTelemetry's LogRecord, in part). */
export interface LogRecordLike {
  eventName?: string;
  /** Milliseconds since the epoch. */
  timestamp?: number;
  severityNumber?: number;
  severityText?: string;
  body?: string;
  attributes?: Attributes;
}

/**
 * What this package uses of an OpenTelemetry LoggerProvider: that of
 * `@opentelemetry/sdk-logs`, or the logs API's global one
 * (`logs` of `@opentelemetry/api` ≥ 1.10 or of `@opentelemetry/api-logs`).
 */
export interface LoggerProviderLike {
  getLogger(
    name: string,
    version?: string
  ): { emit(record: LogRecordLike): void };
}

/** How to name a breaker when attaching to it. */
export interface InstrumentOptions {
  /** The breaker's name (1 to 256 characters); opossum's own name by default, required for cockatiel. */
  name?: string;
  /** More attributes for this breaker's data: OpenTelemetry attribute values, bounded by the collector's `limits`. */
  attributes?: Attributes;
}

/** cockatiel only: counting the calls it rejects, which it emits no event for. */
export interface CockatielInstrumentOptions extends InstrumentOptions {
  /**
   * Wrap this policy's `execute` (reversibly, on the instance) to count calls
   * rejected while open or isolated, and calls in flight. Default false:
   * cockatiel then reports rejections only through its state.
   */
  countRejections?: boolean;
}

/** An anomaly episode started. */
export interface AnomalyEvent {
  breaker: string;
  attributes: Attributes;
  kind: AnomalyKind;
  /** For kind 'resource': which resource. */
  resource?: string;
  direction: 'up' | 'down' | undefined;
  /** z-score for detected anomalies; value / threshold for SLO breaches. */
  score: number;
  /** In the signal's unit: ms for latency kinds, a share in [0, 1] for error rates, the resource's own. */
  value: number;
  /** The baseline (or the SLO, as mean) the value was held against, in the value's unit; frozen for the episode. */
  baseline: { mean: number; stddev: number };
  /** When the episode started: the first out-of-line bucket of the streak that raised it. */
  startMillis: number;
  timestampMillis: number;
  /**
   * Calls of the buckets that raised it, by their trace (sampled spans
   * only; none without tracing): the slowest successful ones, or for an
   * error rate the newest failed ones; up to 5.
   */
  examples: TraceExample[];
}

/** An anomaly episode ended: back within bounds, or its level accepted as the new normal. */
export interface AnomalyEndEvent {
  breaker: string;
  attributes: Attributes;
  kind: AnomalyKind;
  resource?: string;
  direction: 'up' | 'down';
  /** 'cleared': back within bounds for clearAfterBuckets; 'accepted': its level is the new normal. */
  reason: 'cleared' | 'accepted';
  startMillis: number;
  endMillis: number;
  durationMillis: number;
  /** The score of largest magnitude during the episode. */
  peakScore: number;
  timestampMillis: number;
  /** Calls of the buckets that raised and held it, by their trace, as {@link AnomalyEvent.examples}. */
  examples: TraceExample[];
}

export interface BreakerHealth {
  status: HealthStatus;
  /** Why, most severe first; empty when healthy. */
  reasons: string[];
  sinceMillis: number;
}

export interface HealthChangeEvent {
  breaker: string;
  attributes: Attributes;
  previous: HealthStatus;
  current: HealthStatus;
  reasons: string[];
  timestampMillis: number;
}

export interface PatternEvent {
  breaker: string;
  attributes: Attributes;
  pattern: 'periodic' | 'flapping';
  /** Whether the pattern started (true) or ended (false). */
  active: boolean;
  trips: TripPatternState;
  timestampMillis: number;
}

/** A breaker's bucket closed: what it counted, for live views. */
export interface BucketCloseEvent {
  breaker: string;
  attributes: Attributes;
  /** Calls that ended during the bucket, by outcome. */
  calls: Record<CallOutcome, number>;
  /** The bucket's length (bucketMillis) and its end. */
  bucketMillis: number;
  timestampMillis: number;
}

/** A change of a breaker's state. */
export interface Transition {
  from: BreakerState;
  to: BreakerState;
  timestampMillis: number;
}

/** A breaker's state changes since it was attached. */
export interface BreakerTransitions {
  /** Entries into open, a failed half-open trial included. */
  trips: number;
  /** Entries into half-open. */
  recoveryAttempts: number;
  /** Half-open to closed: a trial that succeeded. */
  recoveries: number;
  /** The latest transitions (up to 32), oldest first. */
  recent: Transition[];
}

/** A breaker's window, state and analysis, as of the last bucket close. */
export interface BreakerSnapshot {
  name: string;
  attributes: Attributes;
  state: BreakerState;
  stateSinceMillis: number;
  /** Seconds spent in each state since the breaker was attached. */
  secondsInState: Record<BreakerState, number>;
  transitions: BreakerTransitions;
  window: {
    millis: number;
    calls: Record<CallOutcome, number>;
    fallbacks: number;
    /** Failed health checks (opossum `healthCheck()`), each of which opened the breaker. */
    healthCheckFailures: number;
    /** failure + timeout + capacity over calls that ran (rejected and ignored left out); NaN without calls. */
    failureRate: number;
    /**
     * Of successful calls, in ms: exact count, mean, stddev, min, max;
     * percentiles (keys 'p50'…, one per quantile option) from sketches
     * (≤ 1.1%) over the last 5/6 to 6/6 of the window.
     */
    latencyMillis: {
      count: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      percentiles: Record<string, number>;
    };
    inFlight: number;
  };
  anomalies: {
    kind: AnomalyKind;
    resource?: string;
    score: number;
    active: boolean;
    /** The episode under way. */
    episode?: {
      direction: 'up' | 'down';
      startMillis: number;
      peakScore: number;
      /** Calls of the buckets that raised and held it so far, by their trace, as {@link AnomalyEvent.examples}. */
      examples: TraceExample[];
    };
  }[];
  trends: { latency: Trend; errorRate: Trend };
  trips: TripPatternState;
  resources: Record<
    string,
    { value: number; mean: number; stddev: number; violated: boolean }
  >;
  health: BreakerHealth;
}
