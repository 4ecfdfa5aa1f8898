import { ValueType } from '@opentelemetry/api';
import type {
  Attributes,
  BatchObservableCallback,
  BatchObservableResult,
  Counter,
  Gauge,
  Histogram,
  Meter,
  MetricOptions,
  Observable,
  ObservableCallback,
  ObservableCounter,
  ObservableGauge,
  ObservableResult,
  ObservableUpDownCounter,
  UpDownCounter,
} from '@opentelemetry/api';
import { InstrumentType } from '@opentelemetry/sdk-metrics';
import type { AttributeReader, RateLimitedDiag } from '@datapunk/otel-common';
import { describeValue } from '@datapunk/otel-common';
import type { ExemplarEligibility } from '../exemplars/ExemplarFilter';
import { FilteredAttributes } from '../exemplars/FilteredAttributes';
import type { MetricStore } from '../store/MetricStore';
import { SeriesResolver } from '../store/SeriesResolver';
import type { Scope } from '../store/Stream';
import { MetricKind } from '../types';
import { ObservableInstrument } from './ObservableInstrument';
import { SyncInstrument } from './SyncInstrument';
import type { InstrumentTarget, ValueRule } from './SyncInstrument';
import type { ViewRegistry } from './ViewRegistry';

/** OpenTelemetry's instrument name syntax. */
const NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;

/** What every meter of a provider shares. */
export interface MeterContext {
  store: MetricStore;
  views: ViewRegistry;
  attributeReader: AttributeReader;
  /** Which measurements may become exemplars; undefined for none. */
  exemplars: ExemplarEligibility | undefined;
  diag: RateLimitedDiag;
  sinceMillis(): number;
  closed(): boolean;
}

/** Per instrument type: the kind of data it keeps and the values it takes. */
const TYPES: Record<
  InstrumentType,
  { kind: MetricKind; monotonic: boolean; nonNegative: boolean }
> = {
  [InstrumentType.COUNTER]: {
    kind: MetricKind.SUM,
    monotonic: true,
    nonNegative: true,
  },
  [InstrumentType.UP_DOWN_COUNTER]: {
    kind: MetricKind.SUM,
    monotonic: false,
    nonNegative: false,
  },
  [InstrumentType.HISTOGRAM]: {
    kind: MetricKind.HISTOGRAM,
    monotonic: false,
    nonNegative: true,
  },
  [InstrumentType.GAUGE]: {
    kind: MetricKind.GAUGE,
    monotonic: false,
    nonNegative: false,
  },
  [InstrumentType.OBSERVABLE_COUNTER]: {
    kind: MetricKind.SUM,
    monotonic: true,
    nonNegative: true,
  },
  [InstrumentType.OBSERVABLE_UP_DOWN_COUNTER]: {
    kind: MetricKind.SUM,
    monotonic: false,
    nonNegative: false,
  },
  [InstrumentType.OBSERVABLE_GAUGE]: {
    kind: MetricKind.GAUGE,
    monotonic: false,
    nonNegative: false,
  },
};

/**
 * A Meter of {@link RetentionMeterProvider}: instruments that record
 * straight into the provider's store. An instrument asked for twice (same
 * name and type) is the same instrument; an invalid name is reported and
 * gets an instrument that records nothing, as the specification allows.
 */
export class RetentionMeter implements Meter {
  readonly scope: Scope;
  private readonly _context: MeterContext;
  private readonly _instruments = new Map<
    string,
    SyncInstrument | ObservableInstrument
  >();
  private readonly _observables = new Set<ObservableInstrument>();
  private readonly _batches = new Map<
    BatchObservableCallback,
    Set<ObservableInstrument>
  >();

  constructor(scope: Scope, context: MeterContext) {
    this.scope = scope;
    this._context = context;
  }

  createCounter(name: string, options?: MetricOptions): Counter {
    return this._sync(name, InstrumentType.COUNTER, options);
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return this._sync(name, InstrumentType.UP_DOWN_COUNTER, options);
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    return this._sync(name, InstrumentType.HISTOGRAM, options);
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    return this._sync(name, InstrumentType.GAUGE, options);
  }

