import type { Attributes } from '@opentelemetry/api';
import type { ExponentialSketch, SlidingWindow } from '@datapunk/otel-sketch';
import type { Aggregate } from './Aggregate';

/** One point of retained history: the data of [startMillis, startMillis + resolution). */
export interface TierPoint {
  startMillis: number;
  value: Aggregate;
}

/**
 * One attribute set of a metric: the live state that is exported, and the
 * retained history, one list of points per tier, oldest first. When the
 * series expires its live state is dropped; its history stays until it ages
 * out or the memory budget takes it.
 */
export class Series {
  readonly key: string;
  readonly attributes: Attributes;
  /** When the series (re)appeared: the start of its cumulative data. */
  readonly startMillis: number;
  lastUpdateMillis: number;
  /**
   * Cumulative data since startMillis, or for delta export the data pending
   * since pendingSinceMillis. Undefined once the series has expired.
   */
  live: Aggregate | undefined;
  pendingSinceMillis: number;
  /** A delta export under way; merged back into `live` if it fails. */
  inFlight: Aggregate | undefined;
  /** pendingSinceMillis of the data in flight, restored if the export fails. */
  inFlightSinceMillis: number;
  /** Histograms with summaries: the sliding window the quantiles come from. */
  window: SlidingWindow<ExponentialSketch> | undefined;
  /** Histograms exported as delta: the cumulative count and sum a Summary reports. */
  deltaTotals: { count: number; sum: number } | undefined;
  readonly tiers: TierPoint[][];

  constructor(
    key: string,
    attributes: Attributes,
    nowMillis: number,
    tierCount: number
  ) {
    this.key = key;
    this.attributes = attributes;
    this.startMillis = nowMillis;
    this.lastUpdateMillis = nowMillis;
    this.live = undefined;
    this.pendingSinceMillis = nowMillis;
    this.inFlight = undefined;
    this.inFlightSinceMillis = nowMillis;
    this.window = undefined;
    this.deltaTotals = undefined;
    this.tiers = Array.from({ length: tierCount }, () => []);
  }

  get isLive(): boolean {
    return this.live !== undefined;
  }

  get hasHistory(): boolean {
    return this.tiers.some(points => points.length > 0);
  }

  /** Frees the live state, keeping the history. */
  retire(): void {
    this.live = undefined;
    this.inFlight = undefined;
    this.window = undefined;
    this.deltaTotals = undefined;
  }
}
