/** Counts by reason, for self-observability. Reasons come from a small fixed set. */
export class Tally {
  private readonly _counts = new Map<string, number>();

  add(reason: string, count = 1): void {
    if (count > 0)
      this._counts.set(reason, (this._counts.get(reason) ?? 0) + count);
  }

  get(reason: string): number {
    return this._counts.get(reason) ?? 0;
  }

  get total(): number {
    let total = 0;
    for (const count of this._counts.values()) total += count;
    return total;
  }

  entries(): IterableIterator<[string, number]> {
    return this._counts.entries();
  }
}

/** What the limits, retention and I/O did, counted since the reader started. */
export class StoreStats {
  /** Data points not kept, by reason: metric_limit, unsupported_aggregation, invalid_point. */
  readonly droppedPoints = new Tally();
  /** Data points folded into a metric's overflow series. */
  readonly overflowedPoints = new Tally();
  /** Data points whose attribute set a limit cut: keys, values. */
  readonly trimmedAttributes = new Tally();
  /** Series whose live state expired, by reason: ttl. */
  readonly evictedSeries = new Tally();
  /** History points dropped, by reason: age, budget. */
  readonly evictedPoints = new Tally();
  /** Failed persistence operations: read, write. */
  readonly persistenceErrors = new Tally();
  /** Failed exports: error, timeout. */
  readonly exportFailures = new Tally();
}
