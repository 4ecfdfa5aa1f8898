import type { Attributes } from '@opentelemetry/api';
import type { ByteReader } from '@datapunk/otel-common/codec';
import type { RetentionTier } from '../types';
import type { Aggregate } from './Aggregate';
import { HistogramAggregate } from './HistogramAggregate';
import type { MetricStream } from './MetricStream';
import type { PackedHistogramAggregate } from './PackedHistogramAggregate';
import { EMPTY_LOG_BYTES, PointLog } from './PointLog';
import type { StoreStats } from './Tally';

/** Series object, attribute copy, key and map entry (V8, 64-bit). */
const SERIES_OVERHEAD_BYTES = 300;

/** How every series of a store keeps its history and summary window. */
export interface SeriesLayout {
  tiers: readonly RetentionTier[];
  /** The sliding window of histogram summaries; undefined without summaries. */
  window: { slotMillis: number; slots: number } | undefined;
}

/** A point of an export: its value and the start of the time it covers. */
export interface ExportedValue {
  value: Aggregate;
  startMillis: number;
}

/** What a snapshot saved of a series, or what restores one. */
export interface SeriesState {
  startMillis: number;
  lastUpdateMillis: number;
  pendingSinceMillis: number;
  /** Undefined for a series that had expired: history only. */
  live: Aggregate | undefined;
  /** Delta histograms: the count and sum a Summary reports since the start. */
  totals: { count: number; sum: number } | undefined;
  /** Per tier, [startMillis, value] oldest first. */
  history: [number, Aggregate][][];
}

/**
 * One attribute set of a metric: the live state that is exported, a sliding
 * window for summaries, and retained history, one packed log per tier. The
 * store drives it; its state changes only through these methods.
 *
 * Export: a cumulative stream exports `live` (everything since the start).
 * A delta stream's `live` is what is pending since the last successful
 * export: {@link beginExport} moves it in flight, and {@link endExport}
 * drops it (sent) or merges it back (to go with the next export).
 */
export class Series {
  readonly key: string;
  readonly attributes: Attributes;
  /** When the series (re)appeared: the start of its cumulative data. */
  readonly startMillis: number;
  private _lastUpdateMillis: number;
  private _expired = false;
  /** Undefined until data arrives (and, for delta, after it went in flight). */
  private _live: Aggregate | undefined = undefined;
  private _pendingSinceMillis: number;
  private _inFlight: Aggregate | undefined = undefined;
  private _inFlightSinceMillis: number;
  private _window: PointLog | undefined;
  private _totalCount = 0;
  private _totalSum = 0;
  /** One log per tier, made when a point first goes there. */
  private readonly _tiers: (PointLog | undefined)[];

  constructor(
    key: string,
    attributes: Attributes,
    nowMillis: number,
    layout: SeriesLayout,
    hasWindow: boolean
  ) {
    this.key = key;
    this.attributes = attributes;
    this.startMillis = nowMillis;
    this._lastUpdateMillis = nowMillis;
    this._pendingSinceMillis = nowMillis;
    this._inFlightSinceMillis = nowMillis;
    this._window = hasWindow ? new PointLog() : undefined;
    this._tiers = layout.tiers.map(() => undefined);
  }

  get lastUpdateMillis(): number {
    return this._lastUpdateMillis;
  }

  /** False once expired: then only history remains. */
  get isLive(): boolean {
    return !this._expired;
  }

  get hasHistory(): boolean {
    return this._tiers.some(log => log?.isEmpty === false);
  }

  /** Estimated bytes of the live state: exported value, window, the series itself. */
  get liveBytes(): number {
    return (
      SERIES_OVERHEAD_BYTES +
      EMPTY_LOG_BYTES *
        (this._tiers.filter(Boolean).length + (this._window ? 1 : 0)) +
      (this._live?.retainedBytes ?? 0) +
      (this._inFlight?.retainedBytes ?? 0) +
      (this._window?.retainedBytes ?? 0)
    );
  }

  /** Estimated bytes of retained history. */
  get historyBytes(): number {
    let bytes = 0;
    for (const log of this._tiers) bytes += log?.retainedBytes ?? 0;
    return bytes;
  }

