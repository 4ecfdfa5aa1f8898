import { EXEMPLAR_DROP_REASONS } from '../exemplars/ExemplarBudget';

/**
 * Counts by reason, for self-observability. Reasons come from a small fixed
 * set, each reported from the start at 0 (as Prometheus advises: a counter
 * that appears only on its first event breaks rate() and dashboards).
 */
export class Tally {
  private readonly _counts: Map<string, number>;

  constructor(reasons: readonly string[]) {
    this._counts = new Map(reasons.map(reason => [reason, 0]));
  }

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
  readonly droppedPoints = new Tally([
    'metric_limit',
    'unsupported_aggregation',
    'invalid_point',
  ]);
  /** Data points folded into a metric's overflow series: series_limit, sdk_cardinality_limit. */
  readonly overflowedPoints = new Tally([
    'series_limit',
    'sdk_cardinality_limit',
  ]);
  /** Data points whose attribute set a limit cut: keys, values. */
  readonly trimmedAttributes = new Tally(['keys', 'values', 'invalid']);
  /** Series whose live state expired, by reason: ttl. */
  readonly evictedSeries = new Tally(['ttl']);
  /** History points dropped, by reason: age, budget. */
  readonly evictedPoints = new Tally(['age', 'budget', 'future']);
  /** Failed persistence operations: read, write. */
  readonly persistenceErrors = new Tally(['read', 'write']);
  /** Measurements not recorded, by reason. */
  readonly rejectedMeasurements = new Tally([
    'not_a_number',
    'not_finite',
    'negative',
    'invalid_attributes',
    'after_shutdown',
  ]);
  /** Observable callbacks that threw or timed out. */
  readonly callbackErrors = new Tally(['error', 'timeout']);
  /** Failed exports: error, timeout. */
  readonly exportFailures = new Tally(['error', 'timeout']);
  /** Exemplars not kept: memory_limit, filtered_attributes, invalid_context. */
  readonly droppedExemplars = new Tally(EXEMPLAR_DROP_REASONS);
}
