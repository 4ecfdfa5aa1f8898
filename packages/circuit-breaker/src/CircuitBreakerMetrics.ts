import { ClockFollowingInterval } from './ClockFollowingInterval';
import { createNoopMeter, metrics } from '@opentelemetry/api';
import type { Attributes, MeterProvider } from '@opentelemetry/api';
import {
  AttributeReader,
  EventEmitter,
  OptionReader,
  describeValue,
  RateLimitedDiag,
  SlicedTask,
} from '@datapunk/otel-common';
import type { AttributeReading, Event } from '@datapunk/otel-common';
import { Breaker } from './Breaker';
import type { BreakerRecorder, ClosedBucket, StateProbe } from './Breaker';
import { BreakerInstruments } from './BreakerInstruments';
import { copyOptions, readAttributeOption, resolveOptions } from './options';
import type { ResolvedOptions } from './options';
import { errorText } from './readForeign';
import { BreakerState } from './types';
import type { CallOutcome } from './types';
import { OUTCOMES } from './window/tallies';
import type { EndedAnomaly } from './analyzer/AnomalyStatus';
import type {
  AnomalyEndEvent,
  AnomalyEvent,
  BreakerHealth,
  BucketCloseEvent,
  BreakerSnapshot,
  CircuitBreakerMetricsOptions,
  HealthChangeEvent,
  PatternEvent,
} from './types';
import { VERSION } from './version';

const METER_NAME = '@datapunk/otel-circuit-breaker';
const MAX_NAME_LENGTH = 256;
const REGISTER = 'CircuitBreakerMetrics.register';

/**
 * The `name#n` suffixes given to the duplicates of one name (and attribute
 * set): freed ones are given again first, so a breaker made and disposed
 * per request reuses a few names instead of making new series forever,
 * and finding one is O(1) whatever the number of duplicates.
 */
interface Duplicates {
  /** The next suffix never given out. */
  next: number;
  /** Suffixes given out and freed since. */
  free: number[];
  /** Duplicates alive now; the entry goes when none is. */
  live: number;
}

/**
 * Collects the calls, states and analysis of many circuit breakers and
 * emits them as OpenTelemetry instruments on the meter
 * `@datapunk/otel-circuit-breaker`. One per process or per group.
 *
 * Each breaker keeps a rolling window of buckets (60 × 1 s by default);
 * one shared, unref'd timer closes every breaker's bucket at once, runs its
 * analysis (anomalies, trends, trip patterns, resource baselines, health)
 * and feeds the counters and the duration histogram. A call itself only
 * updates the current bucket: no clock read, no SDK call.
 *
 * Attach breakers with `instrumentOpossum`, `instrumentCockatiel`, the
 * auto-instrumentations, or {@link register} for any other breaker.
 */
export class CircuitBreakerMetrics {
  private readonly _options: ResolvedOptions;
  private readonly _diag = new RateLimitedDiag('CircuitBreakerMetrics');
  private readonly _breakers = new Map<string, Breaker>();
  private readonly _duplicates = new Map<string, Duplicates>();
  /** Each breaker's key in _breakers; of a duplicate, also the key it duplicates and its suffix. */
  private readonly _keys = new WeakMap<
    Breaker,
    { key: string; duplicateOf: string; suffix: number }
  >();
  private readonly _attributeReader: AttributeReader;
  private readonly _anomaly = new EventEmitter<AnomalyEvent>(
    'onAnomaly',
    this._diag
  );
  private readonly _anomalyEnd = new EventEmitter<AnomalyEndEvent>(
    'onAnomalyEnd',
    this._diag
  );
  private readonly _healthChange = new EventEmitter<HealthChangeEvent>(
    'onHealthChange',
    this._diag
  );
  private readonly _pattern = new EventEmitter<PatternEvent>(
    'onPattern',
    this._diag
  );
  private readonly _bucketClose = new EventEmitter<BucketCloseEvent>(
    'onBucketClose',
    this._diag
  );
  private _instruments: BreakerInstruments;
  /** The provider the instruments are on; followed while it is the global one. */
  private _provider: MeterProvider;
  private _followsGlobal: boolean;
  private _warnedNoProvider = false;
  /** Closes every breaker's bucket each bucketMillis while any is attached. */
  private readonly _ticker: ClockFollowingInterval;
  /** The bucket closes of the last tick, while they run. */
  private _closing: SlicedTask<void> | undefined;
  private _rejectedInputs = 0;
  private _truncatedAttributes = 0;
  private _disposed = false;