  /** Delta streams: whether data still waits for a successful export. */
  get hasUnconfirmedData(): boolean {
    return this._live?.isEmpty === false || this._inFlight !== undefined;
  }

  /** Histograms: count and sum since the start, as a Summary carries them. */
  totals(stream: MetricStream): { count: number; sum: number } {
    if (stream.exportsDelta)
      return { count: this._totalCount, sum: this._totalSum };
    const live = this._live as PackedHistogramAggregate | undefined;
    return { count: live?.count ?? 0, sum: live?.sum ?? 0 };
  }

  /**
   * Takes one collection's delta, collected at `nowMillis` (so it happened
   * before: it goes into the slot and tier point holding nowMillis − 1).
   */
  absorb(
    stream: MetricStream,
    delta: Aggregate,
    nowMillis: number,
    layout: SeriesLayout
  ): void {
    (this._live ??= stream.createLiveAggregate()).merge(delta);
    this._lastUpdateMillis = nowMillis;
    const at = nowMillis - 1;
    const scratch = stream.mergeScratch;
    if (this._window && layout.window) {
      this._window.add(alignDown(at, layout.window.slotMillis), delta, scratch);
    }
    if (stream.exportsDelta && delta instanceof HistogramAggregate) {
      this._totalCount += delta.sketch.count;
      this._totalSum += delta.sketch.sum;
    }
    const tier = layout.tiers[0];
    if (tier !== undefined) {
      this._tier(0).add(alignDown(at, tier.resolutionMillis), delta, scratch);
    }
  }

  /**
   * The value an export (or a preview of one) carries: in flight during a
   * delta export, else the live value; undefined when there is none.
   */
  exportedValue(
    stream: MetricStream,
    duringExport: boolean
  ): ExportedValue | undefined {
    if (stream.exportsDelta && duringExport) {
      return (
        this._inFlight && {
          value: this._inFlight,
          startMillis: this._inFlightSinceMillis,
        }
      );
    }
    if (this._live === undefined || this._live.isEmpty) return undefined;
    return {
      value: this._live,
      startMillis: stream.exportsDelta
        ? this._pendingSinceMillis
        : this.startMillis,
    };
  }

  /** Delta streams: moves the pending data in flight; false when there is none. */
  beginExport(nowMillis: number): boolean {
    if (this._live === undefined || this._live.isEmpty) return false;
    this._inFlight = this._live;
    this._inFlightSinceMillis = this._pendingSinceMillis;
    this._live = undefined;
    this._pendingSinceMillis = nowMillis;
    return true;
  }

  /** Drops the data in flight once sent; merges it back if the export failed. */
  endExport(succeeded: boolean): void {
    const inFlight = this._inFlight;
    if (inFlight === undefined) return;
    this._inFlight = undefined;
    if (succeeded || this._expired) return;
    if (this._live) inFlight.merge(this._live);
    this._live = inFlight;
    this._pendingSinceMillis = this._inFlightSinceMillis;
  }

  /** Frees the live state, keeping the history. */
  expire(): void {
    this._expired = true;
    this._live = undefined;
    this._inFlight = undefined;
    this._window = undefined;
  }

  /**
   * Drops window points that left the window, moves tier points that aged
   * past their tier into the next one (a whole coarser point at a time,
   * merged), and drops those that aged out of the last tier.
   */
  maintain(
    stream: MetricStream,
    nowMillis: number,
    layout: SeriesLayout,
    stats: StoreStats
  ): void {
    if (this._window && layout.window) {
      const from = windowStart(nowMillis, layout.window);
      while (!this._window.isEmpty && this._window.firstStartMillis < from) {
        this._window.shiftInto(undefined);
      }
    }
    const tiers = layout.tiers;
    for (let i = 0; i < tiers.length; i++) {
      const log = this._tiers[i];
      if (log === undefined) continue;
      const cutoff = nowMillis - tiers[i].durationMillis;
      const next = tiers[i + 1];
      if (next === undefined) {
        while (
          !log.isEmpty &&
          log.firstStartMillis + tiers[i].resolutionMillis <= cutoff
        ) {
          log.shiftInto(undefined);
          stats.evictedPoints.add('age');
        }
        continue;
      }
      const coarse = stream.foldScratch;
      while (!log.isEmpty) {
        const start = alignDown(log.firstStartMillis, next.resolutionMillis);
        const end = start + next.resolutionMillis;
        if (end > cutoff) break;
        coarse.clear();
        while (!log.isEmpty && log.firstStartMillis < end)
          log.shiftInto(coarse);
        this._tier(i + 1).add(start, coarse, stream.mergeScratch);
      }
    }
  }

