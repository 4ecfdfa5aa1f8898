import type { Attributes } from '@opentelemetry/api';
import type { ExponentialSketch } from '@datapunk/otel-sketch';
import type { AnomalyStatus } from './analyzer/AnomalyStatus';
import type {
  AnalysisChanges,
  ResourceStatus,
} from './analyzer/BreakerAnalyzer';
import type { Trend } from './analyzer/TrendEstimator';
import type { TripPatternState } from './analyzer/TripPatterns';
import type { BreakerHealth, BreakerState, TraceExample } from './types';

/**
 * What the instruments and the events read of one breaker: who it is, its
 * state, and the results of its window and analysis as of its last bucket
 * close. Read only; how they are computed stays behind it.
 */
export interface BreakerResults {
  readonly name: string;
  readonly attributes: Attributes;
  readonly state: BreakerState;
  readonly health: BreakerHealth;
  readonly inFlight: number;
  /** Every watched signal: its latest score and episode. */
  readonly anomalies: readonly AnomalyStatus[];
  readonly trips: TripPatternState;
  secondsInState(nowMillis: number): Record<BreakerState, number>;
  /** Window failure rate, NaN without calls that ran. */
  failureRate(): number;
  /** Window latency percentiles (ms), in the order of the quantiles option. */
  windowPercentiles(): number[];
  trends(): { latency: Trend; errorRate: Trend };
  /** Resource baselines by name. */
  resources(): Record<string, ResourceStatus>;
  /** The failed calls kept as examples in the bucket under way: what a trip now was made of. */
  failedSoFar(nowMillis: number): TraceExample[];
}

/** What one bucket close of a breaker gave: its counts and the changes of its analysis. */
export interface ClosedBucket {
  /** Calls per outcome, in OUTCOMES order. */
  outcomes: Float64Array;
  fallbacks: number;
  healthCheckFailures: number;
  /** The bucket's latencies (ms) per outcome, in OUTCOMES order, for the duration histogram. */
  latencies: (ExponentialSketch | undefined)[];
  /** The bucket's example calls, by their trace: its slowest successful calls, then its first failed ones. */
  examples: readonly TraceExample[];
  changes: AnalysisChanges;
}