  /** An anomaly episode started: latency, error rate, an SLO breach or a resource over its baseline. */
  readonly onAnomaly: Event<AnomalyEvent> = this._anomaly.event;
  /** An anomaly episode ended: back within bounds, or its level accepted as the new normal. */
  readonly onAnomalyEnd: Event<AnomalyEndEvent> = this._anomalyEnd.event;
  /** A breaker's health status changed. */
  readonly onHealthChange: Event<HealthChangeEvent> = this._healthChange.event;
  /** Periodic tripping or flapping started or ended. */
  readonly onPattern: Event<PatternEvent> = this._pattern.event;
  /**
   * A breaker's bucket closed (every bucketMillis while it is attached),
   * with its call counts: for live views such as the dashboard.
   */
  readonly onBucketClose: Event<BucketCloseEvent> = this._bucketClose.event;

  /** @throws {TypeError|RangeError} naming the option and the rule, for invalid options. */
  constructor(options: CircuitBreakerMetricsOptions = {}) {
    this._options = resolveOptions(options);
    this._attributeReader = new AttributeReader(this._options.attributeBounds);
    this._followsGlobal = this._options.meterProvider === undefined;
    this._provider = this._options.meterProvider ?? metrics.getMeterProvider();
    this._instruments = this._createInstruments(this._provider);
    this._ticker = new ClockFollowingInterval(
      () => this._closeBuckets(),
      this._options.bucketMillis
    );
  }

  /** Names of the breakers reported now. */
  get breakers(): string[] {
    return [...this._breakers.values()].map(b => b.name);
  }

  /**
   * Inputs dropped so far: unknown outcomes or states, bad latencies or
   * resources, reports after dispose, values from a breaker library that
   * could not be read (a throwing getter or Proxy), lookups by attributes
   * that are no attribute set.
   */
  get rejectedInputs(): number {
    return this._rejectedInputs;
  }

  /**
   * Attribute values cut to `limits.maxAttributeValueLength`, and
   * attributes dropped past `limits.maxAttributesPerSeries` or
   * `limits.maxAttributeBytesPerSeries`, so far.
   */
  get truncatedAttributes(): number {
    return this._truncatedAttributes;
  }

  /**
   * Starts reporting a breaker by hand, for any library: returns the
   * recorder its events go to. A name already taken (with the same
   * attributes) gets a suffix, `name#2`, so breakers never share data; the
   * suffix of a disposed duplicate is given again.
   * @throws {TypeError|RangeError} for an empty or too long name, attributes
   *   that are not OpenTelemetry attribute values, or an unknown option.
   */
  register(
    name: string,
    options: { attributes?: Attributes } = {}
  ): BreakerRecorder {
    checkName(name);
    const reader = new OptionReader(
      REGISTER,
      copyOptions(REGISTER, options ?? undefined),
      ['attributes']
    );
    return this._attach(
      name,
      this._readAttributes(reader),
      BreakerState.CLOSED
    );
  }

  /**
   * The `attributes` option of `reader`, checked, read and bounded by this
   * collector's limits (also for the adapters, through adapters/attach.ts).
   * @throws {TypeError} naming the entry at fault.
   */
  private _readAttributes(reader: OptionReader): Attributes {
    return this._count(
      readAttributeOption(reader, 'attributes', this._attributeReader)
    ).attributes;
  }

  /**
   * As {@link register}, for the adapters (through adapters/attach.ts, not
   * part of the API): with attributes read already (_readAttributes), the
   * breaker's current state and a probe the window reconciles the state
   * with at every bucket close.
   */
  private _attach(
    name: string,
    attributes: Attributes,
    state: BreakerState,
    probe?: StateProbe
  ): Breaker {
    const text = checkName(name);
    if (this._disposed)
      throw new Error('CircuitBreakerMetrics: register() after dispose()');
    const merged = this._count(this._merged(attributes)!);
    const { unique, suffix } = this._uniqueName(text, merged.key);
    const breaker = new Breaker(
      unique,
      Object.freeze(merged.attributes),
      this._options,
      state,
      {
        reject: (reason, detail) => this._rejectInput(reason, detail),
        onStateChange: (b, to) => this._instruments.transition(b, to),
        onDispose: b => this._forget(b),
        probe,
      }
    );
    const key = keyOf(unique, merged.key);
    this._keys.set(breaker, {
      key,
      duplicateOf: keyOf(text, merged.key),
      suffix,
    });
    this._breakers.set(key, breaker);
    this._ticker.start();
    return breaker;
  }

  /** The health of a breaker as of its last bucket close; undefined if unknown. */
  getHealth(name: string, attributes?: Attributes): BreakerHealth | undefined {
    return this._find(name, attributes)?.health;
  }

  /** A breaker's window, state and analysis; undefined if unknown. */
  getSnapshot(
    name: string,
    attributes?: Attributes
  ): BreakerSnapshot | undefined {
    return this._find(name, attributes)?.snapshot(Date.now());
  }

