import type { Attributes } from '@opentelemetry/api';
import type {
  AggregationTemporality,
  DataPoint,
  MetricDescriptor,
  ScopeMetrics,
} from '@opentelemetry/sdk-metrics';
import { decodeAttributeKey } from '@datapunk/otel-common';
import type { PlainAttributes, RateLimitedDiag } from '@datapunk/otel-common';
import type { ByteReader } from '@datapunk/otel-common/codec';
import type { ExemplarReservoir } from '../exemplars/ExemplarReservoir';
import { MetricKind } from '../types';
import type { RetentionTier } from '../types';
import type { Aggregate } from './Aggregate';
import type { Aggregator } from './aggregators/Aggregator';
import type { HistogramAggregate } from './HistogramAggregate';
import { ColumnSet, grow } from './arena/columns';
import type { ColumnSlot } from './arena/columns';
import { columnBytes } from './arena/HeldBytes';
import type { HeldBytes } from './arena/HeldBytes';
import { PointTracks } from './PointTracks';
import { SeriesKeys } from './SeriesKeys';
import type { StoreStats } from './Tally';

export type Scope = ScopeMetrics['scope'];

/** How every series of a store keeps its history and summary window. */
export interface SeriesLayout {
  tiers: readonly RetentionTier[];
  /** The sliding window of histogram summaries; undefined without summaries. */
  window: { slotMillis: number; slots: number } | undefined;
}

/**
 * A series' first track is its exported value; the others are kept only
 * by streams that use them (see the constructor): what is in flight
 * (delta exports), the summary window, then one per tier.
 */
const LIVE = 0;
/**
 * Deltas a cumulative histogram's exported value holds as points of their
 * own before they are merged into one (an export merges them anyway).
 */
const MAX_LIVE_RUN = 8;
const NO_TRACK = -1;

const FREE = 0;
/** Exported, and taking data. */
const ACTIVE = 1;
/** Expired: only history is left (and queried). */
const RETIRED = 2;

/** The key of the series every set past the limit folds into, as in the SDK. */
export const OVERFLOW_KEY = '20:otel.metric.overflowt';

/** Everything a stream is made from. */
export interface StreamDefinition {
  key: string;
  scope: Scope;
  descriptor: MetricDescriptor;
  isMonotonic: boolean;
  /** The temporality exports carry (delta keeps what is pending since the last success). */
  temporality: AggregationTemporality;
  exportsDelta: boolean;
  /** Whether series keep a summary window. */
  summarized: boolean;
  /** Series exported at most, the overflow series included. */
  maxSeries: number;
  aggregator: Aggregator;
  /** The series' exemplars; undefined when the stream keeps none. */
  exemplars: ExemplarReservoir | undefined;
  layout: SeriesLayout;
  /** Histograms: the instrument's advice (explicit bucket boundaries). */
  advice?: { explicitBucketBoundaries?: number[] };
  /** Observable instruments: only series observed in the latest collection are exported. */
  observable: boolean;
  /** Where reaching the series limit is reported. */
  diag: RateLimitedDiag;
}

/**
 * One metric of one instrumentation scope, and its series. A series is an
 * id: its attribute key is in {@link SeriesKeys}, its scalars in typed
 * columns, its current delta in the aggregator, its exported value, window
 * and history in {@link PointTracks}. Nothing here is an object per series,
 * so the GC's work does not grow with them.
 *
 * Measurements go into the current delta ({@link record}); a collection
 * ({@link fold}) moves each changed series' delta into its exported value,
 * window and finest tier.
 */
