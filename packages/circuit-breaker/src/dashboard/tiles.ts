import type { Attributes } from '@opentelemetry/api';
import type { BreakerSnapshot, BreakerState, HealthStatus } from '../types';
import type { TraceLink } from './traceLinks';

/** What one breaker's tile shows, as the stream sends it (ms, per second). */
export interface Tile {
  /** Stable across frames: the name and attributes. */
  id: string;
  name: string;
  attributes: Attributes;
  state: BreakerState;
  health: HealthStatus;
  reasons: string[];
  /** Calls that ended per second, over the last stream interval. */
  callsPerSecond: number;
  /** Over the rolling window; null without calls that ran. */
  failureRate: number | null;
  /** Successful calls' latency over the rolling window, ms; null when unknown. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  trips: number;
  tripsPerHour: number;
  /** Anomaly episodes under way, with their example calls' traces (a link each if the dashboard has a `traceUrl`). */
  anomalies: {
    kind: string;
    direction: string;
    sinceMillis: number;
    examples: { traceId: string; url: string | null }[];
  }[];
  /** Trip patterns under way: 'periodic', 'flapping'. */
  patterns: string[];
}

/** A breaker's identity on the page: name plus attributes. */
export function tileId(name: string, attributes: Attributes): string {
  return JSON.stringify([name, attributes]);
}

/** A tile from a snapshot and the calls per second the stream counted. */
export function toTile(
  snapshot: BreakerSnapshot,
  callsPerSecond: number,
  traceLink?: TraceLink
): Tile {
  const { percentiles } = snapshot.window.latencyMillis;
  // Rounded to what a tile can show, to keep frames small.
  const finite = (value: number | undefined, digits = 3) =>
    value !== undefined && Number.isFinite(value) ? round(value, digits) : null;
  return {
    id: tileId(snapshot.name, snapshot.attributes),
    name: snapshot.name,
    attributes: snapshot.attributes,
    state: snapshot.state,
    health: snapshot.health.status,
    reasons: snapshot.health.reasons,
    callsPerSecond: round(callsPerSecond, 3),
    failureRate: finite(snapshot.window.failureRate, 6),
    p50: finite(percentiles.p50),
    p90: finite(percentiles.p90),
    p99: finite(percentiles.p99),
    trips: snapshot.transitions.trips,
    tripsPerHour: snapshot.trips.tripsPerHour,
    anomalies: snapshot.anomalies
      .filter(a => a.episode !== undefined)
      .map(a => ({
        kind: a.resource ? `${a.kind}:${a.resource}` : a.kind,
        direction: a.episode!.direction,
        sinceMillis: a.episode!.startMillis,
        examples: a.episode!.examples.map(example => ({
          traceId: example.traceId,
          url: traceLink ? traceLink(example) : null,
        })),
      })),
    patterns: [
      ...(snapshot.trips.periodic ? ['periodic'] : []),
      ...(snapshot.trips.flapping ? ['flapping'] : []),
    ],
  };
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