  /**
   * Someone decided that a breaker's current levels are normal: every
   * anomaly episode under way ends as accepted (an onAnomalyEnd event with
   * reason 'accepted'), and its baseline starts over from the new level.
   * Returns how many ended; 0 for an unknown breaker.
   */
  acceptNewNormal(name: string, attributes?: Attributes): number {
    const breaker = this._find(name, attributes);
    if (breaker === undefined) return 0;
    const now = Date.now();
    const ended = breaker.acceptNewNormal(now);
    this._emitEnded(breaker, ended, now);
    return ended.length;
  }

  /**
   * Sends the instruments to another MeterProvider from now on (and stops
   * following the global one).
   */
  setMeterProvider(meterProvider: MeterProvider): void {
    this._followsGlobal = false;
    this._useProvider(meterProvider);
  }

  /** Stops the timer and detaches every breaker. Idempotent. */
  dispose(): void {
    if (this._disposed) return;
    this._disposed = true;
    for (const breaker of [...this._breakers.values()]) breaker.dispose();
    this._ticker.stop();
    this._instruments.dispose();
  }

  private _useProvider(meterProvider: MeterProvider): void {
    this._instruments.dispose();
    this._provider = meterProvider;
    this._instruments = this._createInstruments(meterProvider);
  }

  /**
   * The OTel API has no proxy for the global MeterProvider: instruments
   * made before one is registered stay no-ops. So a collector on the global
   * provider checks it at every tick, moves to a new one, and says once
   * while there is none that its metrics go nowhere.
   */
  private _followGlobalProvider(): void {
    const global = metrics.getMeterProvider();
    if (global !== this._provider) this._useProvider(global);
    else if (!this._warnedNoProvider && isNoop(global)) {
      this._warnedNoProvider = true;
      this._diag.warn(
        'no_provider',
        'no global MeterProvider is registered: breaker metrics go nowhere until one is (e.g. by setupMetrics()); they follow it from then on'
      );
    }
  }

  private _createInstruments(meterProvider: MeterProvider): BreakerInstruments {
    return new BreakerInstruments(
      meterProvider.getMeter(METER_NAME, VERSION),
      this._options,
      () => this._breakers.values()
    );
  }

  /** A breaker's set: this collector's attributes and its own (read already), bounded together. */
  private _merged(own: Attributes): AttributeReading | undefined {
    return this._attributeReader.read({ ...this._options.attributes, ...own });
  }

  private _count(reading: AttributeReading): AttributeReading {
    const cut = reading.truncated + reading.dropped;
    if (cut > 0) {
      this._truncatedAttributes += cut;
      this._diag.warn(
        'attribute_limits',
        `${cut} breaker attributes cut or dropped at the collector's limits (${JSON.stringify(this._options.attributeBounds)})`
      );
    }
    return reading;
  }

  /** `name`, or `name#n` if taken: the n a disposed duplicate freed last, else the next. */
  private _uniqueName(
    name: string,
    attributesKey: string
  ): { unique: string; suffix: number } {
    const key = keyOf(name, attributesKey);
    if (!this._breakers.has(key)) return { unique: name, suffix: 0 };
    let duplicates = this._duplicates.get(key);
    if (duplicates === undefined) {
      duplicates = { next: 2, free: [], live: 0 };
      this._duplicates.set(key, duplicates);
    }
    let suffix: number;
    // A suffix is skipped (for good) only if someone registered `name#n` by hand.
    do suffix = duplicates.free.pop() ?? duplicates.next++;
    while (this._breakers.has(keyOf(`${name}#${suffix}`, attributesKey)));
    duplicates.live++;
    this._diag.warn(
      'duplicate',
      `another breaker is already named '${name}': reporting this one as '${name}#${suffix}'`
    );
    return { unique: `${name}#${suffix}`, suffix };
  }

  private _find(name: unknown, attributes?: unknown): Breaker | undefined {
    if (typeof name !== 'string') return undefined;
    if (attributes !== undefined) {
      const own = this._attributeReader.read(attributes);
      const merged =
        own !== undefined && own.invalid === 0
          ? this._merged(own.attributes)
          : undefined;
      if (merged === undefined) {
        this._rejectInput(
          'invalid_attributes',
          `a breaker looked up by ${describeValue(attributes)}, which is no set of attribute values`
        );
        return undefined;
      }
      return this._breakers.get(keyOf(name, merged.key));
    }
    for (const breaker of this._breakers.values())
      if (breaker.name === name) return breaker;
    return undefined;
  }