  createObservableCounter(
    name: string,
    options?: MetricOptions
  ): ObservableCounter {
    return this._observable(name, InstrumentType.OBSERVABLE_COUNTER, options);
  }

  createObservableUpDownCounter(
    name: string,
    options?: MetricOptions
  ): ObservableUpDownCounter {
    return this._observable(
      name,
      InstrumentType.OBSERVABLE_UP_DOWN_COUNTER,
      options
    );
  }

  createObservableGauge(
    name: string,
    options?: MetricOptions
  ): ObservableGauge {
    return this._observable(name, InstrumentType.OBSERVABLE_GAUGE, options);
  }

  addBatchObservableCallback(
    callback: BatchObservableCallback,
    observables: Observable[]
  ): void {
    if (typeof callback !== 'function' || !Array.isArray(observables)) {
      this._context.diag.warn(
        'batch_callback',
        `addBatchObservableCallback needs a function and an array of observables; ignored`
      );
      return;
    }
    const own = observables.filter(
      (o): o is ObservableInstrument =>
        o instanceof ObservableInstrument && this._observables.has(o)
    );
    const set = this._batches.get(callback) ?? new Set();
    for (const observable of own) set.add(observable);
    this._batches.set(callback, set);
  }

  removeBatchObservableCallback(
    callback: BatchObservableCallback,
    observables: Observable[]
  ): void {
    const set = this._batches.get(callback);
    if (set === undefined || !Array.isArray(observables)) return;
    for (const observable of observables)
      set.delete(observable as ObservableInstrument);
    if (set.size === 0) this._batches.delete(callback);
  }

  /** Every callback to run at a collection, with the result it observes through. */
  *callbacks(): IterableIterator<
    [
      ObservableCallback | BatchObservableCallback,
      ObservableResult | BatchObservableResult,
    ]
  > {
    for (const observable of this._observables) yield* observable.callbacks();
    for (const [callback, observables] of this._batches) {
      const result: BatchObservableResult = {
        observe: (metric, value, attributes?: Attributes) => {
          if (observables.has(metric as ObservableInstrument))
            (metric as ObservableInstrument).observe(value, attributes);
          else
            this._context.diag.warn(
              'batch_observe',
              `a batch callback observed an instrument it was not registered for; ignored`
            );
        },
      };
      yield [callback, result];
    }
  }

  private _sync(
    name: string,
    type: InstrumentType,
    options: MetricOptions | undefined
  ): SyncInstrument {
    const existing = this._existing(name, type);
    if (existing instanceof SyncInstrument) return existing;
    const instrument = new SyncInstrument(
      nameOf(name),
      this._rule(type, options),
      this._target(name, type, options)
    );
    this._remember(name, type, instrument);
    return instrument;
  }

  private _observable(
    name: string,
    type: InstrumentType,
    options: MetricOptions | undefined
  ): ObservableInstrument {
    const existing = this._existing(name, type);
    if (existing instanceof ObservableInstrument) return existing;
    const instrument = new ObservableInstrument(
      nameOf(name),
      TYPES[type].kind === MetricKind.SUM,
      this._rule(type, options),
      this._target(name, type, options)
    );
    this._remember(name, type, instrument);
    this._observables.add(instrument);
    return instrument;
  }

  /**
   * The instrument made before of this name and type (names are
   * case-insensitive: the first casing wins). Another casing, or the name
   * taken by another type, is reported, as the specification asks.
   */
  private _existing(name: string, type: InstrumentType) {
    const found = this._instruments.get(instrumentKey(name, type));
    const diag = this._context.diag;
    if (found !== undefined) {
      if (typeof name === 'string' && found.name !== name)
        diag.warn(
          `instrument_casing:${found.name}`,
          `instrument names are case-insensitive: '${name}' is '${found.name}', made first`
        );
      return found;
    }
    const others = Object.values(InstrumentType).filter(other =>
      this._instruments.has(instrumentKey(name, other))
    );
    if (others.length > 0 && typeof name === 'string')
      diag.warn(
        `duplicate_instrument:${name.toLowerCase()}`,
        `'${name}' is a ${type} and a ${others.join(', ')}: each is exported as a metric of that name; a View (instrumentName and instrumentType, name) can rename one`
      );
    return undefined;
  }

