import type { MetricStore, Work } from './MetricStore';
import type { Stream } from './Stream';

/** Series `from` (inclusive) to `to` (exclusive) of a stream. */
export interface SeriesRange {
  readonly stream: Stream;
  readonly from: number;
  readonly to: number;
}

/**
 * Moves every delta series' pending data in flight, for one export (what
 * comes meanwhile waits for the next).
 */
export function* beginExport(store: MetricStore, nowMillis: number): Work {
  for (const stream of store.streams.values()) {
    if (!stream.exportsDelta) continue;
    for (let series = 0; series < stream.idLimit; series++) {
      stream.beginExport(series, nowMillis);
      yield;
    }
  }
}

/**
 * Ends the export of the series in `ranges`: what was in flight is dropped
 * when it was sent, or merged back into the pending data when it was not,
 * so a dead collector loses nothing.
 */
export function* endExport(
  ranges: readonly SeriesRange[],
  succeeded: boolean
): Work {
  for (const { stream, from, to } of ranges) {
    if (!stream.exportsDelta) continue;
    for (let series = from; series < to; series++) {
      stream.endExport(series, succeeded);
      yield;
    }
  }
}

/** Every series of the store, to settle whatever an export left in flight. */
export function allSeries(store: MetricStore): SeriesRange[] {
  return [...store.streams.values()].map(stream => ({
    stream,
    from: 0,
    to: stream.idLimit,
  }));
}