export class Stream {
  readonly key: string;
  readonly scope: Scope;
  readonly descriptor: MetricDescriptor;
  readonly isMonotonic: boolean;
  readonly temporality: AggregationTemporality;
  readonly exportsDelta: boolean;
  readonly summarized: boolean;
  readonly maxSeries: number;
  readonly aggregator: Aggregator;
  readonly exemplars: ExemplarReservoir | undefined;
  readonly advice: { explicitBucketBoundaries?: number[] } | undefined;
  /** Set by streamFor when a restored stream turns out to be an observable's. */
  observable: boolean;
  /**
   * An instrument records into this stream (it holds it for life): the
   * store keeps it while it has no series.
   */
  held = false;
  readonly tracks: PointTracks;
  /** A delta being folded or a coarser point being formed; reused. */
  readonly scratch: Aggregate;
  /** Where packed points are merged; reused. */
  readonly mergeScratch: Aggregate;
  /**
   * Cumulative histograms: each collection's delta is appended to the
   * exported value as a point of its own, merged at the next export (or
   * once more than {@link MAX_LIVE_RUN} wait), so that a collection decodes
   * and writes again no large sketch for it; the scratch of that merge, or
   * undefined for other streams.
   */
  private readonly _liveRun: Aggregate | undefined;
  private readonly _layout: SeriesLayout;
  private readonly _diag: RateLimitedDiag;
  private readonly _keys = new SeriesKeys();
  private _state = new Uint8Array(0);
  /** Bumped when an id is given to another series, so handles can tell. */
  private _generation = new Int32Array(0);
  private _start = new Float64Array(0);
  private _lastUpdate = new Float64Array(0);
  /**
   * The collection (the store's count) that last folded data into each
   * series: two collections can fall in one millisecond.
   */
  private _lastCollection = new Float64Array(0);
  /** Delta streams only (cumulative ones leave them empty): pending and in-flight data's starts. */
  private _pendingSince = new Float64Array(0);
  private _inFlightSince = new Float64Array(0);
  /** Delta histograms only: count and sum since the start, as a Summary carries them. */
  private _totalCount = new Float64Array(0);
  private _totalSum = new Float64Array(0);
  private _dirty = new Uint8Array(0);
  private readonly _columns: ColumnSet;
  /** Tracks this stream keeps beyond LIVE (NO_TRACK: none), and where the tiers start. */
  private readonly _inFlight: number;
  private readonly _window: number;
  private readonly _firstTier: number;
  private _dirtyList = new Int32Array(16);
  private _dirtyLength = 0;
  private _freeIds: number[] = [];
  /** Ids ever used: every series id is below it. */
  private _top = 0;
  private _active = 0;
  private _overflow = -1;

  constructor(definition: StreamDefinition) {
    this.key = definition.key;
    this.scope = definition.scope;
    // The advice goes with the descriptor, as on the SDK's own: exporters
    // that want explicit buckets (the Prometheus exposition) read it there.
    this.descriptor =
      definition.advice === undefined
        ? definition.descriptor
        : Object.assign({}, definition.descriptor, {
            advice: definition.advice,
          });
    this.isMonotonic = definition.isMonotonic;
    this.temporality = definition.temporality;
    this.exportsDelta = definition.exportsDelta;
    this.summarized = definition.summarized;
    this.maxSeries = definition.maxSeries;
    this.aggregator = definition.aggregator;
    this.exemplars = definition.exemplars;
    this.advice = definition.advice;
    this.observable = definition.observable;
    this._layout = definition.layout;
    this._diag = definition.diag;
    // A cumulative stream has nothing in flight, one without summaries no
    // window: their series keep no track or column for them.
    let track = LIVE + 1;
    this._inFlight = this.exportsDelta ? track++ : NO_TRACK;
    this._window =
      this.summarized && definition.layout.window ? track++ : NO_TRACK;
    this._firstTier = track;
    this.tracks = new PointTracks(track + definition.layout.tiers.length);
    this._columns = new ColumnSet(this._columnSlots());
    this.scratch = this.aggregator.create();
    this.mergeScratch = this.aggregator.create();
    this._liveRun =
      !this.exportsDelta && this.aggregator.kind === MetricKind.HISTOGRAM
        ? this.aggregator.create()
        : undefined;
  }

