import type {
  Attributes,
  Context,
  Counter,
  Gauge,
  Histogram,
  SpanContext,
  UpDownCounter,
} from '@opentelemetry/api';
import { describeValue } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
import type { ExemplarEligibility } from '../exemplars/ExemplarFilter';
import type {
  FilteredAttributes,
  FilteredAttributesOf,
} from '../exemplars/FilteredAttributes';
import type { SeriesResolver } from '../store/SeriesResolver';
import { UNREADABLE } from '../store/SeriesResolver';
import type { Stream } from '../store/Stream';
import type { StoreStats } from '../store/Tally';

/** Which values an instrument takes. */
export interface ValueRule {
  /** Counters and histograms: no negative values. */
  nonNegative: boolean;
  /** INT instruments: fractions are cut to integers, as the SDK does. */
  integer: boolean;
}

/** One stream an instrument records into (Views may make several). */
export interface StreamEntry {
  stream: Stream;
  resolver: SeriesResolver;
  /** What the View's attribute processors take off, kept on exemplars; undefined without processors. */
  filtered: FilteredAttributes | undefined;
}

/** Where an instrument's measurements go: its streams, and what it shares. */
export interface InstrumentTarget {
  streams: StreamEntry[];
  stats: StoreStats;
  /** Which measurements may become exemplars; undefined for none ('always_off'). */
  exemplars: ExemplarEligibility | undefined;
  diag: RateLimitedDiag;
  /** Where a new series' data starts: the latest collection. */
  sinceMillis(): number;
  /** Whether the provider shut down (then measurements are counted, not kept). */
  closed(): boolean;
}

/** A handle on one attribute set of an instrument: recording costs no look-up. */
export interface BoundInstrument {
  /**
   * Records, and says whether the value was kept (false: rejected and
   * counted); `context` (default the active one) is what exemplars sample.
   */
  record(value: number, context?: Context): boolean;
}

/**
 * Counter, UpDownCounter, Histogram and Gauge of our provider: each
 * measurement is checked (a bad value or attributes object is counted and
 * reported, never thrown), its series found ({@link SeriesResolver}) and
 * its value added to that series' current delta in the store. Several
 * streams when Views make several of one instrument. A measurement the
 * exemplar filter lets through (by its context, the active one unless one
 * is passed) is offered to its series' exemplar reservoir; with
 * 'always_off' nothing of that runs.
 */
export class SyncInstrument
  implements Counter, UpDownCounter, Histogram, Gauge
{
  readonly name: string;
  private readonly _rule: ValueRule;
  /** Where its measurements go (its handles reach it through the instrument). */
  readonly target: InstrumentTarget;
  /** The one stream, the common case, kept apart for the record path. */
  private readonly _single: StreamEntry | undefined;
  private readonly _exemplars: ExemplarEligibility | undefined;

  constructor(name: string, rule: ValueRule, target: InstrumentTarget) {
    this.name = name;
    this._rule = rule;
    this.target = target;
    this._single = target.streams.length === 1 ? target.streams[0] : undefined;
    this._exemplars = target.exemplars;
  }

  add(value: number, attributes?: Attributes, context?: Context): void {
    this.tryRecord(value, attributes, context);
  }

  record(value: number, attributes?: Attributes, context?: Context): void {
    this.tryRecord(value, attributes, context);
  }

  /**
   * Records, and says whether the measurement was kept (false: rejected
   * and counted). `context` (default the active one) is what exemplars
   * sample.
   */
  tryRecord(value: unknown, attributes: unknown, context?: Context): boolean {
    const checked = this.checked(value);
    if (checked === undefined) return false;
    const span = this.spanOf(context);
    const single = this._single;
    if (single !== undefined)
      return this._recordInto(single, checked, attributes, span);
    let kept = true;
    for (const entry of this.target.streams)
      kept = this._recordInto(entry, checked, attributes, span) && kept;
    return kept;
  }

  /**
   * A handle on one attribute set (read now, as a measurement's would be);
   * `onRejected` runs for each value it rejects (after the store counted it).
   * @throws {TypeError} for attributes that are no attributes object.
   */
  bind(attributes?: Attributes, onRejected?: () => void): BoundInstrument {
    const handles = this.target.streams.map(
      ({ stream, resolver, filtered }) => {
        const series = resolver.seriesOf(attributes, this.target.sinceMillis());
        if (series === UNREADABLE)
          throw new TypeError(
            `${this.name}.bind(): attributes must be an object of attributes, got ${describeValue(attributes)}`
          );
        return new SeriesHandle(
          this,
          stream,
          series,
          filtered?.bound(attributes),
          onRejected
        );
      }
    );
    return handles.length === 1
      ? handles[0]
      : new StreamsHandle(this, handles, onRejected);
  }

  /**
   * The value to record, or undefined (counted and reported, then
   * `onRejected` run) when the instrument cannot take it.
   */
  checked(value: unknown, onRejected?: () => void): number | undefined {
    if (
      typeof value === 'number' &&
      value - value === 0 &&
      (value >= 0 || !this._rule.nonNegative) &&
      !this.target.closed()
    )
      return this._rule.integer ? Math.trunc(value) : value;
    if (this.target.closed()) this._reject('after_shutdown', 'after shutdown');
    else
      this._reject(
        typeof value !== 'number'
          ? 'not_a_number'
          : value - value !== 0
            ? 'not_finite'
            : 'negative',
        describeValue(value)
      );
    onRejected?.();
    return undefined;
  }

  /** The sampled span a measurement in `context` may be an exemplar of; undefined when none or 'always_off'. */
  spanOf(context: Context | undefined): SpanContext | undefined {
    const exemplars = this._exemplars;
    return exemplars === undefined ? undefined : exemplars.spanOf(context);
  }

  private _recordInto(
    { stream, resolver, filtered }: StreamEntry,
    value: number,
    attributes: unknown,
    span: SpanContext | undefined
  ): boolean {
    const series = resolver.seriesOf(attributes, this.target.sinceMillis());
    if (series === UNREADABLE) {
      this._reject(
        'invalid_attributes',
        `attributes ${describeValue(attributes)}`
      );
      return false;
    }
    stream.record(series, value);
    if (span !== undefined)
      stream.exemplars?.offer(series, value, span, filtered, attributes);
    return true;
  }

  private _reject(reason: string, what: string): void {
    this.target.stats.rejectedMeasurements.add(reason);
    this.target.diag.warn(
      `rejected:${reason}`,
      `'${this.name}' rejected a measurement (${reason}): ${what}`
    );
  }
}

