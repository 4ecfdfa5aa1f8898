import type { MetricStore, Work } from './MetricStore';

/**
 * Drops the oldest history points, all series alike, until what is kept is
 * within `budget`; returns the bytes kept.
 */
export function* enforceBudget(
  store: MetricStore,
  budget: number,
  historyBytes: number
): Work<number> {
  while (historyBytes > budget) {
    // The newest start time to drop through: the oldest points, in order
    // of age, until what they hold brings the total within the budget.
    const bytesByStart = new Map<number, number>();
    for (const stream of store.streams.values()) {
      for (let series = 0; series < stream.idLimit; series++) {
        if (!stream.exists(series)) continue;
        for (let tier = 0; tier < store.tiers.length; tier++)
          stream.forEachPoint(series, tier, (start, _reader, bytes) =>
            bytesByStart.set(start, (bytesByStart.get(start) ?? 0) + bytes)
          );
        yield;
      }
    }
    if (bytesByStart.size === 0) return historyBytes;
    const starts = [...bytesByStart.keys()].sort((a, b) => a - b);
    let excess = historyBytes - budget;
    let cutoff = starts[0];
    for (const start of starts) {
      cutoff = start;
      excess -= bytesByStart.get(start)!;
      if (excess <= 0) break;
    }
    let kept = 0;
    for (const stream of store.streams.values()) {
      for (let series = 0; series < stream.idLimit; series++) {
        if (!stream.exists(series)) continue;
        const dropped = stream.dropHistoryThrough(series, cutoff);
        store.stats.evictedPoints.add('budget', dropped);
        if (stream.exists(series)) kept += stream.historyBytes(series);
        yield;
      }
    }
    // Nothing more could be dropped: stop.
    if (kept >= historyBytes) return kept;
    historyBytes = kept;
  }
  return historyBytes;
}