  /** The columns this stream keeps: the delta ones only when it exports deltas. */
  private _columnSlots(): ColumnSlot[] {
    const slots: ColumnSlot[] = [
      {
        get: () => this._state,
        set: c => (this._state = c as Uint8Array<ArrayBuffer>),
      },
      {
        get: () => this._generation,
        set: c => (this._generation = c as Int32Array<ArrayBuffer>),
      },
      {
        get: () => this._start,
        set: c => (this._start = c as Float64Array<ArrayBuffer>),
      },
      {
        get: () => this._lastUpdate,
        set: c => (this._lastUpdate = c as Float64Array<ArrayBuffer>),
      },
      {
        get: () => this._lastCollection,
        set: c => (this._lastCollection = c as Float64Array<ArrayBuffer>),
      },
      {
        get: () => this._dirty,
        set: c => (this._dirty = c as Uint8Array<ArrayBuffer>),
      },
    ];
    if (this.exportsDelta)
      slots.push(
        {
          get: () => this._pendingSince,
          set: c => (this._pendingSince = c as Float64Array<ArrayBuffer>),
        },
        {
          get: () => this._inFlightSince,
          set: c => (this._inFlightSince = c as Float64Array<ArrayBuffer>),
        }
      );
    if (this.exportsDelta && this.summarized)
      slots.push(
        {
          get: () => this._totalCount,
          set: c => (this._totalCount = c as Float64Array<ArrayBuffer>),
        },
        {
          get: () => this._totalSum,
          set: c => (this._totalSum = c as Float64Array<ArrayBuffer>),
        }
      );
    return slots;
  }

  /** Series exported now, the overflow series included. */
  get activeSeries(): number {
    return this._active;
  }

  /** Ids in use or free: every series id is below it. */
  get idLimit(): number {
    return this._top;
  }

  /**
   * Adds the bytes this stream holds, by part, to `into`: its keys, its
   * columns, its tracks' arena and its aggregator's (typed arrays and arena
   * chunks counted whole).
   */
  addHeldBytes(into: HeldBytes): void {
    into.keys += this._keys.byteLength;
    into.columns +=
      this.tracks.columnBytes +
      columnBytes(
        this._state,
        this._generation,
        this._start,
        this._lastUpdate,
        this._lastCollection,
        this._pendingSince,
        this._inFlightSince,
        this._totalCount,
        this._totalSum,
        this._dirty,
        this._dirtyList
      );
    const tracks = this.tracks;
    let inBlocks = 0;
    for (let track = 0; track < tracks.tracks; track++) {
      const bytes = tracks.blockBytesOf(track);
      inBlocks += bytes;
      if (track >= this._firstTier) into.history += bytes;
      else into.live += bytes;
    }
    into.free += tracks.arenaBytes - inBlocks;
    this.aggregator.addHeldBytes(into);
    if (this.exemplars !== undefined)
      into.exemplars += this.exemplars.heldBytes();
  }

  /** Whether `series` is a series (active or retired). */
  exists(series: number): boolean {
    return this._state[series] !== FREE;
  }

  isActive(series: number): boolean {
    return this._state[series] === ACTIVE;
  }

  generationOf(series: number): number {
    return this._generation[series];
  }

  startOf(series: number): number {
    return this._start[series];
  }

  /** The collection that last folded data into `series` (0: none yet). */
  lastCollectionOf(series: number): number {
    return this._lastCollection[series];
  }

  /** The attribute key of a series. */
  keyOf(series: number): string {
    return series === this._overflow ? OVERFLOW_KEY : this._keys.keyOf(series);
  }

  /** The attributes of a series, made from its stored key. */
  attributesOf(series: number): Attributes {
    return series === this._overflow
      ? decodeAttributeKey(OVERFLOW_KEY)
      : this._keys.attributesOf(series);
  }

