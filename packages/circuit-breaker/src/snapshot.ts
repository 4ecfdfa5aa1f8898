import type { Attributes } from '@opentelemetry/api';
import { quantileKey } from '@datapunk/otel-common';
import type { BreakerAnalyzer } from './analyzer/BreakerAnalyzer';
import type { ResolvedOptions } from './options';
import type { StateTimeline } from './StateTimeline';
import type { BreakerSnapshot, CallOutcome } from './types';
import type { BucketRing } from './window/BucketRing';
import { FALLBACK, HEALTH_CHECK_FAILED, OUTCOMES } from './window/tallies';

/** What a breaker's snapshot is made of. */
export interface SnapshotParts {
  name: string;
  attributes: Attributes;
  options: ResolvedOptions;
  timeline: StateTimeline;
  ring: BucketRing;
  percentiles: number[];
  inFlight: number;
  analyzer: BreakerAnalyzer;
}

/** A breaker's window, state and analysis as the public snapshot shape. */
export function toSnapshot(
  parts: SnapshotParts,
  nowMillis: number
): BreakerSnapshot {
  const { timeline, ring, analyzer, options } = parts;
  const latency = ring.latencyStats();
  const percentiles: Record<string, number> = {};
  options.quantiles.forEach(
    (q, i) => (percentiles[quantileKey(q)] = parts.percentiles[i])
  );
  const totals = ring.totals;
  const calls = {} as Record<CallOutcome, number>;
  OUTCOMES.forEach((outcome, i) => (calls[outcome] = totals[i]));
  return {
    name: parts.name,
    attributes: parts.attributes,
    state: timeline.state,
    stateSinceMillis: timeline.sinceMillis,
    secondsInState: timeline.secondsInState(nowMillis),
    transitions: timeline.transitions(),
    window: {
      millis: options.windowMillis,
      calls,
      fallbacks: totals[FALLBACK],
      healthCheckFailures: totals[HEALTH_CHECK_FAILED],
      failureRate: ring.calls().failureRate,
      latencyMillis: {
        count: latency.count,
        mean: latency.mean,
        stddev: latency.stddev,
        min: latency.min,
        max: latency.max,
        percentiles,
      },
      inFlight: parts.inFlight,
    },
    anomalies: analyzer.anomalies.map(
      ({ kind, resource, score, active, episode, examples }) => ({
        kind,
        resource,
        score,
        active,
        ...(episode
          ? {
              episode: {
                direction: episode.direction,
                startMillis: episode.startMillis,
                peakScore: episode.peakScore,
                examples: [...examples],
              },
            }
          : {}),
      })
    ),
    trends: analyzer.trends(),
    trips: analyzer.trips,
    resources: analyzer.resources(),
    health: analyzer.health,
  };
}