  private _remember(
    name: string,
    type: InstrumentType,
    instrument: SyncInstrument | ObservableInstrument
  ): void {
    this._instruments.set(instrumentKey(name, type), instrument);
  }

  private _rule(
    type: InstrumentType,
    options: MetricOptions | undefined
  ): ValueRule {
    return {
      nonNegative: TYPES[type].nonNegative,
      integer: readOptions(options).valueType === ValueType.INT,
    };
  }

  /** The streams Views make of an instrument (none for an invalid name, or Drop). */
  private _target(
    name: string,
    type: InstrumentType,
    options: MetricOptions | undefined
  ): InstrumentTarget {
    const context = this._context;
    const store = context.store;
    const target: InstrumentTarget = {
      streams: [],
      stats: store.stats,
      exemplars: context.exemplars,
      diag: context.diag,
      sinceMillis: context.sinceMillis,
      closed: context.closed,
    };
    if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
      context.diag.error(
        'instrument_name',
        `instrument name ${describeValue(name)} is invalid (a letter, then up to 254 letters, digits, '_', '.', '-' or '/'): it records nothing`
      );
      return target;
    }
    const { description, unit, valueType, advice } = readOptions(options);
    const { kind, monotonic } = TYPES[type];
    for (const view of context.views.streamsOf(
      {
        name,
        type,
        unit,
        meterName: this.scope.name,
        meterVersion: this.scope.version ?? '',
        meterSchemaUrl: this.scope.schemaUrl ?? '',
      },
      description
    )) {
      const stream = store.streamFor(
        this.scope,
        {
          name: view.name,
          description: view.description ?? '',
          unit,
          valueType,
        },
        kind,
        monotonic,
        {
          maxSeries: view.maxSeries,
          histogram: view.histogram,
          advice,
          observable: type.startsWith('OBSERVABLE'),
          instrumentType: type,
          held: true,
        }
      );
      if (stream === undefined) {
        store.stats.droppedPoints.add('metric_limit');
        continue;
      }
      target.streams.push({
        stream,
        resolver: new SeriesResolver(
          stream,
          context.attributeReader,
          store.stats,
          view.process
        ),
        filtered:
          view.process && stream.exemplars
            ? new FilteredAttributes(context.attributeReader, view.process)
            : undefined,
      });
    }
    return target;
  }
}

/** Where a meter keeps an instrument: names are case-insensitive; a name may be no string at all. */
function instrumentKey(name: unknown, type: InstrumentType): string {
  return `${type}\u0000${typeof name === 'string' ? name.toLowerCase() : describeValue(name)}`;
}

/** An instrument's name for messages: an invalid one (a Symbol, say) described. */
function nameOf(name: unknown): string {
  return typeof name === 'string' ? name : describeValue(name);
}

/** An instrument's options, read defensively (a bad one is reported and defaulted). */
function readOptions(options: MetricOptions | undefined): {
  description: string;
  unit: string;
  valueType: ValueType;
  advice: { explicitBucketBoundaries?: number[] } | undefined;
} {
  let description = '';
  let unit = '';
  let valueType = ValueType.DOUBLE;
  let advice: { explicitBucketBoundaries?: number[] } | undefined;
  try {
    if (typeof options?.description === 'string')
      description = options.description;
    if (typeof options?.unit === 'string') unit = options.unit;
    if (options?.valueType === ValueType.INT) valueType = ValueType.INT;
    const boundaries = options?.advice?.explicitBucketBoundaries;
    if (
      Array.isArray(boundaries) &&
      boundaries.every(
        (b, i) => Number.isFinite(b) && (i === 0 || b > boundaries[i - 1])
      )
    )
      advice = { explicitBucketBoundaries: [...boundaries] };
  } catch {
    // Options that throw when read: the defaults.
  }
  return { description, unit, valueType, advice };
}