  /**
   * The active series of an attribute key, made when new (its data starts
   * at `sinceMillis`); past the limit, the overflow series (`overflowed`
   * says so). Returns the id.
   */
  seriesFor(key: string, sinceMillis: number, stats: StoreStats): number {
    const found = key === OVERFLOW_KEY ? this._overflow : this._keys.find(key);
    if (found >= 0) return found;
    // One slot stays free for the overflow series, so the limit holds with it.
    if (key === OVERFLOW_KEY || this._active >= this.maxSeries - 1) {
      if (key !== OVERFLOW_KEY) stats.overflowedPoints.add('series_limit');
      if (this._overflow < 0) {
        // Said when the overflow series is made, not per folded measurement.
        if (key !== OVERFLOW_KEY) this._reportLimitReached();
        this._overflow = this._create(sinceMillis);
      }
      return this._overflow;
    }
    const series = this._create(sinceMillis);
    this._keys.add(key, series);
    return series;
  }

  /** The active series of a plain attribute set, or -1 (then {@link seriesFor} with its key). */
  findPlain(attributes: PlainAttributes): number {
    return this._keys.findPlain(attributes);
  }

  private _reportLimitReached(): void {
    this._diag.warn(
      'series_limit',
      `metric '${this.descriptor.name}' reached its series limit (${this.maxSeries}, the overflow series included): further attribute sets fold into its overflow series`
    );
  }

  /** Whether `series` took the overflow series' place (then the limit is reached). */
  isOverflow(series: number): boolean {
    return series === this._overflow;
  }

  /** Adds a checked measurement to a series' current delta. */
  record(series: number, value: number): void {
    this.aggregator.record(series, value);
    if (this._dirty[series] === 0) this._markDirty(series);
  }

  /** Adds an SDK data point to a series' current delta. @throws if the point is malformed. */
  absorb(series: number, point: DataPoint<unknown>): void {
    this.aggregator.absorb(series, point);
    if (this._dirty[series] === 0) this._markDirty(series);
  }

  /**
   * A collection at `nowMillis`: every series with a current delta moves it
   * into its exported value, window and finest tier (the delta happened
   * before: it goes into the slot and point holding nowMillis − 1). One
   * series per step. `collection` counts the store's collections.
   */
  *fold(
    nowMillis: number,
    collection: number
  ): Generator<void, void, undefined> {
    const at = nowMillis - 1;
    const layout = this._layout;
    const delta = this.scratch;
    const exemplars = this.exemplars;
    exemplars?.collected(nowMillis);
    for (let i = 0; i < this._dirtyLength; i++) {
      const series = this._dirtyList[i];
      this._dirty[series] = 0;
      if (this._state[series] !== ACTIVE) continue;
      exemplars?.startCycle(series);
      delta.clear();
      this.aggregator.drain(series, delta);
      const tracks = this.tracks;
      if (this._liveRun === undefined)
        tracks.add(
          series,
          LIVE,
          this.exportsDelta ? this._pendingSince[series] : this._start[series],
          delta,
          this.mergeScratch
        );
      else {
        tracks.append(series, LIVE, this._start[series], delta);
        // Unread for too long: a read merges the deltas into one point.
        if (tracks.size(series, LIVE) > MAX_LIVE_RUN)
          this.exportedValue(series, false, this._liveRun);
      }
      if (this._window !== NO_TRACK) {
        tracks.add(
          series,
          this._window,
          alignDown(at, layout.window!.slotMillis),
          delta,
          this.mergeScratch
        );
        if (this.exportsDelta) {
          const sketch = sketchOf(delta);
          this._totalCount[series] += sketch.count;
          this._totalSum[series] += sketch.sum;
        }
      }
      const tier = layout.tiers[0];
      if (tier !== undefined)
        tracks.add(
          series,
          this._firstTier,
          alignDown(at, tier.resolutionMillis),
          delta,
          this.mergeScratch
        );
      this._lastUpdate[series] = nowMillis;
      this._lastCollection[series] = collection;
      yield;
    }
    this._dirtyLength = 0;
  }

