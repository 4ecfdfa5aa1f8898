import type {
  Attributes,
  Counter,
  Gauge,
  Histogram,
  UpDownCounter,
} from '@opentelemetry/api';
import { describeValue } from '@datapunk/otel-common';
import type { RateLimitedDiag } from '@datapunk/otel-common';
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

/** Where an instrument's measurements go: its streams, and what it shares. */
export interface InstrumentTarget {
  streams: { stream: Stream; resolver: SeriesResolver }[];
  stats: StoreStats;
  diag: RateLimitedDiag;
  /** Where a new series' data starts: the latest collection. */
  sinceMillis(): number;
  /** Whether the provider shut down (then measurements are counted, not kept). */
  closed(): boolean;
}

/** A handle on one attribute set of an instrument: recording costs no look-up. */
export interface BoundInstrument {
  /** Records, and says whether the value was kept (false: rejected and counted). */
  record(value: number): boolean;
}

/**
 * Counter, UpDownCounter, Histogram and Gauge of our provider: each
 * measurement is checked (a bad value or attributes object is counted and
 * reported, never thrown), its series found ({@link SeriesResolver}) and
 * its value added to that series' current delta in the store. Several
 * streams when Views make several of one instrument.
 */
export class SyncInstrument
  implements Counter, UpDownCounter, Histogram, Gauge
{
  readonly name: string;
  private readonly _rule: ValueRule;
  private readonly _target: InstrumentTarget;
  /** The one stream, the common case, kept apart for the record path. */
  private readonly _single:
    | { stream: Stream; resolver: SeriesResolver }
    | undefined;

  constructor(name: string, rule: ValueRule, target: InstrumentTarget) {
    this.name = name;
    this._rule = rule;
    this._target = target;
    this._single = target.streams.length === 1 ? target.streams[0] : undefined;
  }

  add(value: number, attributes?: Attributes): void {
    this.tryRecord(value, attributes);
  }

  record(value: number, attributes?: Attributes): void {
    this.tryRecord(value, attributes);
  }

  /** Records, and says whether the measurement was kept (false: rejected and counted). */
  tryRecord(value: unknown, attributes: unknown): boolean {
    const checked = this._check(value);
    if (checked === undefined) return false;
    const single = this._single;
    if (single !== undefined)
      return this._recordInto(
        single.stream,
        single.resolver,
        checked,
        attributes
      );
    let kept = true;
    for (const { stream, resolver } of this._target.streams)
      kept = this._recordInto(stream, resolver, checked, attributes) && kept;
    return kept;
  }

  /**
   * A handle on one attribute set (read now, as a measurement's would be).
   * @throws {TypeError} for attributes that are no attributes object.
   */
  bind(attributes?: Attributes): BoundInstrument {
    const handles = this._target.streams.map(({ stream, resolver }) => {
      const series = resolver.seriesOf(attributes, this._target.sinceMillis());
      if (series === UNREADABLE)
        throw new TypeError(
          `${this.name}.bind(): attributes must be an object of attributes, got ${describeValue(attributes)}`
        );
      return new SeriesHandle(stream, series, this._target);
    });
    const single = handles.length === 1 ? handles[0] : undefined;
    return {
      record: value => {
        const checked = this._check(value);
        if (checked === undefined) return false;
        if (single !== undefined) single.record(checked);
        else for (const handle of handles) handle.record(checked);
        return true;
      },
    };
  }

  private _recordInto(
    stream: Stream,
    resolver: SeriesResolver,
    value: number,
    attributes: unknown
  ): boolean {
    const series = resolver.seriesOf(attributes, this._target.sinceMillis());
    if (series === UNREADABLE) {
      this._reject(
        'invalid_attributes',
        `attributes ${describeValue(attributes)}`
      );
      return false;
    }
    stream.record(series, value);
    return true;
  }

  /** The value to record, or undefined (counted) when the instrument cannot take it. */
  private _check(value: unknown): number | undefined {
    if (
      typeof value === 'number' &&
      value - value === 0 &&
      (value >= 0 || !this._rule.nonNegative) &&
      !this._target.closed()
    )
      return this._rule.integer ? Math.trunc(value) : value;
    if (this._target.closed()) this._reject('after_shutdown', 'after shutdown');
    else
      this._reject(
        typeof value !== 'number'
          ? 'not_a_number'
          : value - value !== 0
            ? 'not_finite'
            : 'negative',
        describeValue(value)
      );
    return undefined;
  }

  private _reject(reason: string, what: string): void {
    this._target.stats.rejectedMeasurements.add(reason);
    this._target.diag.warn(
      `rejected:${reason}`,
      `'${this.name}' rejected a measurement (${reason}): ${what}`
    );
  }
}

/** One series of a bound handle: found again by its key if it expired meanwhile. */
class SeriesHandle {
  private readonly _stream: Stream;
  private readonly _key: string;
  private readonly _target: InstrumentTarget;
  private _series: number;
  private _generation: number;

  constructor(stream: Stream, series: number, target: InstrumentTarget) {
    this._stream = stream;
    this._series = series;
    this._generation = stream.generationOf(series);
    this._key = stream.keyOf(series);
    this._target = target;
  }

  record(value: number): void {
    const stream = this._stream;
    if (
      !stream.isActive(this._series) ||
      stream.generationOf(this._series) !== this._generation
    ) {
      this._series = stream.seriesFor(
        this._key,
        this._target.sinceMillis(),
        this._target.stats
      );
      this._generation = stream.generationOf(this._series);
    }
    stream.record(this._series, value);
  }
}