  private _forget(breaker: Breaker): void {
    this._instruments.flush(breaker, breaker.closeLastBucket());
    const { key, duplicateOf, suffix } = this._keys.get(breaker)!;
    this._breakers.delete(key);
    const duplicates =
      suffix > 0 ? this._duplicates.get(duplicateOf) : undefined;
    if (duplicates !== undefined) {
      if (--duplicates.live === 0) this._duplicates.delete(duplicateOf);
      else duplicates.free.push(suffix);
    }
    if (this._breakers.size === 0) this._ticker.stop();
  }

  private _rejectInput(reason: string, detail: string): void {
    this._rejectedInputs++;
    this._diag.warn(reason, `dropped: ${detail}`);
  }

  /**
   * The shared tick: every breaker's bucket closes at the same time, a few
   * ms of breakers at a time (a large fleet never blocks the loop for long;
   * a few dozen close at once, within the tick). Closes the last tick left
   * unfinished are finished first: under fake timers ticked in a loop, with
   * no turn of the event loop between ticks, nothing is skipped.
   */
  private _closeBuckets(): void {
    this._closing?.finish();
    if (this._followsGlobal) this._followGlobalProvider();
    const now = Date.now();
    const breakers = [...this._breakers.values()];
    const closeAll = function* (this: CircuitBreakerMetrics) {
      for (const breaker of breakers) {
        if (!breaker.disposed) this._closeBucket(breaker, now);
        yield;
      }
    };
    this._closing = new SlicedTask(closeAll.call(this));
    this._closing
      .run()
      .catch(error =>
        this._diag.error('tick', `closing buckets failed: ${errorText(error)}`)
      );
  }

  private _closeBucket(breaker: Breaker, now: number): void {
    try {
      const closed = breaker.closeBucket(now);
      this._instruments.flush(breaker, closed);
      this._emit(breaker, closed, now);
    } catch (error) {
      this._diag.error(
        'tick',
        `closing the bucket of '${breaker.name}' failed: ${errorText(error)}`
      );
    }
  }

  private _emit(breaker: Breaker, closed: ClosedBucket, now: number): void {
    const { name, attributes } = breaker;
    if (this._bucketClose.size > 0) {
      const calls = {} as Record<CallOutcome, number>;
      OUTCOMES.forEach((outcome, i) => (calls[outcome] = closed.outcomes[i]));
      this._bucketClose.emit({
        breaker: name,
        attributes,
        calls,
        bucketMillis: this._options.bucketMillis,
        timestampMillis: now,
      });
    }
    for (const started of closed.changes.started) {
      this._anomaly.emit({
        breaker: name,
        attributes,
        kind: started.kind,
        resource: started.resource,
        direction: started.direction,
        score: started.score,
        value: started.value,
        baseline: { mean: started.mean, stddev: started.stddev },
        startMillis: started.episode?.startMillis ?? now,
        timestampMillis: now,
      });
    }
    this._emitEnded(breaker, closed.changes.ended, now);
    for (const { pattern, active } of closed.changes.patterns) {
      this._pattern.emit({
        breaker: name,
        attributes,
        pattern,
        active,
        trips: breaker.analysis.trips,
        timestampMillis: now,
      });
    }
    const health = closed.changes.health;
    if (health) {
      this._healthChange.emit({
        breaker: name,
        attributes,
        previous: health.previous,
        current: health.current.status,
        reasons: health.current.reasons,
        timestampMillis: now,
      });
    }
  }

  private _emitEnded(
    breaker: Breaker,
    ended: readonly EndedAnomaly[],
    now: number
  ): void {
    for (const { kind, resource, episode } of ended) {
      this._anomalyEnd.emit({
        breaker: breaker.name,
        attributes: breaker.attributes,
        kind,
        resource,
        direction: episode.direction,
        reason: episode.endReason,
        startMillis: episode.startMillis,
        endMillis: episode.endMillis,
        durationMillis: episode.endMillis - episode.startMillis,
        peakScore: episode.peakScore,
        timestampMillis: now,
      });
    }
  }
}

const NOOP_METER = createNoopMeter().constructor;

/** Whether a provider is the API's no-op one, which it returns while none is registered. */
function isNoop(provider: MeterProvider): boolean {
  return provider.getMeter(METER_NAME).constructor === NOOP_METER;
}

/** @throws {TypeError|RangeError} unless `name` is a string of 1 to 256 characters. */
function checkName(name: unknown): string {
  const reader = new OptionReader(REGISTER, { name }, ['name']);
  const text = reader.string('name');
  if (text.length > MAX_NAME_LENGTH)
    reader.fail(
      'name',
      `must be at most ${MAX_NAME_LENGTH} characters long`,
      text
    );
  return text;
}

/** The key of a breaker: its name and the key of its attribute set, unambiguous. */
function keyOf(name: string, attributesKey: string): string {
  return `${name.length}:${name}${attributesKey}`;
}