  /**
   * The retention rules for one series: expiry after `ttlMillis` without
   * data (a delta still waiting for a successful export keeps its series),
   * the window slid, history rolled into coarser tiers and aged out of the
   * last, its blocks moved out of a chunk the tracks are emptying. Returns
   * whether the series is still there (a retired series whose history is
   * gone is freed).
   */
  maintain(
    series: number,
    nowMillis: number,
    ttlMillis: number,
    stats: StoreStats
  ): boolean {
    const state = this._state[series];
    if (state === FREE) return false;
    if (
      state === ACTIVE &&
      nowMillis - this._lastUpdate[series] >= ttlMillis &&
      this._dirty[series] === 0 &&
      !(this.exportsDelta && this.hasUnconfirmedData(series))
    ) {
      this._retire(series);
      stats.evictedSeries.add('ttl');
    }
    const tracks = this.tracks;
    const windowTrack = this._window;
    if (windowTrack !== NO_TRACK && tracks.size(series, windowTrack) > 0) {
      const from = windowStart(nowMillis, this._layout.window!);
      while (
        tracks.size(series, windowTrack) > 0 &&
        tracks.firstStart(series, windowTrack) < from
      )
        tracks.shift(series, windowTrack, undefined);
    }
    const tiers = this._layout.tiers;
    for (let i = 0; i < tiers.length; i++) {
      const track = this._firstTier + i;
      if (tracks.size(series, track) === 0) continue;
      const cutoff = nowMillis - tiers[i].durationMillis;
      const next = tiers[i + 1];
      if (next === undefined) {
        while (
          tracks.size(series, track) > 0 &&
          tracks.firstStart(series, track) + tiers[i].resolutionMillis <= cutoff
        ) {
          tracks.shift(series, track, undefined);
          stats.evictedPoints.add('age');
        }
        continue;
      }
      const coarse = this.scratch;
      while (tracks.size(series, track) > 0) {
        const start = alignDown(
          tracks.firstStart(series, track),
          next.resolutionMillis
        );
        const end = start + next.resolutionMillis;
        if (end > cutoff) break;
        coarse.clear();
        while (
          tracks.size(series, track) > 0 &&
          tracks.firstStart(series, track) < end
        )
          tracks.shift(series, track, coarse);
        tracks.add(series, track + 1, start, coarse, this.mergeScratch);
      }
    }
    if (this._state[series] === RETIRED && !this.hasHistory(series)) {
      this._free(series);
      return false;
    }
    tracks.relocate(series);
    return true;
  }

  hasHistory(series: number): boolean {
    for (let i = 0; i < this._layout.tiers.length; i++)
      if (this.tracks.size(series, this._firstTier + i) > 0) return true;
    return false;
  }

  /** Delta streams: whether data still waits for a successful export. */
  hasUnconfirmedData(series: number): boolean {
    return (
      this.tracks.size(series, LIVE) > 0 || this._inFlightPoints(series) > 0
    );
  }

  /** Bytes of a series' history, for the memory budget. */
  historyBytes(series: number): number {
    let bytes = 0;
    for (let i = 0; i < this._layout.tiers.length; i++)
      bytes += this.tracks.bytesOf(series, this._firstTier + i);
    return bytes;
  }

  /**
   * The value an export (or a preview of one) carries, merged into `into`
   * (cleared first), and the start of the time it covers; NaN when there is
   * none: in flight during a delta export, else the exported value.
   */
  exportedValue(
    series: number,
    duringExport: boolean,
    into: Aggregate
  ): number {
    const track = this.exportsDelta && duringExport ? this._inFlight : LIVE;
    if (this.tracks.size(series, track) === 0) return NaN;
    into.clear();
    const start = this.tracks.firstStart(series, track);
    this.tracks.forEach(series, track, (_start, reader) =>
      into.mergeFrom(reader)
    );
    // The deltas appended since the last export become one point again.
    if (this._liveRun !== undefined && this.tracks.size(series, LIVE) > 1) {
      this.tracks.clear(series, LIVE);
      this.tracks.append(series, LIVE, start, into);
    }
    return start;
  }