  /** Drops history points starting at or before `cutoffMillis`; returns how many. */
  dropHistoryThrough(cutoffMillis: number): number {
    let dropped = 0;
    for (const log of this._tiers) {
      if (log === undefined) continue;
      while (!log.isEmpty && log.firstStartMillis <= cutoffMillis) {
        log.shiftInto(undefined);
        dropped++;
      }
      log.trim();
    }
    return dropped;
  }

  /** Visits every history point of tier `tier`, oldest first (see PointLog.forEach). */
  forEachPoint(
    tier: number,
    visit: (startMillis: number, reader: ByteReader, bytes: number) => void
  ): void {
    this._tiers[tier]?.forEach(visit);
  }

  /** Merges the summary window as of `nowMillis` into `target`. */
  mergeWindowInto(
    target: Aggregate,
    nowMillis: number,
    window: NonNullable<SeriesLayout['window']>
  ): void {
    const from = windowStart(nowMillis, window);
    this._window?.forEach((start, reader) => {
      if (start >= from) target.mergeFrom(reader);
    });
  }

  /**
   * What a snapshot keeps: data not yet confirmed as exported goes with the
   * pending data (sent at least once), history as aggregates.
   */
  state(stream: MetricStream): SeriesState {
    let live: Aggregate | undefined;
    if (!this._expired) {
      live = stream.createAggregate();
      if (this._inFlight) live.merge(this._inFlight);
      if (this._live) live.merge(this._live);
    }
    return {
      startMillis: this.startMillis,
      lastUpdateMillis: this._lastUpdateMillis,
      pendingSinceMillis: this._inFlight
        ? this._inFlightSinceMillis
        : this._pendingSinceMillis,
      live,
      totals:
        stream.exportsDelta && stream.summarized
          ? this.totals(stream)
          : undefined,
      history: this._tiers.map(log => {
        const points: [number, Aggregate][] = [];
        log?.forEach((start, reader) => {
          const value = stream.createAggregate();
          value.mergeFrom(reader);
          points.push([start, value]);
        });
        return points;
      }),
    };
  }

  /** Adds what a snapshot saved: live data, totals and history. */
  restore(stream: MetricStream, saved: SeriesState): void {
    if (saved.live && !this._expired) {
      (this._live ??= stream.createLiveAggregate()).merge(saved.live);
      this._pendingSinceMillis = Math.min(
        this._pendingSinceMillis,
        saved.pendingSinceMillis
      );
    }
    if (saved.totals) {
      this._totalCount += saved.totals.count;
      this._totalSum += saved.totals.sum;
    }
    this._lastUpdateMillis = Math.max(
      this._lastUpdateMillis,
      saved.lastUpdateMillis
    );
    saved.history.forEach((points, tier) => {
      for (const [start, value] of points)
        if (tier < this._tiers.length)
          this._tier(tier).add(start, value, stream.mergeScratch);
    });
  }

  private _tier(index: number): PointLog {
    return (this._tiers[index] ??= new PointLog());
  }
}

function alignDown(millis: number, unit: number): number {
  return Math.floor(millis / unit) * unit;
}

/** Start of the oldest slot of the window whose newest slot holds nowMillis − 1. */
function windowStart(
  nowMillis: number,
  window: NonNullable<SeriesLayout['window']>
): number {
  return (
    alignDown(nowMillis - 1, window.slotMillis) -
    (window.slots - 1) * window.slotMillis
  );
}
