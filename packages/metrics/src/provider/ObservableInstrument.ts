import type {
  Attributes,
  ObservableCallback,
  ObservableCounter,
  ObservableGauge,
  ObservableResult,
  ObservableUpDownCounter,
} from '@opentelemetry/api';
import { describeValue } from '@datapunk/otel-common';
import { grow } from '../store/arena/columns';
import { UNREADABLE } from '../store/SeriesResolver';
import type { InstrumentTarget, ValueRule } from './SyncInstrument';

/** Overflowed sets whose totals a counter remembers, per collection. */
const MAX_OVERFLOWED_SETS = 10_000;

/**
 * ObservableCounter, ObservableUpDownCounter and ObservableGauge of our
 * provider: callbacks report values when a collection runs. Counters report
 * totals; what goes into the store is the change since the series' previous
 * observation (a total that fell, for a monotonic counter, is a restart:
 * all of it is new). Only series observed in the latest collection are
 * exported, as the specification asks.
 */
export class ObservableInstrument
  implements ObservableCounter, ObservableUpDownCounter, ObservableGauge
{
  readonly name: string;
  /** Counters: observations are totals. */
  readonly cumulative: boolean;
  private readonly _rule: ValueRule;
  private readonly _target: InstrumentTarget;
  private readonly _callbacks = new Set<ObservableCallback>();
  /** Counters, per stream and series: the previous total; NaN before one. */
  private readonly _previous: Float64Array[];
  /** The series generation each previous total belongs to (an id is reused after expiry). */
  private readonly _generation: Int32Array[];
  /**
   * Counters, per stream: the previous total of each set past the series
   * limit, by key (they share the overflow series, so each is differenced
   * on its own), for sets observed in the latest collection or this one.
   */
  private readonly _overflowPrevious: Map<string, number>[];
  private readonly _overflowCurrent: Map<string, number>[];

  constructor(
    name: string,
    cumulative: boolean,
    rule: ValueRule,
    target: InstrumentTarget
  ) {
    this.name = name;
    this.cumulative = cumulative;
    this._rule = rule;
    this._target = target;
    this._previous = target.streams.map(() => new Float64Array(0));
    this._generation = target.streams.map(() => new Int32Array(0));
    this._overflowPrevious = target.streams.map(() => new Map());
    this._overflowCurrent = target.streams.map(() => new Map());
  }

  addCallback(callback: ObservableCallback): void {
    if (typeof callback !== 'function') {
      this._target.diag.warn(
        'callback',
        `'${this.name}'.addCallback() needs a function, got ${describeValue(callback)}; ignored`
      );
      return;
    }
    this._callbacks.add(callback);
  }

  removeCallback(callback: ObservableCallback): void {
    this._callbacks.delete(callback);
  }

  /** The callbacks of a new collection, each with a result that observes into this instrument. */
  *callbacks(): IterableIterator<[ObservableCallback, ObservableResult]> {
    // Overflowed sets not observed in the latest collection are forgotten.
    this._target.streams.forEach((_, i) => {
      this._overflowPrevious[i] = this._overflowCurrent[i];
      this._overflowCurrent[i] = new Map();
    });
    const result: ObservableResult = {
      observe: (value, attributes) => this.observe(value, attributes),
    };
    for (const callback of this._callbacks) yield [callback, result];
  }

  /** One observation, from a callback; checked and counted like any measurement. */
  observe(value: unknown, attributes?: Attributes): void {
    const target = this._target;
    const reason = target.closed()
      ? 'after_shutdown'
      : typeof value !== 'number'
        ? 'not_a_number'
        : value - value !== 0
          ? 'not_finite'
          : value < 0 && this._rule.nonNegative
            ? 'negative'
            : undefined;
    if (reason !== undefined) {
      target.stats.rejectedMeasurements.add(reason);
      target.diag.warn(
        `rejected:${reason}`,
        `'${this.name}' rejected an observation (${reason}): ${describeValue(value)}`
      );
      return;
    }
    // Checked above: a finite number.
    const observed = this._rule.integer
      ? Math.trunc(value as number)
      : (value as number);
    target.streams.forEach(({ stream, resolver }, i) => {
      const series = resolver.seriesOf(attributes, target.sinceMillis());
      if (series === UNREADABLE) {
        target.stats.rejectedMeasurements.add('invalid_attributes');
        return;
      }
      if (!this.cumulative) {
        stream.record(series, observed);
        return;
      }
      if (stream.isOverflow(series)) {
        stream.record(series, this._overflowDelta(i, observed, attributes));
        return;
      }
      let previous = this._previous[i];
      let generation = this._generation[i];
      if (series >= previous.length) {
        const length = Math.max(series + 1, previous.length * 2, 16);
        previous = this._previous[i] = grow(previous, length);
        generation = this._generation[i] = grow(generation, length);
      }
      const same = generation[series] === stream.generationOf(series);
      const before = previous[series];
      const restarted = !same || (this._rule.nonNegative && observed < before);
      previous[series] = observed;
      generation[series] = stream.generationOf(series);
      stream.record(series, restarted ? observed : observed - before);
    });
  }

  /**
   * The change of an overflowed set's total since its previous observation
   * (all of it when it is new, restarted, or past the sets remembered).
   */
  private _overflowDelta(
    stream: number,
    observed: number,
    attributes: Attributes | undefined
  ): number {
    const key = this._target.streams[stream].resolver.keyOf(attributes);
    const current = this._overflowCurrent[stream];
    if (key === undefined || current.size >= MAX_OVERFLOWED_SETS)
      return observed;
    const before =
      current.get(key) ?? this._overflowPrevious[stream].get(key) ?? 0;
    current.set(key, observed);
    return this._rule.nonNegative && observed < before
      ? observed
      : observed - before;
  }
}
