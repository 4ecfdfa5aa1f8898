import type { MetricStore, Work } from './MetricStore';
import type { Stream } from './Stream';

/** The delta series one export carries: moved in flight by beginExport, settled by endExport. */
export interface ExportCycle {
  readonly nowMillis: number;
  readonly inFlight: readonly [Stream, number][];
}

/**
 * Moves every delta series' pending data in flight, for one export (what
 * comes meanwhile waits for the next).
 */
export function* beginExport(
  store: MetricStore,
  nowMillis: number
): Work<ExportCycle> {
  const inFlight: [Stream, number][] = [];
  for (const stream of store.streams.values()) {
    if (!stream.exportsDelta) continue;
    for (let series = 0; series < stream.idLimit; series++) {
      if (stream.beginExport(series, nowMillis))
        inFlight.push([stream, series]);
      yield;
    }
  }
  return { nowMillis, inFlight };
}

/**
 * Ends an export: what was in flight is dropped when it was sent, or
 * merged back into the pending data when it was not, so a dead collector
 * loses nothing.
 */
export function* endExport(cycle: ExportCycle, succeeded: boolean): Work {
  for (const [stream, series] of cycle.inFlight) {
    stream.endExport(series, succeeded);
    yield;
  }
}