  /** Delta streams: moves the pending data in flight; false when there is none. */
  beginExport(series: number, nowMillis: number): boolean {
    if (this._state[series] !== ACTIVE || this.tracks.size(series, LIVE) === 0)
      return false;
    this.tracks.swap(series, LIVE, this._inFlight);
    this._inFlightSince[series] = this._pendingSince[series];
    this._pendingSince[series] = nowMillis;
    this.exemplars?.beginExport(series);
    return true;
  }

  /** Drops what was in flight once sent; merges it back if the export failed. */
  endExport(series: number, succeeded: boolean): void {
    const tracks = this.tracks;
    const inFlight = this._inFlight;
    if (this._inFlightPoints(series) === 0) return;
    this.exemplars?.endExport(series, succeeded);
    if (succeeded || this._state[series] !== ACTIVE) {
      tracks.clear(series, inFlight);
      return;
    }
    // The failed data goes first, then what came since, as one pending point.
    const merged = this.scratch;
    merged.clear();
    tracks.forEach(series, inFlight, (_start, reader) =>
      merged.mergeFrom(reader)
    );
    tracks.forEach(series, LIVE, (_start, reader) => merged.mergeFrom(reader));
    tracks.clear(series, inFlight);
    tracks.clear(series, LIVE);
    this._pendingSince[series] = this._inFlightSince[series];
    tracks.add(
      series,
      LIVE,
      this._pendingSince[series],
      merged,
      this.mergeScratch
    );
  }

  /** Merges the window as of `nowMillis` into `into`. */
  mergeWindowInto(series: number, nowMillis: number, into: Aggregate): void {
    const window = this._layout.window;
    if (!window) return;
    const from = windowStart(nowMillis, window);
    this.tracks.forEach(series, this._window, (start, reader) => {
      if (start >= from) into.mergeFrom(reader);
    });
  }

  /** Histograms: count and sum since the start, as a Summary carries them. */
  totals(series: number, exported: Aggregate): { count: number; sum: number } {
    if (this.exportsDelta)
      return { count: this._totalCount[series], sum: this._totalSum[series] };
    const sketch = sketchOf(exported);
    return { count: sketch.count, sum: sketch.sum };
  }

  /** Visits every history point of tier `tier`, oldest first. */
  forEachPoint(
    series: number,
    tier: number,
    visit: (startMillis: number, reader: ByteReader, bytes: number) => void
  ): void {
    this.tracks.forEach(series, this._firstTier + tier, visit);
  }

  /** Drops history points starting at or before `cutoffMillis`; returns how many. */
  dropHistoryThrough(series: number, cutoffMillis: number): number {
    let dropped = 0;
    for (let i = 0; i < this._layout.tiers.length; i++) {
      const track = this._firstTier + i;
      while (
        this.tracks.size(series, track) > 0 &&
        this.tracks.firstStart(series, track) <= cutoffMillis
      ) {
        this.tracks.shift(series, track, undefined);
        dropped++;
      }
    }
    if (this._state[series] === RETIRED && !this.hasHistory(series))
      this._free(series);
    return dropped;
  }

  /** What a snapshot keeps of a series. */
  state(series: number): SeriesState {
    const live =
      this._state[series] === ACTIVE ? this.aggregator.create() : undefined;
    if (live) {
      if (this._inFlight !== NO_TRACK)
        this.tracks.forEach(series, this._inFlight, (_s, reader) =>
          live.mergeFrom(reader)
        );
      this.tracks.forEach(series, LIVE, (_s, reader) => live.mergeFrom(reader));
    }
    const history: [number, Aggregate][][] = this._layout.tiers.map(
      (_tier, i) => {
        const points: [number, Aggregate][] = [];
        this.tracks.forEach(series, this._firstTier + i, (start, reader) => {
          const value = this.aggregator.create();
          value.mergeFrom(reader);
          points.push([start, value]);
        });
        return points;
      }
    );
    return {
      startMillis: this._start[series],
      lastUpdateMillis: this._lastUpdate[series],
      pendingSinceMillis: !this.exportsDelta
        ? this._start[series]
        : this._inFlightPoints(series) > 0
          ? this._inFlightSince[series]
          : this._pendingSince[series],
      live,
      totals:
        this.exportsDelta && this.summarized
          ? { count: this._totalCount[series], sum: this._totalSum[series] }
          : undefined,
      history,
    };
  }

