import { BreakerState } from '../types';
import type { BreakerHealth, HealthStatus } from '../types';
import type { AnomalyStatus } from './AnomalyStatus';
import type { Trend } from './TrendEstimator';
import type { TripPatternState } from './TripPatterns';

/** A window failure rate this high makes a breaker unhealthy even while closed. */
const UNHEALTHY_FAILURE_RATE = 0.5;

/** What health is judged from, as of one bucket close. */
export interface HealthInput {
  state: BreakerState;
  window: { ranCalls: number; failureRate: number };
  anomalies: Iterable<AnomalyStatus>;
  trips: TripPatternState;
  trends: { latency: Trend; errorRate: Trend };
  /** Whether any baseline has learned enough to call the breaker healthy. */
  ready: boolean;
  minCalls: number;
  nowMillis: number;
}

/**
 * unhealthy > degraded > unknown > healthy, with every reason that applies:
 * open, isolated or a window failure rate ≥ 50% is unhealthy; half-open,
 * disabled, an anomaly episode under way (upwards), flapping, periodic trips
 * or a rising trend is degraded.
 */
export function assessHealth(input: HealthInput): BreakerHealth {
  const unhealthy: string[] = [];
  const degraded: string[] = [];
  const { state, window, trips, nowMillis } = input;
  if (state === BreakerState.OPEN) unhealthy.push('open');
  if (state === BreakerState.ISOLATED) unhealthy.push('isolated (held open)');
  if (
    window.ranCalls >= input.minCalls &&
    window.failureRate >= UNHEALTHY_FAILURE_RATE
  ) {
    unhealthy.push(`failure rate ${percent(window.failureRate)} in the window`);
  }
  if (state === BreakerState.HALF_OPEN) degraded.push('half-open (probing)');
  if (state === BreakerState.DISABLED)
    degraded.push('disabled (calls unguarded)');
  for (const anomaly of input.anomalies) {
    if (anomaly.active && anomaly.episode?.direction !== 'down')
      degraded.push(describeAnomaly(anomaly, nowMillis));
  }
  if (trips.flapping)
    degraded.push(`flapping (${trips.transitionsInWindow} transitions)`);
  if (trips.periodic) {
    degraded.push(`tripping every ${(trips.periodMillis / 1000).toFixed(1)} s`);
  }
  const { latency, errorRate } = input.trends;
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
  } else if (!input.ready) {
    status = 'unknown';
    reasons = ['not enough data yet'];
  } else {
    status = 'healthy';
    reasons = [];
  }
  return { status, reasons, sinceMillis: nowMillis };
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/**
 * E.g. "latency anomaly for 2m 10s (z=8.1, peak 9.3)", and the trace of
 * its first example call if it has one: "…, e.g. trace 4bf92f35…".
 */
function describeAnomaly(anomaly: AnomalyStatus, nowMillis: number): string {
  const example = anomaly.examples[0];
  const text = describeSignal(anomaly, nowMillis);
  return example ? `${text}, e.g. trace ${example.traceId}` : text;
}

function describeSignal(anomaly: AnomalyStatus, nowMillis: number): string {
  const since = anomaly.episode
    ? ` for ${duration(nowMillis - anomaly.episode.startMillis)}`
    : '';
  switch (anomaly.kind) {
    case 'error_rate_slo':
      return `failure rate ${percent(anomaly.value)} over its SLO ${percent(anomaly.mean)}${since}`;
    case 'latency_slo':
      return `p99 latency ${anomaly.value.toFixed(1)} ms over its SLO ${anomaly.mean} ms${since}`;
    case 'resource':
      return `${anomaly.resource} above its baseline${since} (z=${anomaly.score.toFixed(1)})`;
    default:
      return `${anomaly.kind.replace('_', ' ')} anomaly${since} (z=${anomaly.score.toFixed(1)}, peak ${anomaly.episode?.peakScore.toFixed(1)})`;
  }
}

/** "45s", "2m 10s", "1h 3m". */
export function duration(millis: number): string {
  const seconds = Math.max(0, Math.round(millis / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${seconds % 60}s`;
  return `${Math.floor(minutes / 60)}h ${minutes % 60}m`;
}