/**
 * A bound handle on one stream's series: one object per handle, its
 * methods on the prototype. Found again by its key if the series expired
 * meanwhile.
 */
class SeriesHandle implements BoundInstrument {
  private readonly _instrument: SyncInstrument;
  private readonly _stream: Stream;
  private readonly _key: string;
  /** The bound set's filtered attributes, for its exemplars. */
  private readonly _filtered: FilteredAttributesOf | undefined;
  private readonly _onRejected: (() => void) | undefined;
  private _series: number;
  private _generation: number;

  constructor(
    instrument: SyncInstrument,
    stream: Stream,
    series: number,
    filtered: FilteredAttributesOf | undefined,
    onRejected: (() => void) | undefined
  ) {
    this._instrument = instrument;
    this._stream = stream;
    this._series = series;
    this._generation = stream.generationOf(series);
    this._key = stream.keyOf(series);
    this._filtered = filtered;
    this._onRejected = onRejected;
  }

  record(value: number, context?: Context): boolean {
    const checked = this._instrument.checked(value, this._onRejected);
    if (checked === undefined) return false;
    this.recordChecked(checked, this._instrument.spanOf(context));
    return true;
  }

  /** Records a checked value, and offers it as an exemplar of the span when there is one. */
  recordChecked(value: number, span: SpanContext | undefined): void {
    const stream = this._stream;
    if (
      !stream.isActive(this._series) ||
      stream.generationOf(this._series) !== this._generation
    ) {
      this._series = stream.seriesFor(
        this._key,
        this._instrument.target.sinceMillis(),
        this._instrument.target.stats
      );
      this._generation = stream.generationOf(this._series);
    }
    stream.record(this._series, value);
    if (span !== undefined)
      stream.exemplars?.offer(
        this._series,
        value,
        span,
        this._filtered,
        undefined
      );
  }
}

/** A bound handle on the series of several streams (Views made several of the instrument). */
class StreamsHandle implements BoundInstrument {
  private readonly _instrument: SyncInstrument;
  private readonly _handles: SeriesHandle[];
  private readonly _onRejected: (() => void) | undefined;

  constructor(
    instrument: SyncInstrument,
    handles: SeriesHandle[],
    onRejected: (() => void) | undefined
  ) {
    this._instrument = instrument;
    this._handles = handles;
    this._onRejected = onRejected;
  }

  record(value: number, context?: Context): boolean {
    const checked = this._instrument.checked(value, this._onRejected);
    if (checked === undefined) return false;
    const span = this._instrument.spanOf(context);
    for (const handle of this._handles) handle.recordChecked(checked, span);
    return true;
  }
}