  /**
   * Brings back a series from a snapshot, through the same limits as new
   * data (a series over the limit joins the overflow). One saved without
   * live state comes back as history only.
   */
  restore(key: string, saved: SeriesState, stats: StoreStats): void {
    let series: number;
    if (saved.live === undefined) {
      series = this._create(saved.startMillis);
      this._retire(series);
    } else {
      series = this.seriesFor(key, saved.startMillis, stats);
      if (this.exportsDelta)
        this._pendingSince[series] =
          this.tracks.size(series, LIVE) === 0
            ? saved.pendingSinceMillis
            : Math.min(this._pendingSince[series], saved.pendingSinceMillis);
      this.tracks.add(
        series,
        LIVE,
        this.exportsDelta ? this._pendingSince[series] : this._start[series],
        saved.live,
        this.mergeScratch
      );
    }
    if (saved.totals && this.exportsDelta && this.summarized) {
      this._totalCount[series] += saved.totals.count;
      this._totalSum[series] += saved.totals.sum;
    }
    this._lastUpdate[series] = Math.max(
      this._lastUpdate[series],
      saved.lastUpdateMillis
    );
    saved.history.forEach((points, tier) => {
      if (tier >= this._layout.tiers.length) return;
      for (const [start, value] of points)
        this.tracks.add(
          series,
          this._firstTier + tier,
          start,
          value,
          this.mergeScratch
        );
    });
  }

  /** Points in flight (none for a cumulative stream). */
  private _inFlightPoints(series: number): number {
    return this._inFlight === NO_TRACK
      ? 0
      : this.tracks.size(series, this._inFlight);
  }

  private _create(sinceMillis: number): number {
    const series = this._freeIds.pop() ?? this._top++;
    this._reserve(series + 1);
    this._state[series] = ACTIVE;
    this._generation[series]++;
    this._start[series] = sinceMillis;
    this._lastUpdate[series] = sinceMillis;
    this._lastCollection[series] = 0;
    if (this.exportsDelta) {
      this._pendingSince[series] = sinceMillis;
      this._inFlightSince[series] = sinceMillis;
      if (this.summarized) {
        this._totalCount[series] = 0;
        this._totalSum[series] = 0;
      }
    }
    this._active++;
    return series;
  }

  /** Frees the live state, keeping the history; the key may start a new series. */
  private _retire(series: number): void {
    if (series === this._overflow) this._overflow = -1;
    else this._keys.remove(series);
    this.aggregator.release(series);
    this.exemplars?.release(series);
    this.tracks.clear(series, LIVE);
    if (this._inFlight !== NO_TRACK) this.tracks.clear(series, this._inFlight);
    if (this._window !== NO_TRACK) this.tracks.clear(series, this._window);
    this._state[series] = RETIRED;
    this._active--;
  }

  private _free(series: number): void {
    for (let track = 0; track < this.tracks.tracks; track++)
      this.tracks.clear(series, track);
    this._state[series] = FREE;
    this._generation[series]++;
    this._freeIds.push(series);
  }

  private _markDirty(series: number): void {
    this._dirty[series] = 1;
    if (this._dirtyLength === this._dirtyList.length)
      this._dirtyList = grow(this._dirtyList, this._dirtyList.length * 2);
    this._dirtyList[this._dirtyLength++] = series;
  }

  /** Makes room for ids below `series` (a column at a time, ahead of need). */
  private _reserve(series: number): void {
    this._columns.reserve(series);
    this.tracks.reserve(series);
    this.aggregator.reserve(series);
    this.exemplars?.reserve(series);
  }
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

/** A summarized stream's aggregate: summaries are made of histograms only. */
function sketchOf(aggregate: Aggregate): HistogramAggregate['sketch'] {
  return (aggregate as HistogramAggregate).sketch;
}
